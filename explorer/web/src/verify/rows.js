// Trace rows in the write set: docs/SPEC.md §9.1. Each row is its own write-set entry,
//
//   key   = family (1 byte) ‖ encode(FundRef) ‖ BE64(position)
//   value = encode(row)       SourceRow (0x20), OutflowRow (0x21) or HoleRow (0x22), §2.6
//
// and is proven on its own by a write-set proof (§9.3) against the block that wrote it.

import { be64, concat, toHex } from './bytes.js';
import { decode, DecodeError, encode } from './codec.js';

/** The trace-row families of §9.1: family byte → row type (schema.js). */
export const TRACE_FAMILIES = Object.freeze({ 0x20: 'SourceRow', 0x21: 'OutflowRow', 0x22: 'HoleRow' });

/** The family bytes by name. */
export const INFLOW = 0x20;
export const OUTFLOW = 0x21;
export const HOLE = 0x22;

/** key = family ‖ encode(FundRef) ‖ BE64(position) (§9.1). */
export function traceRowKey(family, fund, position) {
  if (TRACE_FAMILIES[family] === undefined) throw new RangeError(`0x${family.toString(16)} is not a trace-row family`);
  return concat(new Uint8Array([family]), encode('FundRef', fund), be64(position));
}

/**
 * Parses a trace-row key: { family, fund, position (BigInt) }. Strict: the family must be
 * 0x20–0x22, the last 8 bytes are the big-endian position, and the bytes between must be exactly
 * one canonical encode(FundRef) — nothing left over, nothing missing. Throws DecodeError.
 */
export function parseTraceRowKey(key) {
  if (!(key instanceof Uint8Array)) throw new TypeError('parseTraceRowKey: expected a Uint8Array');
  if (key.length < 1 + 4 + 8) throw new DecodeError('key', 0, `${key.length} bytes is too short for a trace-row key`);
  const family = key[0];
  if (TRACE_FAMILIES[family] === undefined)
    throw new DecodeError('key', 0, `family 0x${family.toString(16).padStart(2, '0')} is not a trace-row family`);
  const middle = key.subarray(1, key.length - 8);
  let fund;
  try {
    fund = decode('FundRef', middle);
  } catch (err) {
    if (err instanceof DecodeError) throw new DecodeError(`key.fund.${err.path}`, 1 + err.offset, err.reason);
    throw err;
  }
  const position = new DataView(key.buffer, key.byteOffset + key.length - 8, 8).getBigUint64(0, false);
  return { family, fund, position };
}

/** Strict canonical decoding of a trace row's value as its family's row type. Throws DecodeError. */
export function decodeTraceRow(family, value) {
  const type = TRACE_FAMILIES[family];
  if (type === undefined) throw new RangeError(`0x${family.toString(16)} is not a trace-row family`);
  if (!(value instanceof Uint8Array)) throw new DecodeError(type, 0, 'a deletion is not a row');
  return decode(type, value);
}

/** A string naming a fund exactly (the hex of encode(FundRef)), for maps and equality. */
export function fundId(fund) {
  return toHex(encode('FundRef', fund));
}

/** Whether two FundRef values are the same fund. */
export function sameFund(a, b) {
  return fundId(a) === fundId(b);
}
