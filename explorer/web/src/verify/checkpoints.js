// Checkpoint proofs: the answer of the explorer's `GET /api/v1/checkpoints/proof?from=H&to=H2`,
// which a light client uses to move from a checkpoint it remembers to the server's newest one
// (the transparency-log check of docs/SPEC.md §13.3 "What a bundle cannot prove": remember the
// newest checkpoint seen and demand consistency with it).
//
//   { validators: [ValidatorStep…], old: SignedCheckpoint, new: SignedCheckpoint,
//     consistency: ConsistencyProof | null }
//
// in the JSON form of §13.2 (no `format` field). Verification reuses the receipt-bundle steps of
// §13.3 (bundle.js `bundleSteps`), so refusals carry the §13.4 codes:
//
//   1. each validator step, as §13.3 V, at heights [1, new.height)     (`validators[i]…`)
//   2. C on `old`, then C on `new`                                      (`old`, `new`)
//   3. 1 ≤ old.height ≤ new.height — bundle.order                       (`new`)
//   4. the consistency proof from old.log_size to new.log_size — bundle.consistency
//      (`consistency`); it may be absent only if old.log_size is 0 or equals new.log_size, and
//      equal sizes need equal roots
//
// What it proves: both checkpoints were certified by the validator sets the genesis and the
// governance records give their heights, and the log of `new` extends the log of `old`. The
// client's own step, comparing `old` with the checkpoint it remembered at that height, is
// `sameCheckpoint`: two certified checkpoints of one height that differ are a fork.

import { equalBytes, toHex } from './bytes.js';
import { SCHEMA } from './schema.js';
import { fromJsonFields, isPlainObject, JsonFormError, parseJsonText, toJson } from './jsonform.js';
import { BundleError, bundleSteps } from './bundle.js';
import { ledgerMerkle, ProofError } from './merkle.js';

/** The fields of a checkpoint proof, in the shapes of schema.js. */
const FIELDS = Object.freeze([
  ['validators', { vec: 'ValidatorStep' }],
  ['old', 'SignedCheckpoint'],
  ['new', 'SignedCheckpoint'],
  ['consistency', { option: 'ConsistencyProof' }],
]);

const malformed = (detail) => new BundleError('bundle.malformed', 'proof', detail);

/**
 * The JSON form (a parsed object or the JSON text) as a checkpoint-proof value, strictly (unknown
 * or missing fields, bad hex, unsafe integers: bundle.malformed at `proof`). A left-out
 * `consistency` reads as null, like any Option of §13.2.
 */
export function parseCheckpointProofJson(obj) {
  try {
    if (typeof obj === 'string') obj = parseJsonText(obj);
    if (!isPlainObject(obj)) throw malformed('expected a JSON object');
    return fromJsonFields(FIELDS, obj, '');
  } catch (err) {
    if (err instanceof JsonFormError) throw malformed(err.message);
    throw err;
  }
}

/** A checkpoint-proof value in its JSON form (an object for JSON.stringify). */
export function checkpointProofToJson(proof) {
  return Object.fromEntries(FIELDS.map(([f, t]) => [f, toJson(t, proof[f])]));
}

/**
 * Verifies a checkpoint proof (JSON object or text, or a value from parseCheckpointProofJson)
 * against `genesis`. Throws BundleError { code, at }. Returns
 *   { old, new, oldSigned, newSigned }
 * with `old` / `new` the verified Checkpoints ({ log_size, log_root, header_hash, height }) and
 * the SignedCheckpoints they came from.
 */
export function verifyCheckpointProof(genesis, input) {
  // A value from parseCheckpointProofJson has its hashes as bytes; anything else is the JSON form.
  const isValue = isPlainObject(input) && input.old?.checkpoint?.log_root instanceof Uint8Array;
  const proof = isValue ? input : parseCheckpointProofJson(input);
  const steps = bundleSteps(genesis);
  const newHeight = BigInt(proof.new.header.height);
  const oldHeight = BigInt(proof.old.header.height);

  // 1. the validator steps, from genesis up to (not including) the new checkpoint's height
  proof.validators.forEach((V, i) => steps.validatorStep(V, `validators[${i}]`, 1n, newHeight));

  // 2. both signed checkpoints, against the sets followed from genesis
  steps.checkpoint(proof.old, 'old');
  steps.checkpoint(proof.new, 'new');

  // 3. heights
  if (!(1n <= oldHeight && oldHeight <= newHeight))
    throw new BundleError('bundle.order', 'new', `need 1 ≤ old height ${oldHeight} ≤ new height ${newHeight}`);

  // 4. the new log extends the old one
  const oldCp = proof.old.checkpoint;
  const newCp = proof.new.checkpoint;
  const oldSize = BigInt(oldCp.log_size);
  const newSize = BigInt(newCp.log_size);
  const c = proof.consistency;
  if (c === null) {
    if (oldSize !== 0n && oldSize !== newSize)
      throw new BundleError('bundle.consistency', 'consistency', `no consistency proof from log size ${oldSize} to ${newSize}`);
    if (oldSize === newSize && !equalBytes(oldCp.log_root, newCp.log_root))
      throw new BundleError('bundle.consistency', 'consistency', `two log roots for log size ${oldSize}`);
  } else {
    if (BigInt(c.old_size) !== oldSize || BigInt(c.new_size) !== newSize)
      throw new BundleError(
        'bundle.consistency',
        'consistency',
        `proof from ${c.old_size} to ${c.new_size}, checkpoints have ${oldSize} and ${newSize}`,
      );
    try {
      ledgerMerkle.verifyConsistency(c.old_size, c.new_size, oldCp.log_root, newCp.log_root, c.path);
    } catch (err) {
      if (err instanceof ProofError) throw new BundleError('bundle.consistency', 'consistency', err.message);
      throw err;
    }
  }
  return { old: oldCp, new: newCp, oldSigned: proof.old, newSigned: proof.new };
}

/** verifyCheckpointProof without throwing: { ok: true, value } or { ok: false, error }. */
export function checkCheckpointProof(genesis, proof) {
  try {
    return { ok: true, value: verifyCheckpointProof(genesis, proof) };
  } catch (err) {
    if (err instanceof BundleError) return { ok: false, error: err };
    throw err;
  }
}

/**
 * A Checkpoint as plain JSON for storage: { height, log_size, log_root, header_hash } with hex
 * hashes and Number heights (all real heights and sizes are below 2^53).
 */
export function checkpointToPlain(cp) {
  return {
    height: Number(cp.height),
    log_size: Number(cp.log_size),
    log_root: toHex(cp.log_root),
    header_hash: toHex(cp.header_hash),
  };
}

/**
 * Whether a verified Checkpoint (codec value) is the remembered one (plain, as checkpointToPlain
 * stores it): same height, log size, log root and header hash. Hex is compared in lower case.
 */
export function sameCheckpoint(cp, remembered) {
  const a = checkpointToPlain(cp);
  return (
    a.height === Number(remembered.height) &&
    a.log_size === Number(remembered.log_size) &&
    a.log_root === String(remembered.log_root).toLowerCase() &&
    a.header_hash === String(remembered.header_hash).toLowerCase()
  );
}
