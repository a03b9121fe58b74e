// Receipt bundles: docs/SPEC.md §13 — the canonical bytes (§13.1), the JSON form (§13.2) and the
// verification (§13.3) with its codes (§13.4).
//
//   parseBundleJson(obj)          JSON form (already JSON.parse'd) → bundle value
//   bundleToJson(bundle)          bundle value → JSON form (plain object)
//   decodeBundle(bytes)           canonical bytes → bundle value
//   encodeBundle(bundle)          bundle value → canonical bytes
//   verifyBundle(genesis, b)      §13.3; throws BundleError { code, at } or returns what was proved
//   checkBundle(genesis, b)       the same as { ok: true, value } | { ok: false, error }
//   bundleSteps(genesis)          the steps C, B, R, V of §13.3 with their tracker (for trace.js)
//
// A bundle value has the codec's shapes (schema.js): u64 as BigInt, u32 as Number, byte strings
// as Uint8Array, Option as null or the value. decodeBundle and parseBundleJson give equal values.

import { compareBytes, equalBytes, toHex } from './bytes.js';
import { decode, encode, DecodeError, EncodeError } from './codec.js';
import { SCHEMA } from './schema.js';
import { fromJsonFields, isPlainObject, JsonFormError, parseJsonText, toJson } from './jsonform.js';
import { addressOf, blake3, genesisHash as genesisHashOf, headerHash, validatorSetHash, verifyRecordSignature } from './crypto.js';
import { ledgerMerkle, ProofError } from './merkle.js';
import { recordFromBytes, RecordError } from './fields.js';
import { CertificateError, checkpointMatchesHeader, firstBadWitness, verifyCertificate } from './certificate.js';

export const BUNDLE_FORMAT = 'shanlian-receipt-bundle/1';

/** The four governance payload kinds (§13.1). */
export const GOVERNANCE_KINDS = Object.freeze(['AdmitMember', 'UpdateMember', 'RotateKey', 'SetValidator']);

/**
 * A refused bundle: `code` is a §13.4 code ('bundle.*' or 'certificate.*'), `at` the step path of
 * §13.3 ('bundle', 'block', 'record', 'validators[1].block', 'extensions[0].consistency', …),
 * `detail` a human-readable reason (not part of the contract).
 */
export class BundleError extends Error {
  constructor(code, at, detail = '') {
    super(`${code} at ${at}${detail ? `: ${detail}` : ''}`);
    this.name = 'BundleError';
    this.code = code;
    this.at = at;
    this.detail = detail;
  }
}

const malformed = (detail) => new BundleError('bundle.malformed', 'bundle', detail);

// =============================================================================================
// §13.1 canonical bytes

/** Strict canonical decoding of encode(ReceiptBundle); any refusal is bundle.malformed at bundle. */
export function decodeBundle(bytes) {
  if (!(bytes instanceof Uint8Array)) throw malformed('expected the bundle bytes as a Uint8Array');
  try {
    return decode('ReceiptBundle', bytes);
  } catch (err) {
    if (err instanceof DecodeError) throw malformed(err.message);
    throw err;
  }
}

/** encode(ReceiptBundle) (§13.1). Throws EncodeError for a value of the wrong shape. */
export function encodeBundle(bundle) {
  return encode('ReceiptBundle', bundle);
}

// =============================================================================================
// §13.2 JSON form (jsonform.js; any refusal is bundle.malformed at bundle)

/** Runs `fn`, turning a JsonFormError into bundle.malformed at `bundle`. */
function jsonOrMalformed(fn) {
  try {
    return fn();
  } catch (err) {
    if (err instanceof JsonFormError) throw malformed(err.message);
    throw err;
  }
}

/**
 * The JSON form of §13.2 (a parsed JSON object, or the JSON text) as a bundle value. Strict:
 * `format` must be "shanlian-receipt-bundle/1"; unknown fields and missing fields are refused (a
 * missing Option field reads as None, see jsonform.js fromJsonFields); byte strings must be hex of
 * the right length; integers must be non-negative safe integers (below 2^53), u32 fields within
 * u32. Any refusal is BundleError bundle.malformed at `bundle`.
 */
