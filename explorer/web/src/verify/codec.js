// Strict, canonical-only bincode 2 (fixed-width little-endian) codec of docs/SPEC.md §1, driven
// by the layout tables in schema.js.
//
// The decoder refuses (SPEC §1 "Strict, canonical-only decoding"):
//   - input shorter than the value, and any byte left over after it;
//   - a bool byte other than 0/1, an Option tag other than 0/1;
//   - an enum variant index past the last variant;
//   - a Vec/String length that runs past the input. The length is a u64 read as a BigInt and
//     compared with what is left (times the smallest size one element can have) BEFORE anything
//     is allocated or looped over, so a hostile length such as 2^63 fails at once;
//   - invalid UTF-8 (TextDecoder with fatal: true; ignoreBOM so that a leading U+FEFF is kept as
//     a character, as Rust's String keeps it — otherwise re-encoding would lose three bytes);
//   - finally, the value is re-encoded and must equal the input byte for byte (decode_canonical).
//     With fixed-width integers this never fails after the checks above, but the spec asks a
//     verifier to perform it, and it guards this file against its own mistakes.
//
// Every refusal is a DecodeError naming the field path and byte offset, e.g.
//   "body.payload.RecordDonation.receipt: length 4294967296 runs past the input at byte 28".

import { SCHEMA, TYPE_NAMES } from './schema.js';
import { equalBytes, utf8 } from './bytes.js';

/** A refused input. `path` is the field path, `offset` the byte offset, `reason` the bare cause. */
export class DecodeError extends Error {
  constructor(path, offset, reason) {
    super(`${path}: ${reason} at byte ${offset}`);
    this.name = 'DecodeError';
    this.path = path;
    this.offset = offset;
    this.reason = reason;
  }
}

