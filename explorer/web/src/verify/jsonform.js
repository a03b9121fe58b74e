// The JSON form shared by receipt bundles (docs/SPEC.md §13.2) and trace proofs (§10.6): each
// structure an object with the field names of its table, byte strings as hex of exactly their
// length, integers as plain non-negative JSON numbers below 2^53, Option as null or the value,
// unit enums by name. Driven by the layout tables in schema.js, like codec.js.
//
//   fromJson(type, json, path)      JSON value → codec value of `type`, strictly
//   fromJsonFields(fields, json, path, allowed)   the same for a field list (a struct's top level)
//   toJson(type, value)             codec value → JSON value (inverse of fromJson)
//   parseJsonText(text)             JSON text → JSON value, refusing non-integer number spellings
//
// Every refusal is a JsonFormError naming the path; the callers turn it into their own code
// (bundle.malformed, trace.malformed).

import { fromHex, toHex } from './bytes.js';
import { SCHEMA } from './schema.js';

/** A JSON value that is not the JSON form of the expected type. `path` names the field. */
export class JsonFormError extends Error {
  constructor(path, reason) {
    super(`${path || '(top)'}: ${reason}`);
    this.name = 'JsonFormError';
    this.path = path;
    this.reason = reason;
  }
}

const U32_MAX = 2 ** 32 - 1;

/**
 * JSON names of enum variants where they are not the variant's own name, by variant index:
 * a trace proof's direction is "forward" / "reverse" (§10.6). Every other unit enum (VoteKind,
 * §13.2) is written as its variant name.
 */
const JSON_ENUM_NAMES = Object.freeze({ Direction: ['forward', 'reverse'] });

/**
 * Option fields that must be present (as null or the value) rather than read as None when left
 * out: a WriteSetProof's `value` (§10.6: "hex or null"). The Rust reader refuses a missing `value`
 * (its serde field has a custom reader and no default), and the verdicts must agree.
 */
const REQUIRED_OPTIONS = Object.freeze({ WriteSetProof: ['value'] });

function fail(path, why) {
  throw new JsonFormError(path, why);
}

export const isPlainObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/** JSON value → codec value of type `t` (a schema type expression), strictly. */
export function fromJson(t, v, path) {
  if (typeof t === 'string') {
    switch (t) {
      case 'u8':
      case 'u16':
      case 'u32': {
        const max = { u8: 255, u16: 65535, u32: U32_MAX }[t];
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) fail(path, `expected an integer 0 … ${max}`);
        return v;
      }
      case 'u64':
        // JSON numbers above 2^53 cannot be read exactly with 53-bit numbers: refused (§13.2).
        if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(path, 'expected a non-negative integer below 2^53');
        return BigInt(v);
      case 'bool':
        if (typeof v !== 'boolean') fail(path, 'expected true or false');
        return v;
      case 'String':
        if (typeof v !== 'string') fail(path, 'expected a string');
        return v;
      case 'Bytes':
        return hexBytes(v, path, null);
      default:
        return fromJsonNamed(t, v, path);
    }
  }
  if (t.fixed !== undefined) return hexBytes(v, path, t.fixed);
  if (t.vec !== undefined || t.array !== undefined) {
    if (!Array.isArray(v)) fail(path, 'expected an array');
    if (t.array !== undefined && v.length !== t.len) fail(path, `expected ${t.len} elements`);
    return v.map((x, i) => fromJson(t.vec ?? t.array, x, `${path}[${i}]`));
  }
  if (t.option !== undefined) return v === null ? null : fromJson(t.option, v, path);
  if (t.tuple !== undefined) {
    if (!Array.isArray(v) || v.length !== t.tuple.length) fail(path, `expected ${t.tuple.length} elements`);
    return t.tuple.map((x, i) => fromJson(x, v[i], `${path}[${i}]`));
  }
  throw new TypeError(`bad type expression ${JSON.stringify(t)}`);
}

/**
 * Hex of `len` bytes (any even length when len is null). §13.2 says byte strings are lowercase
 * hex; that is what toJson writes. On input either case is accepted, as the Rust reader (the
 * `hex` crate) accepts it, so that both verifiers give the same verdict.
 */
function hexBytes(v, path, len) {
  if (typeof v !== 'string' || !/^(?:[0-9a-fA-F]{2})*$/.test(v)) fail(path, 'expected a hex string');
  const b = fromHex(v);
  if (len !== null && b.length !== len) fail(path, `expected ${len} bytes, got ${b.length}`);
  return b;
}

/** The JSON names of an enum's variants (index order). */
function variantNames(name, e) {
  return JSON_ENUM_NAMES[name] ?? e.enum.map(([variant]) => variant);
}

function fromJsonNamed(name, v, path) {
  const e = SCHEMA[name];
  if (e === undefined) throw new TypeError(`unknown type ${name}`);
  if (e.struct) return fromJsonFields(e.struct, v, path, [], REQUIRED_OPTIONS[name] ?? []);
  if (e.enum) {
    // Unit variants only, by name (VoteKind "Prevote"/"Precommit", §13.2; Direction, §10.6). No
    // bundle or trace-proof structure holds an enum with fields.
    const idx = typeof v === 'string' ? variantNames(name, e).indexOf(v) : -1;
    if (idx < 0 || e.enum[idx][1] !== undefined) fail(path, `expected a ${name} variant name`);
    return { kind: e.enum[idx][0] };
  }
  return fromJson(e, v, path);
}

/**
 * The fields of a struct from a JSON object: unknown fields are refused (except the names in
 * `allowed`, e.g. `format`), and so are missing ones, except an Option, which reads as None when
 * left out: §13.2 only says "Option is null or the value"; the Rust reader (serde) takes a missing
 * Option field as None, and the verdicts must agree. Option fields named in `required` must be
 * present all the same (see REQUIRED_OPTIONS).
 */
export function fromJsonFields(fields, v, path, allowed = [], required = []) {
  if (!isPlainObject(v)) fail(path, 'expected an object');
  const names = new Set(fields.map(([f]) => f));
  for (const k of Object.keys(v)) if (!names.has(k) && !allowed.includes(k)) fail(path ? `${path}.${k}` : k, 'unknown field');
  const out = {};
  for (const [f, ft] of fields) {
    const p = path ? `${path}.${f}` : f;
    const present = Object.prototype.hasOwnProperty.call(v, f);
    if (!present && (required.includes(f) || !(typeof ft === 'object' && ft.option !== undefined))) fail(p, 'missing field');
    out[f] = present ? fromJson(ft, v[f], p) : null;
  }
  return out;
}

/**
 * JSON text → value. Where the engine passes the source text to a reviver (JSON.parse source
 * text access: Node ≥ 21, current browsers), numbers written as anything but a plain
 * non-negative integer (`1.0`, `1e3`, `-0`) are refused, as the Rust reader refuses them for
 * integer fields. Elsewhere they read as the integer they equal. (An already-parsed object
 * cannot be checked for this.)
 */
export function parseJsonText(text) {
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
    fail('', `not JSON: ${err.message}`);
  }
  if (badNumber !== null) fail('', `number ${badNumber} is not a plain non-negative integer`);
  return obj;
}

/** codec value → JSON value (inverse of fromJson). */
export function toJson(t, v) {
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
        if (e.enum) return variantNames(t, e)[e.enum.findIndex(([variant]) => variant === v.kind)];
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