export function parseBundleJson(obj) {
  return jsonOrMalformed(() => {
    if (typeof obj === 'string') obj = parseJsonText(obj);
    if (!isPlainObject(obj)) throw malformed('expected a JSON object');
    if (obj.format !== BUNDLE_FORMAT) throw malformed(`format must be ${JSON.stringify(BUNDLE_FORMAT)}`);
    return fromJsonFields(SCHEMA.ReceiptBundle.struct, obj, '', ['format']);
  });
}

/** A bundle value in the JSON form of §13.2 (an object for JSON.stringify). */
export function bundleToJson(bundle) {
  return { format: BUNDLE_FORMAT, ...toJson('ReceiptBundle', bundle) };
}

// =============================================================================================
// §13.3 the tracker

const hexKey = (b) => toHex(b);

/**
 * Members and validators followed from genesis by governance records (§13.3). Heights are BigInt.
 */
export class Tracker {
  constructor(genesis) {
    /** address hex → { address, role, name, uscc, keys: [{ height, key }] } */
    this.members = new Map();
    /** address hex → genesis power (BigInt) */
    this.powers = new Map();
    /** `${height}/${address hex}` → { height, address, power } */
    this.changes = new Map();
    /** key hex → address hex of the member it was last given to (even one the tracker does not know) */
    this.keyOwner = new Map();
    for (const m of genesis.members) {
      const address = addressOf(m.public_key);
      this.members.set(hexKey(address), {
        address,
        role: m.role,
        name: m.name,
        uscc: m.uscc,
        keys: [{ height: 0n, key: m.public_key }],
      });
      this.keyOwner.set(hexKey(m.public_key), hexKey(address));
      this.powers.set(hexKey(address), BigInt(m.power));
    }
  }

  /** Applies a governance record (decoded SignedRecord payload) committed at height `b`. */
  apply(payload, b) {
    const height = BigInt(b);
    switch (payload.kind) {
      case 'AdmitMember': {
        const address = addressOf(payload.public_key);
        this.members.set(hexKey(address), {
          address,
          role: payload.role,
          name: payload.name,
          uscc: payload.uscc,
          keys: [{ height, key: payload.public_key }],
        });
        this.keyOwner.set(hexKey(payload.public_key), hexKey(address));
        return;
      }
      case 'UpdateMember': {
        const m = this.members.get(hexKey(payload.member));
        if (m === undefined) return; // not a known member: nothing to update
        if (payload.name !== null) m.name = payload.name;
        if (payload.uscc !== null) m.uscc = payload.uscc;
        return;
      }
      case 'RotateKey': {
        const m = this.members.get(hexKey(payload.member));
        if (m !== undefined) m.keys.push({ height, key: payload.new_key });
        this.keyOwner.set(hexKey(payload.new_key), hexKey(payload.member));
        return;
      }
      case 'SetValidator': {
        const eh = BigInt(payload.effective_height);
        this.changes.set(`${eh}/${hexKey(payload.member)}`, {
          height: eh,
          address: payload.member,
          power: BigInt(payload.power),
        });
        return;
      }
      default:
        throw new TypeError(`Tracker.apply: ${payload.kind} is not a governance record`);
    }
  }

  /** The validator set of height `x` (§13.3): [{ address, public_key, power }] sorted by address. */
  setAt(x) {
    const height = BigInt(x);
    const powers = new Map(this.powers);
    const due = [...this.changes.values()]
      .filter((c) => c.height <= height)
      .sort((a, b) => (a.height !== b.height ? (a.height < b.height ? -1 : 1) : compareBytes(a.address, b.address)));
    for (const c of due) powers.set(hexKey(c.address), c.power);
    const out = [];
    for (const [addr, power] of powers) {
      if (power === 0n) continue;
      const m = this.members.get(addr);
      if (m === undefined) continue; // a member unknown to the tracker is left out
      let key = null;
      for (const k of m.keys) if (k.height < height) key = k.key; // the last key given before x
      if (key === null) continue; // no key given before x: left out, like an unknown member
      out.push({ address: m.address, public_key: key, power });
    }
    return out.sort((a, b) => compareBytes(a.address, b.address));
  }

