// Receipt bundles: docs/SPEC.md §13 — the canonical bytes (§13.1), the JSON form (§13.2) and the
// verification (§13.3) with its codes (§13.4).
//
//   parseBundleJson(obj)          JSON form (already JSON.parse'd) → bundle value
//   bundleToJson(bundle)          bundle value → JSON form (plain object)
//   decodeBundle(bytes)           canonical bytes → bundle value
//   encodeBundle(bundle)          bundle value → canonical bytes
//   verifyBundle(genesis, b)      §13.3; throws BundleError { code, at } or returns what was proved
//   checkBundle(genesis, b)       the same as { ok: true, value } | { ok: false, error }
//
// A bundle value has the codec's shapes (schema.js): u64 as BigInt, u32 as Number, byte strings
// as Uint8Array, Option as null or the value. decodeBundle and parseBundleJson give equal values.

import { compareBytes, equalBytes, fromHex, toHex } from './bytes.js';
import { decode, encode, DecodeError, EncodeError } from './codec.js';
import { SCHEMA } from './schema.js';
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
// §13.2 JSON form

const U32_MAX = 2 ** 32 - 1;

function jsonFail(path, why) {
  throw malformed(`${path || '(top)'}: ${why}`);
}

const isPlainObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/** JSON value → codec value of type `t` (a schema type expression), strictly. */
function fromJson(t, v, path) {
  if (typeof t === 'string') {
    switch (t) {
      case 'u8':
      case 'u16':
      case 'u32': {
        const max = { u8: 255, u16: 65535, u32: U32_MAX }[t];
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max)
          jsonFail(path, `expected an integer 0 … ${max}`);
        return v;
      }
      case 'u64':
        // JSON numbers above 2^53 cannot be read exactly with 53-bit numbers: refused (§13.2).
        if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
          jsonFail(path, 'expected a non-negative integer below 2^53');
        return BigInt(v);
      case 'bool':
        if (typeof v !== 'boolean') jsonFail(path, 'expected true or false');
        return v;
      case 'String':
        if (typeof v !== 'string') jsonFail(path, 'expected a string');
        return v;
      case 'Bytes':
        return hexBytes(v, path, null);
      default:
        return fromJsonNamed(t, v, path);
    }
  }
  if (t.fixed !== undefined) return hexBytes(v, path, t.fixed);
  if (t.vec !== undefined || t.array !== undefined) {
    if (!Array.isArray(v)) jsonFail(path, 'expected an array');
    if (t.array !== undefined && v.length !== t.len) jsonFail(path, `expected ${t.len} elements`);
    return v.map((x, i) => fromJson(t.vec ?? t.array, x, `${path}[${i}]`));
  }
  if (t.option !== undefined) return v === null ? null : fromJson(t.option, v, path);
  if (t.tuple !== undefined) {
    if (!Array.isArray(v) || v.length !== t.tuple.length) jsonFail(path, `expected ${t.tuple.length} elements`);
    return t.tuple.map((x, i) => fromJson(x, v[i], `${path}[${i}]`));
  }
  throw new TypeError(`bad type expression ${JSON.stringify(t)}`);
}

/**
 * Hex of `len` bytes (any even length when len is null). §13.2 says byte strings are lowercase
 * hex; that is what bundleToJson writes. On input either case is accepted, as the Rust reader
 * (the `hex` crate) accepts it, so that both verifiers give the same verdict.
 */
function hexBytes(v, path, len) {
  if (typeof v !== 'string' || !/^(?:[0-9a-fA-F]{2})*$/.test(v)) jsonFail(path, 'expected a hex string');
  const b = fromHex(v);
  if (len !== null && b.length !== len) jsonFail(path, `expected ${len} bytes, got ${b.length}`);
  return b;
}

function fromJsonNamed(name, v, path) {
  const e = SCHEMA[name];
  if (e === undefined) throw new TypeError(`unknown type ${name}`);
  if (e.struct) return fromJsonFields(e.struct, v, path);
  if (e.enum) {
    // Unit variants only, as their name (VoteKind "Prevote"/"Precommit", §13.2). No bundle
    // structure holds an enum with fields.
    const idx = e.enum.findIndex(([variant, fields]) => fields === undefined && variant === v);
    if (typeof v !== 'string' || idx < 0) jsonFail(path, `expected a ${name} variant name`);
    return { kind: v };
  }
  return fromJson(e, v, path);
}