/** A value that cannot be encoded (wrong shape, out-of-range integer, unknown variant, …). */
export class EncodeError extends Error {
  constructor(path, reason) {
    super(`${path}: ${reason}`);
    this.name = 'EncodeError';
    this.path = path;
    this.reason = reason;
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const PRIMITIVE_SIZE = { u8: 1, u16: 2, u32: 4, u64: 8, bool: 1 };
const UINT_BITS = { u8: 8, u16: 16, u32: 32 };

// ---------------------------------------------------------------------------------------------
// Schema helpers

/** The schema entry of a named type (throws for an unknown name: a programming error). */
function entry(name) {
  const e = SCHEMA[name];
  if (e === undefined) throw new TypeError(`unknown type ${JSON.stringify(name)}`);
  return e;
}

/** The field list of an enum variant: [] for a unit variant. */
function variantFields(variant) {
  const f = variant[1];
  if (f === undefined) return [];
  if (typeof f === 'string') {
    const e = entry(f);
    if (!e.struct) throw new TypeError(`variant ${variant[0]}: ${f} is not a struct`);
    return e.struct;
  }
  return f;
}

const minSizeMemo = new Map();

/**
 * The fewest bytes any value of type `t` can occupy. A Vec of n elements needs at least
 * n × minSize(element) bytes, which bounds n by the input before anything is allocated.
 * Every type here has minSize ≥ 1 except [u8; 0] / empty tuples, which the spec never uses;
 * the Vec check below treats 0 as 1 anyway, so a count can never exceed the bytes left.
 */
export function minSize(t) {
  if (typeof t === 'string') {
    if (t in PRIMITIVE_SIZE) return PRIMITIVE_SIZE[t];
    if (t === 'String' || t === 'Bytes') return 8;
    if (minSizeMemo.has(t)) return minSizeMemo.get(t);
    minSizeMemo.set(t, 1); // provisional, guards against (nonexistent) recursive types
    const e = entry(t);
    let n;
    if (e.struct) n = e.struct.reduce((s, [, ft]) => s + minSize(ft), 0);
    else if (e.enum)
      n = 4 + Math.min(...e.enum.map((v) => variantFields(v).reduce((s, [, ft]) => s + minSize(ft), 0)));
    else n = minSize(e);
    minSizeMemo.set(t, n);
    return n;
  }
  if (t.fixed !== undefined) return t.fixed;
  if (t.array !== undefined) return t.len * minSize(t.array);
  if (t.vec !== undefined) return 8;
  if (t.option !== undefined) return 1;
  if (t.tuple !== undefined) return t.tuple.reduce((s, x) => s + minSize(x), 0);
  throw new TypeError(`bad type expression ${JSON.stringify(t)}`);
}

function join(path, seg) {
  return path === '' ? seg : `${path}.${seg}`;
}

// ---------------------------------------------------------------------------------------------
// Decoding

class Reader {
  constructor(bytes) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = 0;
  }
  left() {
    return this.bytes.length - this.pos;
  }
  need(n, path, what) {
    if (n > this.left())
      throw new DecodeError(path, this.pos, `${what} needs ${n} bytes, only ${this.left()} left`);
  }
  take(n, path, what) {
    this.need(n, path, what);
    const out = this.bytes.slice(this.pos, this.pos + n); // a copy: values never alias the input
    this.pos += n;
    return out;
  }
  /** A u64 length prefix, checked against the input before it is used: returns a Number. */
  length(path, elemMin) {
    this.need(8, path, 'length');
    const at = this.pos;
    const n = this.view.getBigUint64(at, true);
    this.pos += 8;
    // n × max(1, elemMin) must fit in what is left. BigInt arithmetic, so no overflow.
    if (n * BigInt(Math.max(1, elemMin)) > BigInt(this.left()))
      throw new DecodeError(path, at, `length ${n} runs past the input`);
    return Number(n); // ≤ input length, so exact
  }
}

function decodeValue(t, r, path) {
  if (typeof t === 'string') {
    switch (t) {
      case 'u8':
        r.need(1, path, 'u8');
        return r.view.getUint8(r.pos++);
      case 'u16': {
        r.need(2, path, 'u16');
        const v = r.view.getUint16(r.pos, true);
        r.pos += 2;
        return v;
      }
      case 'u32': {
        r.need(4, path, 'u32');
        const v = r.view.getUint32(r.pos, true);
        r.pos += 4;
        return v;
      }
      case 'u64': {
        r.need(8, path, 'u64');
        const v = r.view.getBigUint64(r.pos, true);
        r.pos += 8;
        return v;
      }
      case 'bool': {
        r.need(1, path, 'bool');
        const b = r.bytes[r.pos];
        if (b > 1) throw new DecodeError(path, r.pos, `bool byte ${b} is neither 0 nor 1`);
        r.pos += 1;
        return b === 1;
      }
      case 'String': {
        const n = r.length(path, 1);
        const at = r.pos;
        const raw = r.take(n, path, 'string');
        try {
          return UTF8.decode(raw);
        } catch {
          throw new DecodeError(path, at, 'string is not valid UTF-8');
        }
      }
      case 'Bytes': {
        const n = r.length(path, 1);
        return r.take(n, path, 'bytes');
      }
      default:
        return decodeNamed(t, r, path);
    }
  }
  if (t.fixed !== undefined) return r.take(t.fixed, path, `[u8; ${t.fixed}]`);
  if (t.array !== undefined) {
    const out = [];
    for (let i = 0; i < t.len; i++) out.push(decodeValue(t.array, r, `${path}[${i}]`));
    return out;
  }
  if (t.vec !== undefined) {
    const n = r.length(path, minSize(t.vec));
    const out = []; // grown element by element, never pre-sized from the untrusted count
    for (let i = 0; i < n; i++) out.push(decodeValue(t.vec, r, `${path}[${i}]`));
    return out;
  }
  if (t.option !== undefined) {
    r.need(1, path, 'option tag');
    const tag = r.bytes[r.pos];
    if (tag > 1) throw new DecodeError(path, r.pos, `option tag ${tag} is neither 0 nor 1`);
    r.pos += 1;
    return tag === 0 ? null : decodeValue(t.option, r, path);
  }
  if (t.tuple !== undefined) return t.tuple.map((x, i) => decodeValue(x, r, join(path, String(i))));
  throw new TypeError(`bad type expression ${JSON.stringify(t)}`);
}

function decodeNamed(name, r, path) {
  const e = entry(name);
  if (e.struct) return decodeFields(e.struct, r, path, {});
  if (e.enum) {
    r.need(4, path, 'variant index');
    const at = r.pos;
    const idx = r.view.getUint32(at, true);
    r.pos += 4;
    if (idx >= e.enum.length) {
      const last = e.enum.length - 1;
      throw new DecodeError(
        path,
        at,
        `variant index ${idx} of ${name} is past the last variant (${last} ${e.enum[last][0]})`,
      );
    }
    const v = e.enum[idx];
    return decodeFields(variantFields(v), r, join(path, v[0]), { kind: v[0] });
  }
  return decodeValue(e, r, path); // alias / newtype
}

function decodeFields(fields, r, path, out) {
  for (const [f, ft] of fields) out[f] = decodeValue(ft, r, join(path, f));
  return out;
}

/**
 * Decodes `bytes` as one value of the named type, strictly and canonically (§1): the whole input
 * must be consumed and re-encode to the same bytes. Throws DecodeError.
 */
export function decode(typeName, bytes) {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('decode: expected a Uint8Array');
  entry(typeName);
  const r = new Reader(bytes);
  const value = decodeValue(typeName, r, '');
  if (r.left() !== 0) {
    const n = r.left();
    throw new DecodeError(typeName, r.pos, `${n} trailing byte${n === 1 ? '' : 's'} after the value`);
  }
  // decode_canonical: the value must re-encode to exactly the input.
  let again;
  try {
    again = encode(typeName, value);
  } catch (err) {
    throw new DecodeError(typeName, 0, `decoded value does not re-encode (${err.message})`);
  }
  if (!equalBytes(again, bytes)) throw new DecodeError(typeName, 0, 'input is not the canonical encoding');
  return value;
}

// ---------------------------------------------------------------------------------------------
// Encoding

class Writer {
  constructor() {
    this.buf = new Uint8Array(256);
    this.view = new DataView(this.buf.buffer);
    this.len = 0;
  }
  reserve(n) {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  bytes(b) {
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  u8(v) {
    this.reserve(1);
    this.buf[this.len++] = v;
  }
  u16(v) {
    this.reserve(2);
    this.view.setUint16(this.len, v, true);
    this.len += 2;
  }
  u32(v) {
    this.reserve(4);
    this.view.setUint32(this.len, v, true);
    this.len += 4;
  }
  u64(v) {
    this.reserve(8);
    this.view.setBigUint64(this.len, v, true);
    this.len += 8;
  }
  result() {
    return this.buf.slice(0, this.len);
  }
}

const U64_LIMIT = 1n << 64n;

function encU64(v, path) {
  let b;
  if (typeof v === 'bigint') b = v;
  else if (typeof v === 'number' && Number.isSafeInteger(v)) b = BigInt(v);
  else throw new EncodeError(path, `u64 must be a BigInt or a safe integer, got ${describe(v)}`);
  if (b < 0n || b >= U64_LIMIT) throw new EncodeError(path, `${b} is outside the u64 range`);
  return b;
}

function encSmall(v, bits, path) {
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (!Number.isInteger(n) || n < 0 || n >= 2 ** bits || (typeof v === 'bigint' && BigInt(n) !== v))
    throw new EncodeError(path, `u${bits} must be an integer in 0 … 2^${bits} − 1, got ${describe(v)}`);
  return n;
}

function describe(v) {
  if (v === null) return 'null';
  if (v instanceof Uint8Array) return `Uint8Array(${v.length})`;
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (typeof v === 'object') return Array.isArray(v) ? `array(${v.length})` : 'object';
  return String(v);
}

function encodeValue(t, v, w, path) {
  if (typeof t === 'string') {
    switch (t) {
      case 'u8':
      case 'u16':
      case 'u32': {
        const n = encSmall(v, UINT_BITS[t], path);
        if (t === 'u8') w.u8(n);
        else if (t === 'u16') w.u16(n);
        else w.u32(n);
        return;
      }
      case 'u64':
        w.u64(encU64(v, path));
        return;
      case 'bool':
        if (typeof v !== 'boolean') throw new EncodeError(path, `bool expected, got ${describe(v)}`);
        w.u8(v ? 1 : 0);
        return;
      case 'String': {
        if (typeof v !== 'string') throw new EncodeError(path, `string expected, got ${describe(v)}`);
        let b;
        try {
          b = utf8(v);
        } catch (err) {
          throw new EncodeError(path, err.message);
        }
        w.u64(BigInt(b.length));
        w.bytes(b);
        return;
      }
      case 'Bytes':
        if (!(v instanceof Uint8Array)) throw new EncodeError(path, `Uint8Array expected, got ${describe(v)}`);
        w.u64(BigInt(v.length));
        w.bytes(v);
        return;
      default:
        encodeNamed(t, v, w, path);
        return;
    }
  }
  if (t.fixed !== undefined) {
    if (!(v instanceof Uint8Array) || v.length !== t.fixed)
      throw new EncodeError(path, `[u8; ${t.fixed}] expected, got ${describe(v)}`);
    w.bytes(v);
    return;
  }
  if (t.array !== undefined) {
    if (!Array.isArray(v) || v.length !== t.len)
      throw new EncodeError(path, `array of ${t.len} expected, got ${describe(v)}`);
    v.forEach((x, i) => encodeValue(t.array, x, w, `${path}[${i}]`));
    return;
  }
  if (t.vec !== undefined) {
    if (!Array.isArray(v)) throw new EncodeError(path, `array expected, got ${describe(v)}`);
    w.u64(BigInt(v.length));
    v.forEach((x, i) => encodeValue(t.vec, x, w, `${path}[${i}]`));
    return;
  }
  if (t.option !== undefined) {
    // None is null (what the decoder returns); undefined is accepted as None too.
    if (v === null || v === undefined) w.u8(0);
    else {
      w.u8(1);
      encodeValue(t.option, v, w, path);
    }
    return;
  }
  if (t.tuple !== undefined) {
    if (!Array.isArray(v) || v.length !== t.tuple.length)
      throw new EncodeError(path, `tuple of ${t.tuple.length} expected, got ${describe(v)}`);
    t.tuple.forEach((x, i) => encodeValue(x, v[i], w, join(path, String(i))));
    return;
  }
  throw new TypeError(`bad type expression ${JSON.stringify(t)}`);
}

function encodeNamed(name, v, w, path) {
  const e = entry(name);
  if (e.struct) {
    encodeFields(e.struct, v, w, path, []);
    return;
  }
  if (e.enum) {
    if (v === null || typeof v !== 'object' || typeof v.kind !== 'string')
      throw new EncodeError(path, `${name} expected as { kind, … }, got ${describe(v)}`);
    const idx = e.enum.findIndex((x) => x[0] === v.kind);
    if (idx < 0) throw new EncodeError(path, `${JSON.stringify(v.kind)} is not a variant of ${name}`);
    w.u32(idx);
    encodeFields(variantFields(e.enum[idx]), v, w, join(path, v.kind), ['kind']);
    return;
  }
  encodeValue(e, v, w, path);
}

/**
 * Encodes the fields of a struct (or enum variant) object. Unknown keys are refused so that a
 * misspelt field name is an error rather than a silently encoded default.
 */
function encodeFields(fields, v, w, path, extra) {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array)
    throw new EncodeError(path, `object expected, got ${describe(v)}`);
  const known = new Set([...fields.map(([f]) => f), ...extra]);
  for (const k of Object.keys(v)) if (!known.has(k)) throw new EncodeError(join(path, k), 'unknown field');
  for (const [f, ft] of fields) {
    const isOption = typeof ft === 'object' && ft.option !== undefined;
    if (!(f in v) && !isOption) throw new EncodeError(join(path, f), 'missing field');
    encodeValue(ft, v[f], w, join(path, f));
  }
}

/** The canonical encoding (§1) of `value` as the named type. Throws EncodeError. */
export function encode(typeName, value) {
  entry(typeName);
  const w = new Writer();
  encodeValue(typeName, value, w, '');
  return w.result();
}

// ---------------------------------------------------------------------------------------------
// Per-type shorthands: decoders.SignedRecord(bytes), encoders.Header(value), …

export const decoders = Object.freeze(
  Object.fromEntries(TYPE_NAMES.map((n) => [n, (bytes) => decode(n, bytes)])),
);
export const encoders = Object.freeze(
  Object.fromEntries(TYPE_NAMES.map((n) => [n, (value) => encode(n, value)])),
);

export { SCHEMA, TYPE_NAMES };
