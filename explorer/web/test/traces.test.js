// Trace proofs (docs/SPEC.md §10.4–§10.9): every vector file of ledger/tests/data/traces (§10.9),
// the JSON form and the bytes, mutations of the valid vectors that reach the checks the files do
// not, and the §10.4 walk over bare rows (the §10.5 worked example, tails, gaps, hops, depth).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseToml } from 'smol-toml';
import {
  DecodeError,
  HOLE,
  INFLOW,
  MAX_TRACE_DEPTH,
  OUTFLOW,
  TraceError,
  blake3,
  checkTrace,
  decodeTraceProof,
  decodeTraceRow,
  encode,
  encodeTraceProof,
  followRows,
  fromHex,
  fundLabel,
  fundToJson,
  genesisFromToml,
  lotterySplit,
  parseTraceProofJson,
  parseTraceRowKey,
  sourcesOfRows,
  toHex,
  traceProofToJson,
  traceResultToJson,
  traceRowKey,
  utf8,
  verifyTrace,
} from '../src/verify/index.js';

const repo = (p) => fileURLToPath(new URL(`../../../${p}`, import.meta.url));
const DIR = repo('ledger/tests/data/traces/');
const DEV = genesisFromToml(parseToml(readFileSync(repo('genesis/dev.toml'), 'utf8')));
const FILES = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();
const load = (name) => JSON.parse(readFileSync(DIR + name, 'utf8'));
const clone = (x) => JSON.parse(JSON.stringify(x));

/** Asserts that the proof is refused with this code at this step; returns the TraceError. */
function refuses(proof, code, at, genesis = DEV) {
  const r = checkTrace(genesis, proof);
  assert.equal(r.ok, false, `expected ${code} at ${at}, but the proof verified`);
  assert.ok(r.error instanceof TraceError);
  assert.deepEqual({ code: r.error.code, at: r.error.at }, { code, at }, r.error.message);
  return r.error;
}

// =============================================================================================
// §10.9 vector files

test('the trace vector folder holds valid and hostile proofs', () => {
  assert.ok(FILES.length >= 25, `${DIR} holds ${FILES.length} vector files, expected at least 25`);
  const kinds = FILES.map((f) => ('ok' in load(f).expect ? 'ok' : 'error'));
  assert.ok(kinds.filter((k) => k === 'ok').length >= 5, 'five valid proofs');
  // Every walk code of §10.8 that a hostile file names is one this verifier can give.
  const codes = new Set(FILES.map((f) => load(f).expect.error?.code).filter(Boolean));
  for (const c of ['trace.malformed', 'trace.order', 'trace.write_set', 'trace.subject', 'trace.gap', 'trace.holes', 'trace.hop', 'trace.record', 'trace.unused'])
    assert.ok(codes.has(c), `a vector for ${c}`);
});

/** §10.4's sums: depth-0 steps total the amount; followed money at depth d totals depth d + 1. */
function checkSums(result) {
  const { steps, sources, amount } = result;
  if (result.direction === 'reverse') {
    assert.equal(steps.length, 0);
    assert.equal(sources.reduce((n, s) => n + s.amount, 0n), amount, 'the sources tile the outflow');
    return;
  }
  assert.equal(sources.length, 0);
  const at = (d, f = () => true) => steps.filter((s) => s.depth === d && f(s.what)).reduce((n, s) => n + s.amount, 0n);
  assert.equal(at(0), amount, 'the depth-0 steps total the subject amount');
  const depth = Math.max(...steps.map((s) => s.depth));
  for (let d = 0; d < depth; d++)
    assert.equal(at(d, (w) => w.kind === 'spent' && w.followed), at(d + 1), `followed money at depth ${d}`);
}

