// Byte helpers shared by the verifier modules (docs/SPEC.md §1 notation).
//
// Browser-safe: only Uint8Array, BigInt, TextEncoder/TextDecoder. No Node Buffer.

const HEX = '0123456789abcdef';
const U64_MAX = (1n << 64n) - 1n;

/** Lower-case hex of `bytes`. */
export function toHex(bytes) {
  assertBytes(bytes, 'toHex');
  let out = '';
  for (const b of bytes) out += HEX[b >> 4] + HEX[b & 15];
  return out;
}

/**
 * Bytes of a hex string (upper or lower case, even length, no prefix, no spaces).
 * Throws on anything else, so a typo in a hash never silently becomes other bytes.
 */
export function fromHex(hex) {
  if (typeof hex !== 'string') throw new TypeError('fromHex: expected a string');
  if (hex.length % 2 !== 0) throw new RangeError(`fromHex: odd length ${hex.length}`);
  if (!/^[0-9a-fA-F]*$/.test(hex)) throw new RangeError('fromHex: not a hex string');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** `a ‖ b ‖ …` as one new Uint8Array. */
export function concat(...parts) {
  let len = 0;
  for (const p of parts) {
    assertBytes(p, 'concat');
    len += p.length;
  }
  const out = new Uint8Array(len);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Byte equality. Runs over the whole common length without an early exit (constant-time
 * style); lengths are public, so a length mismatch returns at once.
 */
export function equalBytes(a, b) {
  assertBytes(a, 'equalBytes');
  assertBytes(b, 'equalBytes');
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/**
 * Bytewise lexicographic comparison (-1, 0, 1); a proper prefix sorts first. This is the order
 * of validator addresses (§2.5) and of write-set keys (§9.2).
 */
export function compareBytes(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** `LE32(n)`: 4-byte little-endian of an integer 0 ≤ n < 2³² (Number or BigInt). */
export function le32(n) {
  const v = toUint(n, 32n, 'le32');
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, Number(v), true);
  return out;
}

/** `LE64(n)`: 8-byte little-endian of an integer 0 ≤ n < 2⁶⁴ (BigInt, or a safe-integer Number). */
export function le64(n) {
  const v = toUint(n, 64n, 'le64');
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, v, true);
  return out;
}

/** `BE64(n)`: 8-byte big-endian (used by tile and trace-row keys, §6, §9.1). */
export function be64(n) {
  const v = toUint(n, 64n, 'be64');
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, v, false);
  return out;
}

/** Little-endian unsigned integer of `bytes` as a BigInt. */
export function bytesToBigIntLE(bytes) {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]);
  return v;
}

/** `n` as `len` little-endian bytes (throws if it does not fit). */
export function bigIntToBytesLE(n, len) {
  if (typeof n !== 'bigint' || n < 0n) throw new RangeError('bigIntToBytesLE: expected a BigInt ≥ 0');
  const out = new Uint8Array(len);
  let v = n;
  for (let i = 0; i < len; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  if (v !== 0n) throw new RangeError(`bigIntToBytesLE: ${n} does not fit in ${len} bytes`);
  return out;
}

/** UTF-8 bytes of a string; refuses lone surrogates (TextEncoder would turn them into U+FFFD). */
export function utf8(str) {
  if (typeof str !== 'string') throw new TypeError('utf8: expected a string');
  if (hasLoneSurrogate(str)) throw new RangeError('utf8: string has a lone surrogate');
  return ENCODER.encode(str);
}

const ENCODER = new TextEncoder();

/** Whether a UTF-16 string has an unpaired surrogate (it has no UTF-8 encoding). */
function hasLoneSurrogate(str) {
  for (let i = 0; i < str.length; i++) {
    const c = str.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = i + 1 < str.length ? str.charCodeAt(i + 1) : 0;
      if (d < 0xdc00 || d > 0xdfff) return true;
      i++; // a valid pair
    } else if (c >= 0xdc00 && c <= 0xdfff) return true;
  }
  return false;
}

/** Throws unless `x` is a Uint8Array. */
export function assertBytes(x, what, len) {
  if (!(x instanceof Uint8Array)) throw new TypeError(`${what}: expected a Uint8Array`);
  if (len !== undefined && x.length !== len)
    throw new RangeError(`${what}: expected ${len} bytes, got ${x.length}`);
  return x;
}

/** An unsigned integer below 2^bits as a BigInt; accepts BigInt or a safe-integer Number. */
export function toUint(n, bits, what) {
  let v;
  if (typeof n === 'bigint') v = n;
  else if (typeof n === 'number' && Number.isSafeInteger(n)) v = BigInt(n);
  else throw new TypeError(`${what}: expected an integer (BigInt or safe Number), got ${typeof n}`);
  if (v < 0n || v >= 1n << bits) throw new RangeError(`${what}: ${v} is outside 0 … 2^${bits} − 1`);
  return v;
}

export { U64_MAX };