function fromJsonFields(fields, v, path, allowed = []) {
  if (!isPlainObject(v)) jsonFail(path, 'expected an object');
  const names = new Set(fields.map(([f]) => f));
  for (const k of Object.keys(v))
    if (!names.has(k) && !allowed.includes(k)) jsonFail(path ? `${path}.${k}` : k, 'unknown field');
  const out = {};
  for (const [f, ft] of fields) {
    const p = path ? `${path}.${f}` : f;
    const present = Object.prototype.hasOwnProperty.call(v, f);
    // A missing field is refused, except an Option, which reads as None when left out: §13.2
    // only says "Option is null or the value"; the Rust reader (serde) takes a missing Option
    // field as None, and the verdicts must agree. (The only Option in a bundle is `previous`.)
    if (!present && !(typeof ft === 'object' && ft.option !== undefined)) jsonFail(p, 'missing field');
    out[f] = present ? fromJson(ft, v[f], p) : null;
  }
  return out;
}

/**
 * JSON text → value. Where the engine passes the source text to a reviver (JSON.parse source
 * text access: Node ≥ 21, current browsers), numbers written as anything but a plain
 * non-negative integer (`1.0`, `1e3`, `-0`) are refused, as the Rust reader refuses them for
 * integer fields. Elsewhere they read as the integer they equal. (An already-parsed object
 * given to parseBundleJson cannot be checked for this.)
 */
function parseJsonText(text) {
  let badNumber = null;
  const reviver = (key, value, context) => {
    if (typeof value === 'number' && context && typeof context.source === 'string' && !/^(0|[1-9][0-9]*)$/.test(context.source))
      badNumber ??= context.source;
    return value;
  };
  let obj;
  try {
    obj = JSON.parse(text, reviver);
  } catch (err) {
    throw malformed(`not JSON: ${err.message}`);
  }
  if (badNumber !== null) throw malformed(`number ${badNumber} is not a plain non-negative integer`);
  return obj;
}

/**
 * The JSON form of §13.2 (a parsed JSON object, or the JSON text) as a bundle value. Strict:
 * `format` must be "shanlian-receipt-bundle/1"; unknown fields and missing fields are refused (a
 * missing Option field reads as None, see fromJsonFields); byte strings must be hex of the right
 * length; integers must be non-negative safe integers (below 2^53), u32 fields within u32.
 * Any refusal is BundleError bundle.malformed at `bundle`.
 */
export function parseBundleJson(obj) {
  if (typeof obj === 'string') obj = parseJsonText(obj);
  if (!isPlainObject(obj)) throw malformed('expected a JSON object');
  if (obj.format !== BUNDLE_FORMAT) throw malformed(`format must be ${JSON.stringify(BUNDLE_FORMAT)}`);
  return fromJsonFields(SCHEMA.ReceiptBundle.struct, obj, '', ['format']);
}

/** codec value → JSON value (inverse of fromJson). */
function toJson(t, v) {
  if (typeof t === 'string') {
    switch (t) {
      case 'u64':
        if (BigInt(v) > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`${v} has no exact JSON number`);
        return Number(v);
      case 'u8':
      case 'u16':
      case 'u32':
      case 'bool':
      case 'String':
        return v;
      case 'Bytes':
        return toHex(v);
      default: {
        const e = SCHEMA[t];
        if (e.struct) return Object.fromEntries(e.struct.map(([f, ft]) => [f, toJson(ft, v[f])]));
        if (e.enum) return v.kind;
        return toJson(e, v);
      }
    }
  }
  if (t.fixed !== undefined) return toHex(v);
  if (t.vec !== undefined) return v.map((x) => toJson(t.vec, x));
  if (t.array !== undefined) return v.map((x) => toJson(t.array, x));
  if (t.option !== undefined) return v === null || v === undefined ? null : toJson(t.option, v);
  if (t.tuple !== undefined) return t.tuple.map((x, i) => toJson(x, v[i]));
  throw new TypeError(`bad type expression ${JSON.stringify(t)}`);
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
      throw new BundleError('bundle.record_signature', at, 'record signature is not strictly valid');
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

  // ---- the bundle ----
  const blockHeight = BigInt(bundle.block.checkpoint.header.height);
  bundle.validators.forEach((V, i) => checkV(V, `validators[${i}]`, 1n, blockHeight));
  const block = checkB(bundle.block, 'block');
  const record = checkR(bundle.record, block, 'record');

  let prev = bundle.block.checkpoint;
  bundle.extensions.forEach((ext, k) => {
    const at = `extensions[${k}]`;
    // "its checkpoint's height" (§13.3 step 4) is read from the headers: prev has passed C, so its
    // header and checkpoint agree; the new one is checked by C only after the steps.
    const prevHeight = BigInt(prev.header.height);
    const nextHeight = BigInt(ext.checkpoint.header.height);
    if (!(nextHeight > prevHeight))
      throw new BundleError('bundle.order', `${at}.checkpoint`, `height ${nextHeight} not above ${prevHeight}`);
    ext.validators.forEach((V, i) => checkV(V, `${at}.validators[${i}]`, prevHeight, nextHeight));
    checkC(ext.checkpoint, `${at}.checkpoint`);
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
      merkle.verifyConsistency(c.old_size, c.new_size, oldCp.log_root, newCp.log_root, c.path);
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