for (const file of FILES) {
  test(`vector ${file}`, () => {
    const v = load(file);
    assert.deepEqual(Object.keys(v).sort(), ['description', 'expect', 'proof']);
    if ('ok' in v.expect) {
      const proof = parseTraceProofJson(v.proof);
      // The bytes and the JSON form are the same value (§10.6).
      const bytes = fromHex(v.expect.bytes);
      assert.deepEqual(decodeTraceProof(bytes), proof, 'decodeTraceProof(bytes) = parseTraceProofJson(json)');
      assert.equal(toHex(encodeTraceProof(proof)), v.expect.bytes, 'encodeTraceProof gives the bytes back');
      assert.deepEqual(traceProofToJson(proof), v.proof, 'traceProofToJson gives the JSON back');
      // From the value, the bytes, the JSON object and the JSON text: one verdict.
      const results = [proof, bytes, v.proof, JSON.stringify(v.proof)].map((p) => verifyTrace(DEV, p));
      for (const r of results.slice(1)) assert.deepEqual(r, results[0]);
      const r = results[0];
      assert.deepEqual(traceResultToJson(r), v.expect.ok);
      checkSums(r);
      // Every proven record: its id, its block, a signer the genesis knows.
      assert.equal(r.asOf, r.checkpoint.height);
      for (const rec of r.records) {
        assert.ok(rec.height <= r.asOf);
        assert.ok(rec.signer !== null, 'the dev chain signers are genesis members');
      }
    } else {
      const { code, at } = v.expect.error;
      refuses(v.proof, code, at);
      if (code !== 'trace.malformed') {
        // The same proof as bytes gives the same verdict.
        const bytes = encodeTraceProof(parseTraceProofJson(v.proof));
        assert.deepEqual(decodeTraceProof(bytes), parseTraceProofJson(v.proof));
        refuses(bytes, code, at);
      }
    }
  });
}

// =============================================================================================
// Mutations of the valid vectors

const TWO_HOPS = load('valid-two-hops.json');
const REFUNDED = load('valid-refunded.json');

test('JSON form and bytes: strictness is trace.malformed at proof', () => {
  const cases = [
    ['unknown top-level field', (p) => (p.extra = 1)],
    ['missing format', (p) => delete p.format],
    ['direction spelt as the variant', (p) => (p.direction = 'Forward')],
    ['unknown direction', (p) => (p.direction = 'sideways')],
    ['subject one byte short', (p) => (p.subject = p.subject.slice(2))],
    ['unknown field in a row', (p) => (p.rows[0].extra = 0)],
    ['value not hex', (p) => (p.rows[0].proof.value = 'zz')],
    ['a row value left out (hex or null, §10.6)', (p) => delete p.rows[0].proof.value],
    ['block index past u32', (p) => (p.rows[0].block = 2 ** 32)],
    ['integer ≥ 2^53', (p) => (p.rows[0].proof.index = 2 ** 53)],
    ['records not an array', (p) => (p.records = {})],
  ];
  for (const [what, mutate] of cases) {
    const p = clone(TWO_HOPS.proof);
    mutate(p);
    const r = checkTrace(DEV, p);
    assert.equal(r.ok, false, what);
    assert.deepEqual([r.error.code, r.error.at], ['trace.malformed', 'proof'], `${what}: ${r.error.message}`);
  }
  for (const x of [null, [], 'not json', '[]', 42, {}]) refuses(x, 'trace.malformed', 'proof');
  const bytes = fromHex(TWO_HOPS.expect.bytes);
  refuses(Uint8Array.from([...bytes, 0]), 'trace.malformed', 'proof');
  refuses(bytes.slice(0, -1), 'trace.malformed', 'proof');
  const badDirection = bytes.slice();
  badDirection[0] = 2; // Direction has two variants
  refuses(badDirection, 'trace.malformed', 'proof');
  // Upper-case hex reads as the same proof; a deletion (value null) is a value of the JSON form.
  const upper = clone(TWO_HOPS.proof);
  upper.subject = upper.subject.toUpperCase();
  assert.deepEqual(parseTraceProofJson(upper), parseTraceProofJson(TWO_HOPS.proof));
  const deletion = clone(TWO_HOPS.proof);
  deletion.rows[0].proof.value = null;
  assert.equal(parseTraceProofJson(deletion).rows[0].proof.value, null);
  refuses(deletion, 'trace.write_set', 'rows[0]');
});