  /**
   * The member a key was last given to (by genesis, AdmitMember or RotateKey; current or rotated
   * out), or null when the tracker has not seen the key or does not know that member.
   * §13.3 only says "the signer's member identity if the tracker knows the signer key"; the
   * last-given rule, a RotateKey for an unknown member still taking the key, and the lookup after
   * every step (extensions included) follow the Rust verifier (validators.rs `key_owner`).
   */
  memberOfKey(key) {
    const owner = this.keyOwner.get(hexKey(key));
    return (owner !== undefined && this.members.get(owner)) || null;
  }
}

// =============================================================================================
// §13.3 the steps C, B, R and V

/**
 * The checks of §13.3 bound to one genesis and one tracker, for the receipt-bundle verifier below
 * and the trace-proof verifier (trace.js, §10.7 steps 1, 2 and 4). Each throws BundleError
 * { code, at } with the §13.4 code ('bundle.*' or 'certificate.*') at the step path given.
 *
 *   checkpoint(S, at)           C: a SignedCheckpoint against the set the tracker gives its height
 *   block(B, at)                B: a CertifiedBlock; returns { header, from, to } (its log range)
 *   record(P, block, at)        R: a ProvenRecord in a block B returned; returns the decoded record
 *   validatorStep(V, at, lo, hi)  V: a ValidatorStep of height in [lo, hi) (BigInt), above every
 *                               earlier step; applies its governance records to the tracker
 *
 * and carries `tracker` and `genesisHash`. Heights and indexes are compared as BigInt.
 */
