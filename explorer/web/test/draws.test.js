// Verifiable draws (docs/SPEC.md §15): the JavaScript implementation against the vectors the Rust
// tests write and check (ledger/tests/data/draws/vectors.json), and the checks an entrant and the
// page make — a tampered seed, a swapped entry, stated winners that are not the computed ones.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  drawBeacon,
  drawEntryCommitment,
  drawEntryIncluded,
  drawEntryRoot,
  drawSeedCommitment,
  drawWinners,
  ledgerMerkle,
  recomputeDraw,
} from '../src/verify/index.js';
import { fromHex, toHex } from '../src/verify/bytes.js';
import { blake3 } from '../src/verify/crypto.js';

const FILE = fileURLToPath(new URL('../../../ledger/tests/data/draws/vectors.json', import.meta.url));
const { cases } = JSON.parse(readFileSync(FILE, 'utf8'));
const utf8 = (s) => new TextEncoder().encode(s);
const saltOf = (i) => blake3(utf8(`salt ${i}`));

test('the vector file has the cases the spec describes', () => {
  assert.ok(cases.length >= 4);
  assert.equal(cases[0].draw, 'FC-DEMO-1');
});

for (const c of cases) {
  test(`vector ${c.draw}: commitments, root, beacon, winners`, () => {
    for (const [i, e] of c.entries.entries()) {
      assert.equal(toHex(saltOf(i)), e.salt);
      assert.equal(toHex(drawEntryCommitment(e.entry, fromHex(e.salt))), c.entry_commitments[i]);
    }
    // The whole set, rebuilt from the vector file's recipe.
    const all = [];
    for (let i = 0; i < c.entries_count; i++)
      all.push(drawEntryCommitment(`TICKET-${String(i).padStart(6, '0')}`, saltOf(i)));
    assert.equal(toHex(drawEntryRoot(all)), c.entries_root);
    const revealed = c.revealed.map((r) => ({ member: fromHex(r.member), seed: fromHex(r.seed) }));
    for (const r of c.revealed)
      assert.equal(toHex(drawSeedCommitment(c.draw, fromHex(r.seed))), r.seed_commitment);
    const beacon = drawBeacon({
      draw: c.draw,
      entriesRoot: fromHex(c.entries_root),
      entries: c.entries_count,
      winners: c.winners_count,
      blockHash: fromHex(c.block_hash),
      revealed,
    });
    assert.equal(toHex(beacon), c.beacon);
    assert.deepEqual(
      drawWinners(beacon, c.entries_count, c.winners_count).map(Number),
      c.winners,
    );
    // Reveal order does not matter.
    const again = drawBeacon({
      draw: c.draw,
      entriesRoot: fromHex(c.entries_root),
      entries: c.entries_count,
      winners: c.winners_count,
      blockHash: fromHex(c.block_hash),
      revealed: [...revealed].reverse(),
    });
    assert.equal(toHex(again), c.beacon);
  });
}

test('recomputing a settled draw: right, a tampered seed, wrong winners', () => {
  const c = cases[0];
  const seeds = c.revealed.map((r) => ({
    member: fromHex(r.member),
    commitment: fromHex(r.seed_commitment),
    seed: fromHex(r.seed),
  }));
  const args = {
    draw: c.draw,
    entriesRoot: fromHex(c.entries_root),
    entries: c.entries_count,
    winners: c.winners_count,
    blockHash: fromHex(c.block_hash),
    seeds,
    statedWinners: c.winners,
    statedBeacon: fromHex(c.beacon),
  };
  assert.equal(recomputeDraw(args).ok, true);
  const tampered = seeds.map((s, i) => (i === 0 ? { ...s, seed: new Uint8Array(32).fill(9) } : s));
  const r = recomputeDraw({ ...args, seeds: tampered });
  assert.equal(r.ok, false);
  assert.match(r.problems.join('; '), /does not match its commitment/);
  assert.equal(recomputeDraw({ ...args, statedWinners: [...c.winners].reverse() }).ok, false);
  // A withheld seed (left out) gives another outcome than the stated one.
  const withheld = seeds.map((s, i) => (i === 2 ? { ...s, seed: null } : s));
  assert.equal(recomputeDraw({ ...args, seeds: withheld }).ok, false);
});

test('an entrant checks its entry; a swapped entry fails', () => {
  const c = cases[1];
  const all = [];
  for (let i = 0; i < c.entries_count; i++)
    all.push(drawEntryCommitment(`TICKET-${String(i).padStart(6, '0')}`, saltOf(i)));
  const root = fromHex(c.entries_root);
  for (const i of [0, 1, 511, 512, 999]) {
    const path = ledgerMerkle.inclusionPath(all, i);
    assert.equal(drawEntryIncluded(all[i], i, c.entries_count, path, root), true, `entry ${i}`);
    const other = drawEntryCommitment('someone else', saltOf(i));
    assert.equal(drawEntryIncluded(other, i, c.entries_count, path, root), false);
    assert.equal(drawEntryIncluded(all[i], i + 1 < c.entries_count ? i + 1 : i - 1, c.entries_count, path, root), false);
  }
});

test('winners are distinct, in range, and uniform enough', () => {
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 4000; i++) {
    const b = blake3(utf8(`b${i}`));
    const w = drawWinners(b, 4, 1);
    counts[Number(w[0])] += 1;
    const all = drawWinners(b, 10, 10).map(Number).sort((x, y) => x - y);
    assert.deepEqual(all, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  }
  for (const n of counts) assert.ok(n > 850 && n < 1150, counts.join(','));
  assert.deepEqual(drawWinners(new Uint8Array(32), 3, 4), []);
});