test('step 1: no blocks, and validator steps only below the newest block', () => {
  const none = clone(TWO_HOPS.proof);
  none.blocks = [];
  refuses(none, 'trace.order', 'blocks');
  // Without the newest block (height 12) the newest is 8, and the validator step of height 9 is
  // out of range.
  const older = clone(TWO_HOPS.proof);
  older.blocks.pop();
  refuses(older, 'bundle.order', 'validators[0]');
});

test('steps 2–4: block indexes, repeated rows, records in the wrong block', () => {
  const rowBlock = clone(TWO_HOPS.proof);
  rowBlock.rows[2].block = rowBlock.blocks.length;
  refuses(rowBlock, 'trace.order', 'rows[2]');
  const twice = clone(TWO_HOPS.proof);
  twice.rows.push(clone(twice.rows[4]));
  refuses(twice, 'trace.row', `rows[${twice.rows.length - 1}]`);
  const recordBlock = clone(TWO_HOPS.proof);
  recordBlock.records[3].block = 99;
  refuses(recordBlock, 'trace.order', 'records[3]');
  // A record cited under another block: its proof is for another log size.
  const otherBlock = clone(TWO_HOPS.proof);
  otherBlock.records[1].block = otherBlock.blocks.length - 1;
  refuses(otherBlock, 'bundle.proof_size', 'records[1]');
  // The same duplicate as the vector, the other way round: the second copy is the one refused.
  const dup = clone(TWO_HOPS.proof);
  dup.records.push(clone(dup.records[0]));
  refuses(dup, 'trace.order', `records[${dup.records.length - 1}]`);
});

test('step 5: a donation has no outflow row to trace back', () => {
  const back = clone(TWO_HOPS.proof);
  back.direction = 'reverse';
  const err = refuses(back, 'trace.subject', 'subject');
  assert.match(err.message, /0 outflow rows/);
});

test('step 8: a genuine record the trace does not use', () => {
  // valid-refunded proves P's disbursement of height 12 (its last block, as in valid-two-hops).
  const extra = clone(TWO_HOPS.proof);
  const last = REFUNDED.proof.blocks.length - 1;
  const r = clone(REFUNDED.proof.records.find((x) => x.block === last));
  r.block = extra.blocks.length - 1;
  extra.records.push(r);
  refuses(extra, 'trace.unused', `records[${extra.records.length - 1}]`);
});

test('the result: funds, labels and the records with their blocks', () => {
  const r = verifyTrace(DEV, TWO_HOPS.proof);
  assert.equal(r.direction, 'forward');
  assert.equal(r.asOf, 12n);
  assert.deepEqual(r.records.map((x) => toHex(x.id)), TWO_HOPS.expect.ok.records);
  for (const x of r.records) assert.deepEqual(x.id, blake3(encode('SignedRecord', x.record)));
  const federation = r.fund;
  assert.equal(fundLabel(federation), `general:${toHex(federation.address)}`);
  assert.deepEqual(fundToJson({ kind: 'Project', project: 'P-1' }), { Project: 'P-1' });
  assert.equal(fundToJson({ kind: 'WelfarePool' }), 'WelfarePool');
  assert.equal(fundLabel({ kind: 'Project', project: 'P-1' }), 'project:P-1');
  assert.equal(fundLabel({ kind: 'WelfarePool' }), 'welfare-pool');
  // The steps name the dev chain's projects, and at most MAX_TRACE_DEPTH hops deep.
  assert.ok(r.steps.every((s) => s.depth <= MAX_TRACE_DEPTH));
});

// =============================================================================================
// §9.1 row keys, §11 lottery split