export function bundleSteps(genesis) {
  const gHash = genesisHashOf(genesis);
  const chainId = genesis.chain_id;
  const maxRecordBytes = genesis.params.max_record_bytes;
  const tracker = new Tracker(genesis);
  const merkle = ledgerMerkle;

  // ---- C: a signed checkpoint ----
  function checkC(S, at) {
    if (S.header.chain_id !== chainId)
      throw new BundleError('bundle.chain_id', at, `chain id ${JSON.stringify(S.header.chain_id)}`);
    if (!checkpointMatchesHeader(S))
      throw new BundleError('bundle.checkpoint_mismatch', at, 'checkpoint is not Checkpoint::of(header)');
    const set = tracker.setAt(S.header.height);
    if (!equalBytes(validatorSetHash(set), S.header.validator_set_hash))
      throw new BundleError('bundle.validator_set', at, `set followed from genesis differs at height ${S.header.height}`);
    try {
      verifyCertificate(S.certificate, S.checkpoint.header_hash, S.header.height, set, gHash);
    } catch (err) {
      if (err instanceof CertificateError) throw new BundleError(err.code, at, err.message);
      throw err;
    }
    const bad = firstBadWitness(S, gHash);
    if (bad >= 0) throw new BundleError('bundle.witness', at, `witness signature ${bad} is not valid`);
  }

  // ---- B: a certified block; returns { header, from, to } ----
  function checkB(B, at) {
    const header = B.checkpoint.header;
    const h = BigInt(header.height);
    checkC(B.checkpoint, at);
    const fail = (why) => new BundleError('bundle.previous_header', at, why);
    let from;
    if (h === 0n) throw fail('height 0 has no header');
    if (h === 1n) {
      if (B.previous !== null) throw fail('a block of height 1 has no previous header');
      if (!equalBytes(header.prev_hash, gHash)) throw fail('prev_hash of height 1 is not the genesis hash');
      from = 0n;
    } else {
      if (B.previous === null) throw fail(`no previous header for height ${h}`);
      if (BigInt(B.previous.height) !== h - 1n) throw fail(`previous header has height ${B.previous.height}`);
      if (!equalBytes(headerHash(B.previous), header.prev_hash)) throw fail('previous header is not the one prev_hash names');
      from = BigInt(B.previous.log_size);
    }
    const to = BigInt(header.log_size);
    if (from > to) throw fail(`log range [${from}, ${to}) is reversed`);
    return { header, from, to };
  }

  // ---- R: a proven record in a certified block; returns the decoded record ----
  function checkR(P, block, at) {
    let record;
    try {
      record = recordFromBytes(P.record, maxRecordBytes);
    } catch (err) {
      if (err instanceof RecordError) throw new BundleError('bundle.record_bytes', at, err.message);
      throw err;
    }
    if (!verifyRecordSignature(record, gHash))
      throw new BundleError('bundle.record_signature', at, 'record signature is not valid (Ed25519, ZIP-215 rule of §4)');
    const { leaf_index: index, tree_size: size, path } = P.proof;
    if (BigInt(size) !== BigInt(block.header.log_size))
      throw new BundleError('bundle.proof_size', at, `proof for log size ${size}, header has ${block.header.log_size}`);
    if (!(block.from <= BigInt(index) && BigInt(index) < block.to))
      throw new BundleError('bundle.not_in_block', at, `log index ${index} outside [${block.from}, ${block.to})`);
    try {
      merkle.verifyInclusion(merkle.leafHash(blake3(P.record)), index, size, path, block.header.log_root);
    } catch (err) {
      if (err instanceof ProofError) throw new BundleError('bundle.inclusion', at, err.message);
      throw err;
    }
    return record;
  }

  // ---- V: a validator step, from height lo up to (not including) hi ----
  let lastStepHeight = 0n; // every step's height exceeds the earlier ones' (heights start at 1)
  let lastGovernanceIndex = -1n; // every governance record's leaf index exceeds the earlier ones'
  function checkV(V, at, lo, hi) {
    const h = BigInt(V.block.checkpoint.header.height);
    if (!(lo <= h && h < hi)) throw new BundleError('bundle.order', at, `step height ${h} outside [${lo}, ${hi})`);
    if (!(h > lastStepHeight)) throw new BundleError('bundle.order', at, `step height ${h} not above ${lastStepHeight}`);
    const block = checkB(V.block, `${at}.block`);
    V.records.forEach((P, j) => {
      const rat = `${at}.records[${j}]`;
      const record = checkR(P, block, rat);
      const index = BigInt(P.proof.leaf_index);
      if (!(index > lastGovernanceIndex))
        throw new BundleError('bundle.order', rat, `leaf index ${index} not above ${lastGovernanceIndex}`);
      lastGovernanceIndex = index;
      const kind = record.body.payload.kind;
      if (!GOVERNANCE_KINDS.includes(kind))
        throw new BundleError('bundle.unexpected_record', rat, `${kind} is not a governance record`);
      tracker.apply(record.body.payload, h);
    });
    lastStepHeight = h;
  }

  return Object.freeze({
    tracker,
    genesisHash: gHash,
    checkpoint: checkC,
    block: checkB,
    record: checkR,
    validatorStep: checkV,
  });
}

// =============================================================================================
// §13.3 verification

/**
 * §13.3: verifies `bundle` against `genesis` (a Genesis value, e.g. from genesisFromToml).
 * `bundle` is a bundle value, or its canonical bytes (Uint8Array), or its JSON form (an object
 * with `format`, or a JSON string). Throws BundleError { code, at }. Returns what was proved:
 *   { id, record, height, time, logIndex, signer, checkpoint, witnesses }
 * with `record` the decoded SignedRecord, `height`/`time`/`logIndex` BigInt, `signer` the member
 * ({ address, role, name, uscc }) the tracker last gave the signer key to, or null (looked up after
 * every step, extensions included), `checkpoint` the newest Checkpoint (the block's, or the last
 * extension's) and `witnesses` [{ key, member }] of the witness signatures on that checkpoint
 * (all verified; `member` the address the tracker gave the key to, or null).
 */
