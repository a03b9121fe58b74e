// Money, time, ratios and the ledger's enums, as the page shows them.

import { t, enumLabel, lang } from './i18n.js';
import { toHex } from '../verify/bytes.js';

/** Integer fen (Number, BigInt or numeric string) → "¥1,234.56", exactly (no floating point). */
export function yuan(fen) {
  if (fen === null || fen === undefined) return '—';
  let v = BigInt(fen);
  const neg = v < 0n;
  if (neg) v = -v;
  const int = (v / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const frac = (v % 100n).toString().padStart(2, '0');
  return `${neg ? '−' : ''}¥${int}.${frac}`;
}

/** Fen as a Number of yuan for charts (axis values only; labels use yuan()). */
export const yuanNumber = (fen) => Number(fen) / 100;

const pad = (n) => String(n).padStart(2, '0');

/** Milliseconds (Number/BigInt) or an API Time { ms, utc } → "2026-01-01 00:00:03 UTC". */
export function utc(time) {
  if (time === null || time === undefined) return '—';
  const ms = typeof time === 'object' && 'ms' in time ? time.ms : time;
  const d = new Date(Number(ms));
  if (Number.isNaN(d.getTime())) return '—';
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;
}

/** The date part only, UTC: "2026-01-01". */
export function utcDate(time) {
  return utc(time).slice(0, 10);
}

/** Basis points → "58.06%". */
export function pct(bp) {
  if (bp === null || bp === undefined) return '—';
  const v = Number(bp);
  return `${(v / 100).toFixed(2)}%`;
}

/** A fund as the API writes it ({ General: addr } | { Project: id } | "WelfarePool") or as the
 *  verifier decodes it ({ kind, address | project }) → { kind, id }. */
export function fundOf(f) {
  if (f === 'WelfarePool' || f?.kind === 'WelfarePool') return { kind: 'WelfarePool', id: null };
  if (f?.kind === 'General') return { kind: 'General', id: f.address instanceof Uint8Array ? toHex(f.address) : f.address };
  if (f?.kind === 'Project') return { kind: 'Project', id: f.project };
  if (f && 'General' in f) return { kind: 'General', id: f.General };
  if (f && 'Project' in f) return { kind: 'Project', id: f.Project };
  return { kind: 'Unknown', id: null };
}

/** The number of a count with its unit, e.g. "3 个" / "3". */
export function count(n) {
  return Number(n).toLocaleString(lang() === 'zh' ? 'zh-CN' : 'en-US');
}

/** An enum value (decoded { kind } or API string) → its label in the current language. */
export function kindLabel(family, v) {
  const kind = typeof v === 'string' ? v : v?.kind ?? (v && Object.keys(v)[0]);
  return enumLabel(family, kind);
}

/** "pass" / "fail" / "not_applicable" verdicts. */
export function verdictLabel(v) {
  return t(`verdict.${v}`);
}