test('trace-row keys: family ‖ canonical FundRef ‖ BE64(position), strictly', () => {
  const general = { kind: 'General', address: new Uint8Array(20).fill(4) };
  const p = { kind: 'Project', project: 'SZRC-TRACE-P' };
  for (const fund of [general, p, { kind: 'WelfarePool' }])
    for (const family of [INFLOW, OUTFLOW, HOLE]) {
      const key = traceRowKey(family, fund, 45000n);
      assert.deepEqual(parseTraceRowKey(key), { family, fund, position: 45000n });
    }
  assert.equal(toHex(traceRowKey(INFLOW, { kind: 'WelfarePool' }, 0n)), '20020000000000000000000000');
  const key = traceRowKey(OUTFLOW, p, 10000n);
  const bad = [
    ['state-table family', Uint8Array.from([0x05, ...key.subarray(1)])],
    ['too short', key.subarray(0, 12)],
    ['a byte more in the fund', Uint8Array.from([...key.subarray(0, key.length - 8), 0, ...key.subarray(key.length - 8)])],
    ['a byte less in the fund', Uint8Array.from([...key.subarray(0, key.length - 9), ...key.subarray(key.length - 8)])],
    ['unknown FundRef variant', Uint8Array.from([0x20, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])],
    ['no position', key.subarray(0, key.length - 8)],
  ];
  for (const [what, k] of bad) assert.throws(() => parseTraceRowKey(k), DecodeError, what);
  // Row values decode strictly as their family's row; a deletion is no row.
  const hole = { record: blake3(utf8('refund')), end: 150n };
  assert.deepEqual(decodeTraceRow(HOLE, encode('HoleRow', hole)), hole);
  assert.throws(() => decodeTraceRow(HOLE, Uint8Array.from([...encode('HoleRow', hole), 0])), DecodeError);
  assert.throws(() => decodeTraceRow(INFLOW, encode('HoleRow', hole)), DecodeError);
  assert.throws(() => decodeTraceRow(OUTFLOW, null), DecodeError);
});

test('lottery split (§11): the SSQ example and one fen', () => {
  const ssq = DEV.games.find((g) => g.id === 'SSQ');
  assert.deepEqual(lotterySplit(1000000n, ssq), { prize: 510000n, fee: 130000n, welfare: 360000n, central: 180000n, local: 180000n });
  assert.deepEqual(lotterySplit(1n, ssq), { prize: 0n, fee: 0n, welfare: 1n, central: 0n, local: 1n });
});

// =============================================================================================
// §10.4 over bare rows

const id = (label) => blake3(utf8(label));
const hex = (label) => toHex(id(label));
const F = { kind: 'General', address: new Uint8Array(20).fill(0x0f) };
const P = { kind: 'Project', project: 'P' };
const inflow = (fund, position, label, amount, kind = 'Donation') => ({
  family: INFLOW, fund, position, row: { record: id(label), kind: { kind }, amount },
});
const outflow = (fund, position, label, end, amount, kind = 'Disbursement', to = null) => ({
  family: OUTFLOW, fund, position, row: { record: id(label), kind: { kind }, end, amount, to },
});
const hole = (fund, position, label, end) => ({ family: HOLE, fund, position, row: { record: id(label), end } });

/** Steps as compact tuples: [depth, from, to, amount, what]. */
const compact = (steps) =>
  steps.map((s) => {
    const w = s.what;
    const what =
      w.kind === 'spent' ? `spent ${toHex(w.outflow).slice(0, 8)}${w.followed ? ` → ${w.to}` : ''}` : w.kind === 'refunded' ? `refunded ${toHex(w.refund).slice(0, 8)}` : w.kind;
    return [s.depth, Number(s.from), Number(s.to), Number(s.amount), what];
  });
const short = (label) => hex(label).slice(0, 8);

// The worked example of §10.5.
const EXAMPLE = [
  inflow(F, 0n, 'D1', 100n),
  inflow(F, 100n, 'D2', 50n),
  inflow(F, 150n, 'D3', 30n),
  outflow(F, 0n, 'X', 60n, 60n),
  hole(F, 130n, 'R', 150n),
  outflow(F, 60n, 'G', 160n, 80n, 'Grant', ['P', 500n]),
  inflow(P, 500n, 'G', 80n, 'Grant'),
];