export function verifyBundle(genesis, bundle) {
  if (bundle instanceof Uint8Array) bundle = decodeBundle(bundle);
  else if (typeof bundle === 'string' || (isPlainObject(bundle) && 'format' in bundle)) bundle = parseBundleJson(bundle);
  else {
    // A value: normalised through its canonical bytes (Numbers → BigInt, undefined → null, a
    // private copy), which also refuses a value of the wrong shape.
    let bytes;
    try {
      bytes = encodeBundle(bundle);
    } catch (err) {
      if (err instanceof EncodeError) throw malformed(err.message);
      throw err;
    }
    bundle = decodeBundle(bytes);
  }

  const steps = bundleSteps(genesis);
  const { tracker } = steps;

  // ---- the bundle ----
  const blockHeight = BigInt(bundle.block.checkpoint.header.height);
  bundle.validators.forEach((V, i) => steps.validatorStep(V, `validators[${i}]`, 1n, blockHeight));
  const block = steps.block(bundle.block, 'block');
  const record = steps.record(bundle.record, block, 'record');

  let prev = bundle.block.checkpoint;
  bundle.extensions.forEach((ext, k) => {
    const at = `extensions[${k}]`;
    // "its checkpoint's height" (§13.3 step 4) is read from the headers: prev has passed C, so its
    // header and checkpoint agree; the new one is checked by C only after the steps.
    const prevHeight = BigInt(prev.header.height);
    const nextHeight = BigInt(ext.checkpoint.header.height);
    if (!(nextHeight > prevHeight))
      throw new BundleError('bundle.order', `${at}.checkpoint`, `height ${nextHeight} not above ${prevHeight}`);
    ext.validators.forEach((V, i) => steps.validatorStep(V, `${at}.validators[${i}]`, prevHeight, nextHeight));
    steps.checkpoint(ext.checkpoint, `${at}.checkpoint`);
    const cat = `${at}.consistency`;
    const c = ext.consistency;
    const oldCp = prev.checkpoint;
    const newCp = ext.checkpoint.checkpoint;
    if (BigInt(c.old_size) !== BigInt(oldCp.log_size) || BigInt(c.new_size) !== BigInt(newCp.log_size))
      throw new BundleError(
        'bundle.consistency',
        cat,
        `proof from ${c.old_size} to ${c.new_size}, checkpoints have ${oldCp.log_size} and ${newCp.log_size}`,
      );
    try {
      ledgerMerkle.verifyConsistency(c.old_size, c.new_size, oldCp.log_root, newCp.log_root, c.path);
    } catch (err) {
      if (err instanceof ProofError) throw new BundleError('bundle.consistency', cat, err.message);
      throw err;
    }
    prev = ext.checkpoint;
  });

  const known = (m) => m && { address: m.address, role: m.role, name: m.name, uscc: m.uscc };
  return {
    id: blake3(bundle.record.record),
    record,
    height: BigInt(block.header.height),
    time: BigInt(block.header.time),
    logIndex: BigInt(bundle.record.proof.leaf_index),
    signer: known(tracker.memberOfKey(record.signer)),
    checkpoint: prev.checkpoint,
    witnesses: prev.witnesses.map((w) => ({ key: w.witness, member: tracker.memberOfKey(w.witness)?.address ?? null })),
  };
}

/** verifyBundle without throwing: { ok: true, value } or { ok: false, error } (a BundleError). */
export function checkBundle(genesis, bundle) {
  try {
    return { ok: true, value: verifyBundle(genesis, bundle) };
  } catch (err) {
    if (err instanceof BundleError) return { ok: false, error: err };
    throw err;
  }
}
