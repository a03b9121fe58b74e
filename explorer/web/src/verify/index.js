// Public API of the Shanlian verifier (docs/SPEC.md), for the explorer page and for Node.
//
//   bytes   hex, concatenation, equality, LE32/LE64
//   codec   strict canonical bincode decode/encode of every §2 structure
//   crypto  BLAKE3, signing messages, ids and hashes, state hash and write-set proofs (§9.3),
//           Ed25519 signatures (ZIP-215, as ed25519-zebra) and the member-key rule
//   merkle  RFC 9162 inclusion / consistency proofs (§6), generic over the hash
//   genesis genesis TOML value → Genesis, libp2p peer ids ↔ node keys
//   fields  §8.1 Record::from_bytes: size, strict decoding, stateless field checks
//   certificate  §7.2 commit certificates, §7.4 checkpoints and witnesses
//   jsonform the JSON form of bundles and trace proofs (§13.2, §10.6)
//   bundle  §13 receipt bundles: bytes, JSON form, verification
//   rows    §9.1 trace-row keys and values
//   lottery §11 lottery split
//   trace   §10.6–§10.8 trace proofs: bytes, JSON form, verification (§10.4 walk)
//   checkpoints  the explorer's checkpoint proofs (old → new checkpoint, §13.3 steps), fork check

export {
  toHex,
  fromHex,
  concat,
  equalBytes,
  compareBytes,
  le32,
  le64,
  be64,
  bytesToBigIntLE,
  bigIntToBytesLE,
  utf8,
} from './bytes.js';

export { SCHEMA, TYPE_NAMES } from './schema.js';
export { DecodeError, EncodeError, decode, encode, decoders, encoders, minSize } from './codec.js';

export {
  blake3,
  DOMAINS,
  signingMessage,
  rotateKeyBody,
  recordId,
  addressOf,
  genesisHash,
  headerHash,
  validatorSetHash,
  checkpointOf,
  commitment,
  writeSetLeaf,
  writeSetRoot,
  stateHashOfRoot,
  stateHash,
  verifyWriteSetProof,
  decompressPoint,
  verifySignature,
  verifySignatureDetailed,
  isMemberKey,
  memberKeyProblem,
  verifyDomain,
  verifyRecordSignature,
  ED25519,
} from './crypto.js';

export { ProofError, rfc6962Hasher, blake3Hasher, makeMerkle, ledgerMerkle } from './merkle.js';

export {
  base58Decode,
  base58Encode,
  peerIdToNodeKey,
  nodeKeyToPeerId,
  DEFAULT_PARAMS,
  genesisFromToml,
} from './genesis.js';

export { RecordError, checkFields, recordFromBytes } from './fields.js';

export {
  CertificateError,
  verifyCertificate,
  witnessMessage,
  firstBadWitness,
  checkpointMatchesHeader,
} from './certificate.js';

export {
  BUNDLE_FORMAT,
  GOVERNANCE_KINDS,
  BundleError,
  Tracker,
  decodeBundle,
  encodeBundle,
  parseBundleJson,
  bundleToJson,
  verifyBundle,
  checkBundle,
  bundleSteps,
} from './bundle.js';

export { JsonFormError, fromJson, toJson, parseJsonText } from './jsonform.js';

export {
  TRACE_FAMILIES,
  INFLOW,
  OUTFLOW,
  HOLE,
  traceRowKey,
  parseTraceRowKey,
  decodeTraceRow,
  fundId,
  sameFund,
} from './rows.js';

export { lotterySplit } from './lottery.js';
export {
  drawBeacon,
  drawEntryCommitment,
  drawEntryIncluded,
  drawEntryRoot,
  drawSeedCommitment,
  drawWinners,
  recomputeDraw,
} from './draw.js';

export {
  TRACE_FORMAT,
  MAX_TRACE_DEPTH,
  TraceError,
  decodeTraceProof,
  encodeTraceProof,
  parseTraceProofJson,
  traceProofToJson,
  fundToJson,
  fundLabel,
  verifyTrace,
  checkTrace,
  traceResultToJson,
  followRows,
  sourcesOfRows,
} from './trace.js';

export {
  parseCheckpointProofJson,
  checkpointProofToJson,
  verifyCheckpointProof,
  checkCheckpointProof,
  checkpointToPlain,
  sameCheckpoint,
} from './checkpoints.js';
