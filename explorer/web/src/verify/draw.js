// Verifiable draws (docs/SPEC.md §15), written from the spec: seed commitments, the entry-set root,
// the beacon and the winners, so the page recomputes a draw's outcome itself. Checked against
// ledger/tests/data/draws/vectors.json, as the Rust code is.

import { concat, equalBytes, le32, le64, toHex, utf8 } from './bytes.js';
import { blake3, commitment } from './crypto.js';
import { ledgerMerkle } from './merkle.js';

const ZERO = new Uint8Array([0]);
const TWO64 = 1n << 64n;

function lengthPrefixed(str) {
  const b = utf8(str);
  return concat(le64(b.length), b);
}

/** §15.2: blake3("shanlian/draw-seed/v1" ‖ 0x00 ‖ LE64(len(draw)) ‖ draw ‖ seed). */
export function drawSeedCommitment(draw, seed) {
  if (!(seed instanceof Uint8Array) || seed.length !== 32) throw new TypeError('seed: 32 bytes');
  return blake3(utf8('shanlian/draw-seed/v1'), ZERO, lengthPrefixed(draw), seed);
}

/** §15.1: entry i's commitment is the §5 salted commitment of the entry. */
export const drawEntryCommitment = commitment;

/** §15.1: the entry-set root over the entries' commitments, in order. */
export function drawEntryRoot(commitments) {
  return ledgerMerkle.root(commitments);
}

/** §15.1: does `entryCommitment` sit at `index` of the entry set (`size`, `root`), by `path`? */
export function drawEntryIncluded(entryCommitment, index, size, path, root) {
  try {
    return ledgerMerkle.verifyInclusion(ledgerMerkle.leafHash(entryCommitment), index, size, path, root) === true;
  } catch {
    return false;
  }
}

/**
 * §15.3 the beacon. `revealed` is [{ member: Uint8Array(20), seed: Uint8Array(32) }], any order.
 */
export function drawBeacon({ draw, entriesRoot, entries, winners, blockHash, revealed }) {
  const sorted = [...revealed].sort((a, b) => {
    for (let i = 0; i < 20; i++) if (a.member[i] !== b.member[i]) return a.member[i] - b.member[i];
    return 0;
  });
  const parts = [
    utf8('shanlian/draw-beacon/v1'),
    ZERO,
    lengthPrefixed(draw),
    entriesRoot,
    le64(BigInt(entries)),
    le32(winners),
    blockHash,
    le32(sorted.length),
  ];
  for (const r of sorted) parts.push(r.member, r.seed);
  return blake3(...parts);
}

/** §15.3 the winners: a partial Fisher–Yates shuffle driven by the beacon's stream (BigInt indices). */
export function drawWinners(beacon, entries, winners) {
  const n = BigInt(entries);
  const k = BigInt(winners);
  if (n === 0n || k > n) return [];
  let counter = 0n;
  const next = () => {
    const out = blake3(beacon, le64(counter));
    counter += 1n;
    let x = 0n;
    for (let i = 7; i >= 0; i--) x = (x << 8n) | BigInt(out[i]);
    return x;
  };
  const uniform = (m) => {
    const bound = TWO64 - (TWO64 % m);
    for (;;) {
      const x = next();
      if (x < bound) return x % m;
    }
  };
  const moved = new Map();
  const result = [];
  for (let i = 0n; i < k; i++) {
    const j = i + uniform(n - i);
    const ai = moved.has(i) ? moved.get(i) : i;
    const aj = moved.has(j) ? moved.get(j) : j;
    moved.set(i, aj);
    moved.set(j, ai);
    result.push(aj);
  }
  return result;
}

/**
 * Recomputes a settled draw from what the chain shows and compares with the stated outcome.
 * Returns { ok, beacon, winners, problems[] }.
 */
export function recomputeDraw({ draw, entriesRoot, entries, winners, blockHash, seeds, statedWinners, statedBeacon }) {
  const problems = [];
  const revealed = [];
  for (const s of seeds) {
    if (s.seed == null) continue;
    if (!equalBytes(drawSeedCommitment(draw, s.seed), s.commitment))
      problems.push(`the seed revealed by ${toHex(s.member)} does not match its commitment`);
    revealed.push({ member: s.member, seed: s.seed });
  }
  const beacon = drawBeacon({ draw, entriesRoot, entries, winners, blockHash, revealed });
  const computed = drawWinners(beacon, entries, winners);
  if (statedBeacon && !equalBytes(beacon, statedBeacon)) problems.push('the beacon differs from the stated one');
  const same =
    computed.length === statedWinners.length && computed.every((w, i) => w === BigInt(statedWinners[i]));
  if (!same) problems.push('the winners differ from the stated ones');
  return { ok: problems.length === 0, beacon, winners: computed, problems };
}