test('§10.5 worked example, forward', () => {
  assert.deepEqual(compact(followRows(EXAMPLE, F, 0n, 100n).steps), [
    [0, 0, 60, 60, `spent ${short('X')}`],
    [0, 60, 100, 40, `spent ${short('G')} → P`],
    [1, 500, 540, 40, 'not_shown_spent'],
  ]);
  // D2: the hole [130, 150) lies inside G's range, so it is a refund inside G's piece, and G's
  // 30 land at offset 40 on P.
  assert.deepEqual(compact(followRows(EXAMPLE, F, 100n, 150n).steps), [
    [0, 130, 150, 20, `refunded ${short('R')}`],
    [0, 100, 150, 30, `spent ${short('G')} → P`],
    [1, 540, 570, 30, 'not_shown_spent'],
  ]);
  // D3: G takes [150, 160) = 10 at offset (150 − 60) − 20 = 70; [160, 180) is still in F.
  const d3 = followRows(EXAMPLE, F, 150n, 180n);
  assert.deepEqual(compact(d3.steps), [
    [0, 150, 160, 10, `spent ${short('G')} → P`],
    [1, 570, 580, 10, 'not_shown_spent'],
    [0, 160, 180, 20, 'not_shown_spent'],
  ]);
  // The rows read: G's outflow, its hole, and its landing row on P; not X, D1–D3.
  assert.deepEqual([...d3.used].sort(), [4, 5, 6]);
});

test('§10.5 worked example, back: what G drew on', () => {
  const { sources, used } = sourcesOfRows(EXAMPLE, F, 60n);
  assert.deepEqual(
    sources.map((s) => [toHex(s.record), s.sourceKind, Number(s.from), Number(s.to), Number(s.amount)]),
    [
      [hex('D1'), 'Donation', 60, 100, 40],
      [hex('D2'), 'Donation', 100, 150, 30],
      [hex('D3'), 'Donation', 150, 160, 10],
    ],
  );
  assert.deepEqual([...used].sort(), [0, 1, 2, 4]);
  // Without D2 the inflows do not tile G's range; without the hole, G's holes do not add up.
  assert.throws(() => sourcesOfRows(EXAMPLE.filter((_, i) => i !== 1), F, 60n), (e) => e.code === 'trace.gap');
  assert.throws(() => sourcesOfRows(EXAMPLE.filter((_, i) => i !== 4), F, 60n), (e) => e.code === 'trace.holes');
  // Two inflows that overlap.
  const overlapping = [...EXAMPLE, inflow(F, 120n, 'D9', 10n)];
  assert.throws(() => sourcesOfRows(overlapping, F, 60n), (e) => e.code === 'trace.overlap');
});

test('the walk: tails interleave refunds and money not shown spent, in axis order', () => {
  const rows = [inflow(F, 0n, 'D', 100n), hole(F, 20n, 'R1', 30n), hole(F, 50n, 'R2', 60n)];
  assert.deepEqual(compact(followRows(rows, F, 0n, 100n).steps), [
    [0, 0, 20, 20, 'not_shown_spent'],
    [0, 20, 30, 10, `refunded ${short('R1')}`],
    [0, 30, 50, 20, 'not_shown_spent'],
    [0, 50, 60, 10, `refunded ${short('R2')}`],
    [0, 60, 100, 40, 'not_shown_spent'],
  ]);
});

