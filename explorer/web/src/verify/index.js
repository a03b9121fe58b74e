// Public API of the Shanlian verifier (docs/SPEC.md), for the explorer page and for Node.
//
//   bytes   hex, concatenation, equality, LE32/LE64
//   codec   strict canonical bincode decode/encode of every §2 structure
//   crypto  BLAKE3, signing messages, ids and hashes, strict Ed25519 (dalek verify_strict)
//   merkle  RFC 9162 inclusion / consistency proofs (§6), generic over the hash
//   genesis genesis TOML value → Genesis, libp2p peer ids ↔ node keys
//   fields  §8.1 Record::from_bytes: size, strict decoding, stateless field checks
//   certificate  §7.2 commit certificates, §7.4 checkpoints and witnesses
//   bundle  §13 receipt bundles: bytes, JSON form, verification

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
  writeSetHash,
  stateHash,
  decompressPoint,
  verifyStrict,
  verifyStrictDetailed,
  isTorsionFreeKey,
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
} from './bundle.js';
