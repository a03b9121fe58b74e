// Commit certificates (docs/SPEC.md §7.2) and checkpoints (§7.4).
//
// Every signature is checked one by one with the ZIP-215 rule of §4 (verifySignatureDetailed); no
// batch equation (the ledger may batch; under ZIP-215 that gives the same verdicts). Powers are summed as BigInt, so `3·P > 2·T` is exact for any u64 powers.

import { compareBytes, equalBytes, toHex } from './bytes.js';
import { encode } from './codec.js';
import { headerHash, signingMessage, verifySignature, verifySignatureDetailed } from './crypto.js';

/**
 * A refused certificate. `code` is one of (§13.3 C4, in §7.2's order):
 *   'certificate.wrong_height'       C.height ≠ h
 *   'certificate.wrong_header'       C.header_hash ≠ X
 *   'certificate.unknown_validator'  an entry's validator is not in V
 *   'certificate.duplicate_signer'   an entry's validator appeared earlier in C
 *   'certificate.invalid_key'        the validator's public key in V is not a point (§4 step 1)
 *   'certificate.bad_signature'      an entry's signature is not valid (§4, ZIP-215)
 *   'certificate.no_quorum'          3·P ≤ 2·T
 * `index` is the offending entry of C.signatures (null for the height, header and quorum checks).
 *
 * §7.2 does not define `invalid_key`, and §13.3 C4 lists it after `bad_signature`. What is done
 * here is what the Rust verifier does (ledger/core/src/block.rs `CommitCertificate::verify`): per
 * entry, unknown → duplicate → the validator's key must decode as a point (`Verifier::parse`,
 * ed25519-zebra `VerificationKey::try_from`; a small-order or non-canonical key that decodes is
 * NOT invalid_key, and the ZIP-215 rule itself accepts such keys) → the signature. A set followed
 * from genesis by records the chain accepted holds only member keys (§4), so none of these arise.
 */
export class CertificateError extends Error {
  constructor(code, message, index = null) {
    super(`${code}: ${message}`);
    this.name = 'CertificateError';
    this.code = code;
    this.index = index;
  }
}

/**
 * Normalises a validator set (ValidatorSet value or array of { address, public_key, power }):
 * zero power left out, sorted by address, duplicates refused (a programming error, not a
 * certificate refusal).
 */
function normaliseSet(set) {
  const list = (Array.isArray(set) ? set : set.validators)
    .filter((v) => BigInt(v.power) !== 0n)
    .slice()
    .sort((a, b) => compareBytes(a.address, b.address));
  for (let i = 1; i < list.length; i++)
    if (compareBytes(list[i - 1].address, list[i].address) === 0)
      throw new RangeError('validator set has a duplicate address');
  return list;
}

/**
 * §7.2: `cert` is valid for header hash `header` at height `height` against validator set `set`
 * (of that height). Throws CertificateError; returns { power, total } on success.
 */
export function verifyCertificate(cert, header, height, set, genesisHash) {
  const h = BigInt(height);
  // 1. height, then header hash.
  if (BigInt(cert.height) !== h)
    throw new CertificateError('certificate.wrong_height', `certificate for height ${cert.height}, want ${h}`);
  if (!equalBytes(cert.header_hash, header))
    throw new CertificateError('certificate.wrong_header', 'certificate is for another header hash');
  const validators = normaliseSet(set);
  const byAddress = new Map(validators.map((v) => [toHex(v.address), v]));
  let total = 0n;
  for (const v of validators) total += BigInt(v.power);
  // 2. each entry, in order: known, not repeated, a valid signature.
  const seen = new Set();
  let power = 0n;
  cert.signatures.forEach((entry, i) => {
    const addr = toHex(entry.validator);
    const v = byAddress.get(addr);
    if (v === undefined)
      throw new CertificateError('certificate.unknown_validator', `signer ${addr} is not a validator of height ${h}`, i);
    if (seen.has(addr))
      throw new CertificateError('certificate.duplicate_signer', `signer ${addr} appears twice`, i);
    seen.add(addr);
    const vote = {
      kind: { kind: 'Precommit' },
      height: h,
      round: cert.round,
      value: cert.header_hash,
      validator: entry.validator,
    };
    const message = signingMessage('vote', genesisHash, encode('VoteBody', vote));
    const result = verifySignatureDetailed(v.public_key, message, entry.signature);
    if (!result.ok) {
      if (result.reason === 'public_key_not_a_point')
        throw new CertificateError('certificate.invalid_key', `validator ${addr}'s key is not a point`, i);
      throw new CertificateError('certificate.bad_signature', `precommit of ${addr}: ${result.reason}`, i);
    }
    power += BigInt(v.power);
  });
  // 3. quorum: 3·P > 2·T.
  if (!(3n * power > 2n * total))
    throw new CertificateError('certificate.no_quorum', `signers hold ${power} of ${total}: not more than two thirds`);
  return { power, total };
}

/** The witness signing message of a checkpoint (§7.4). */
export function witnessMessage(checkpoint, genesisHash) {
  return signingMessage('witness', genesisHash, encode('Checkpoint', checkpoint));
}

/** Index of the first witness signature of a SignedCheckpoint that is not valid (§4), or -1. */
export function firstBadWitness(signed, genesisHash) {
  const message = witnessMessage(signed.checkpoint, genesisHash);
  return signed.witnesses.findIndex((w) => !verifySignature(w.witness, message, w.signature));
}

/** Whether `signed.checkpoint` equals Checkpoint::of(signed.header) (§7.4 rule 1), as bytes. */
export function checkpointMatchesHeader(signed) {
  const of = {
    log_size: signed.header.log_size,
    log_root: signed.header.log_root,
    header_hash: headerHash(signed.header),
    height: signed.header.height,
  };
  return equalBytes(encode('Checkpoint', of), encode('Checkpoint', signed.checkpoint));
}