test('the walk: a gap must be holes; crossing holes, overlaps and missing rows break it', () => {
  // [0, 30) before the first outflow is a refund hole: refunded, not a gap.
  const refundedFirst = [hole(F, 0n, 'R', 30n), outflow(F, 30n, 'X', 50n, 20n)];
  assert.deepEqual(compact(followRows(refundedFirst, F, 0n, 50n).steps), [
    [0, 0, 30, 30, `refunded ${short('R')}`],
    [0, 30, 50, 20, `spent ${short('X')}`],
  ]);
  const code = (rows, from, to) => {
    try {
      followRows(rows, F, from, to);
      return 'ok';
    } catch (err) {
      assert.ok(err instanceof TraceError);
      assert.equal(err.at, 'trace');
      return err.code;
    }
  };
  assert.equal(code([outflow(F, 30n, 'X', 50n, 20n)], 0n, 50n), 'trace.gap');
  assert.equal(code([hole(F, 0n, 'R', 20n), outflow(F, 30n, 'X', 50n, 20n)], 0n, 50n), 'trace.gap');
  // A hole crossing an outflow's edge, a hole missing inside, two outflows overlapping.
  assert.equal(code([hole(F, 40n, 'R', 60n), outflow(F, 0n, 'X', 50n, 40n)], 0n, 50n), 'trace.holes');
  assert.equal(code([outflow(F, 0n, 'X', 50n, 40n)], 0n, 50n), 'trace.holes');
  assert.equal(code([outflow(F, 0n, 'X', 50n, 50n), outflow(F, 40n, 'Y', 60n, 20n)], 0n, 60n), 'trace.overlap');
  assert.equal(code([hole(F, 10n, 'R1', 30n), hole(F, 20n, 'R2', 40n)], 0n, 50n), 'trace.overlap');
});

test('the walk: a hop lands on the inflow row its outflow wrote, or fails', () => {
  const grant = outflow(F, 0n, 'G', 50n, 50n, 'Grant', ['P', 100n]);
  const code = (landing) => {
    try {
      followRows([grant, ...landing], F, 10n, 30n);
      return 'ok';
    } catch (err) {
      return err.code;
    }
  };
  assert.equal(code([inflow(P, 100n, 'G', 50n, 'Grant')]), 'ok');
  assert.deepEqual(compact(followRows([grant, inflow(P, 100n, 'G', 50n, 'Grant')], F, 10n, 30n).steps), [
    [0, 10, 30, 20, `spent ${short('G')} → P`],
    [1, 110, 130, 20, 'not_shown_spent'],
  ]);
  assert.equal(code([]), 'trace.hop');
  assert.equal(code([inflow(P, 101n, 'G', 50n, 'Grant')]), 'trace.hop');
  assert.equal(code([inflow(P, 100n, 'A', 50n, 'Grant')]), 'trace.hop');
  assert.equal(code([inflow(P, 100n, 'G', 49n, 'Grant')]), 'trace.hop');
  assert.equal(code([inflow(P, 100n, 'G', 50n, 'WelfareAllocation')]), 'trace.hop');
  // A disbursement never hops, even with a destination.
  const odd = outflow(F, 0n, 'X', 50n, 50n, 'Disbursement', ['P', 100n]);
  assert.throws(() => followRows([odd, inflow(P, 100n, 'X', 50n, 'Grant')], F, 0n, 50n), (e) => e.code === 'trace.hop');
});

test(`the walk follows at most ${MAX_TRACE_DEPTH} hops`, () => {
  // P0 → P1 → … → P17, each project granting its 10 fen on to the next.
  const fund = (i) => ({ kind: 'Project', project: `P${i}` });
  const rows = [inflow(fund(0), 0n, 'D', 10n)];
  for (let i = 0; i <= MAX_TRACE_DEPTH + 1; i++) {
    rows.push(outflow(fund(i), 0n, `G${i}`, 10n, 10n, 'Grant', [`P${i + 1}`, 0n]));
    rows.push(inflow(fund(i + 1), 0n, `G${i}`, 10n, 'Grant'));
  }
  const { steps } = followRows(rows, fund(0), 0n, 10n);
  assert.equal(steps.length, MAX_TRACE_DEPTH + 1);
  steps.forEach((s, d) => {
    assert.equal(s.depth, d);
    assert.equal(s.what.kind, 'spent');
    assert.equal(s.what.followed, d < MAX_TRACE_DEPTH);
    assert.equal(s.what.to, `P${d + 1}`);
  });
});
