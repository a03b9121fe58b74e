// Trace proofs: docs/SPEC.md §10.6 (structures, JSON form, canonical bytes), §10.7 (verification,
// in order), §10.4 (the walk: forward `follow` and reverse `sources`) and §10.8 (codes).
//
//   parseTraceProofJson(obj)        JSON form (object or text) → proof value
//   traceProofToJson(proof)         proof value → JSON form
//   decodeTraceProof(bytes)         canonical bytes → proof value
//   encodeTraceProof(proof)         proof value → canonical bytes
//   verifyTrace(genesis, p)         §10.7; throws TraceError { code, at } or returns the result
//   checkTrace(genesis, p)          the same as { ok: true, value } | { ok: false, error }
//   traceResultToJson(result)       the result in the JSON shape of the §10.9 vectors (`expect.ok`)
//   followRows / sourcesOfRows      the §10.4 walk over bare rows (no proofs), for tools and tests
//
// The certified blocks, validator steps and proven records are checked by the receipt-bundle
// steps of §13.3 (bundle.js `bundleSteps`: C, B, R, V); their refusals keep their own codes
// (`bundle.*`, `certificate.*`) and step paths. Amounts and positions are BigInt throughout.

import { equalBytes, toHex } from './bytes.js';
import { decode, DecodeError, encode, EncodeError } from './codec.js';
import { SCHEMA } from './schema.js';
import { blake3, verifyWriteSetProof } from './crypto.js';
import { ProofError } from './merkle.js';
import { BundleError, bundleSteps } from './bundle.js';
import { fromJsonFields, isPlainObject, JsonFormError, parseJsonText, toJson } from './jsonform.js';
import { decodeTraceRow, fundId, HOLE, INFLOW, OUTFLOW, parseTraceRowKey, sameFund } from './rows.js';
import { lotterySplit } from './lottery.js';

export const TRACE_FORMAT = 'shanlian-trace-proof/1';

/** The walk follows a hop only below this depth (§10.4 step 4); at it a step says "not followed". */
export const MAX_TRACE_DEPTH = 16;

/**
 * A refused trace proof: `code` is a §10.8 code ('trace.*', or a §13.4 'bundle.*' /
 * 'certificate.*' code from the steps shared with receipt bundles), `at` the step: 'proof',
 * 'validators[i]…', 'blocks[i]', 'rows[i]', 'records[i]', 'subject', 'trace', or
 * 'trace: outflow <id> of <fund>'. `detail` is a human-readable reason (not part of the contract).
 */
export class TraceError extends Error {
  constructor(code, at, detail = '') {
    super(`${code} at ${at}${detail ? `: ${detail}` : ''}`);
    this.name = 'TraceError';
    this.code = code;
    this.at = at;
    this.detail = detail;
  }
}

const malformed = (detail) => new TraceError('trace.malformed', 'proof', detail);

// =============================================================================================
// §10.6 canonical bytes and JSON form

/** Strict canonical decoding of encode(TraceProof); any refusal is trace.malformed at proof. */
export function decodeTraceProof(bytes) {
  if (!(bytes instanceof Uint8Array)) throw malformed('expected the proof bytes as a Uint8Array');
  try {
    return decode('TraceProof', bytes);
  } catch (err) {
    if (err instanceof DecodeError) throw malformed(err.message);
    throw err;
  }
}

/** encode(TraceProof) (§10.6). Throws EncodeError for a value of the wrong shape. */
export function encodeTraceProof(proof) {
  return encode('TraceProof', proof);
}

/**
 * The JSON form of §10.6 (a parsed JSON object, or the JSON text) as a proof value: `format`
 * "shanlian-trace-proof/1", `direction` "forward" or "reverse", the rest with §13.2's rules (a
 * WriteSetProof's `value` is hex or null). Strict as parseBundleJson; any refusal is
 * trace.malformed at `proof`.
 */
export function parseTraceProofJson(obj) {
  try {
    if (typeof obj === 'string') obj = parseJsonText(obj);
    if (!isPlainObject(obj)) throw malformed('expected a JSON object');
    if (obj.format !== TRACE_FORMAT) throw malformed(`format must be ${JSON.stringify(TRACE_FORMAT)}`);
    return fromJsonFields(SCHEMA.TraceProof.struct, obj, '', ['format']);
  } catch (err) {
    if (err instanceof JsonFormError) throw malformed(err.message);
    throw err;
  }
}

/** A proof value in the JSON form of §10.6 (an object for JSON.stringify). */
export function traceProofToJson(proof) {
  return { format: TRACE_FORMAT, ...toJson('TraceProof', proof) };
}

/** Any accepted input (value, bytes, JSON object or text) → a private, normalised proof value. */
function proofValue(proof) {
  if (proof instanceof Uint8Array) return decodeTraceProof(proof);
  if (typeof proof === 'string' || (isPlainObject(proof) && 'format' in proof)) return parseTraceProofJson(proof);
  // A value: normalised through its canonical bytes (Numbers → BigInt, undefined → null, a
  // private copy), which also refuses a value of the wrong shape.
  let bytes;
  try {
    bytes = encodeTraceProof(proof);
  } catch (err) {
    if (err instanceof EncodeError) throw malformed(err.message);
    throw err;
  }
  return decodeTraceProof(bytes);
}

// =============================================================================================
// Funds as the result and the step paths name them

/** A fund in the JSON of §10.9: {"General": <address hex>}, {"Project": <id>} or "WelfarePool". */
export function fundToJson(fund) {
  switch (fund.kind) {
    case 'General':
      return { General: toHex(fund.address) };
    case 'Project':
      return { Project: fund.project };
    default:
      return 'WelfarePool';
  }
}

/**
 * A fund as step 7's `at` names it (§10.7): `general:<address hex>`, `project:<id>` or
 * `welfare-pool`.
 */
export function fundLabel(fund) {
  switch (fund.kind) {
    case 'General':
      return `general:${toHex(fund.address)}`;
    case 'Project':
      return `project:${fund.project}`;
    default:
      return 'welfare-pool';
  }
}

const project = (id) => ({ kind: 'Project', project: id });
const WELFARE_POOL = Object.freeze({ kind: 'WelfarePool' });

// =============================================================================================
// Which payload wrote which row (§10.7 steps 5 and 7)

/**
 * Whether `payload` (a decoded Payload) is the one that wrote the inflow row `row` (SourceRow) into
 * `fund`: a RecordDonation an inflow Donation of its amount into its fund; a TransferGrant an
 * inflow Grant of its amount into Project(to); an AllocateWelfareFund to a project an inflow
 * WelfareAllocation of its amount into it; a RecordLotterySales an inflow LotterySales of its
 * local welfare share (§11, with the game of the genesis) into the welfare pool.
 */
function wroteInflow(payload, fund, row, genesis) {
  const is = (kind, amount, into) => row.kind.kind === kind && row.amount === BigInt(amount) && sameFund(fund, into);
  switch (payload.kind) {
    case 'RecordDonation':
      return is('Donation', payload.amount, payload.fund);
    case 'TransferGrant':
      return is('Grant', payload.amount, project(payload.to));
    case 'AllocateWelfareFund':
      return payload.recipient.kind === 'Project' && is('WelfareAllocation', payload.amount, project(payload.recipient.project));
    case 'RecordLotterySales': {
      const game = genesis.games.find((g) => g.id === payload.game);
      if (game === undefined) return false;
      const { local } = lotterySplit(payload.sales, game);
      return local > 0n && is('LotterySales', local, WELFARE_POOL);
    }
    default:
      return false;
  }
}

/**
 * Whether `payload` wrote the outflow row `row` (OutflowRow) of `fund`: kind, source fund, amount
 * and destination project. A RecordDisbursement an outflow Disbursement of its amount from its
 * fund (no destination); a TransferGrant an outflow Grant from `from` to `to`; an
 * AllocateWelfareFund an outflow WelfareAllocation from the welfare pool, to its project (or to no
 * project for a programme).
 */
function wroteOutflow(payload, fund, row) {
  const dest = row.to === null ? null : row.to[0];
  const is = (kind, amount, from, to) =>
    row.kind.kind === kind && row.amount === BigInt(amount) && sameFund(fund, from) && dest === to;
  switch (payload.kind) {
    case 'RecordDisbursement':
      return is('Disbursement', payload.amount, payload.fund, null);
    case 'TransferGrant':
      return is('Grant', payload.amount, payload.from, payload.to);
    case 'AllocateWelfareFund': {
      const to = payload.recipient.kind === 'Project' ? payload.recipient.project : null;
      return is('WelfareAllocation', payload.amount, WELFARE_POOL, to);
    }
    default:
      return false;
  }
}

// =============================================================================================
// Axis helpers: a row's range, overlaps and holes

const max = (a, b) => (a > b ? a : b);
const min = (a, b) => (a < b ? a : b);

/** Whether [s, e) and [x, y) share a position. */
const overlaps = (s, e, x, y) => s < y && x < e;

/** The pieces of `holes` inside [a, b): [{ hole, from, to }] in axis order (holes sorted). */
function holePieces(holes, a, b) {
  const out = [];
  for (const h of holes) {
    const from = max(h.start, a);
    const to = min(h.end, b);
    if (from < to) out.push({ hole: h, from, to });
  }
  return out;
}

/** The number of positions of [a, b) inside `holes` (disjoint). */
function holesIn(holes, a, b) {
  return holePieces(holes, a, b).reduce((n, p) => n + (p.to - p.from), 0n);
}

// =============================================================================================
// §10.7 verification

/**
 * §10.7: verifies a trace proof against `genesis` (a Genesis value). `proof` is a proof value, its
 * canonical bytes, or its JSON form (object or text). Throws TraceError { code, at } at the first
 * failure. Returns what was proved:
 *   { direction: 'forward' | 'reverse', subject, fund, position, amount, asOf, checkpoint,
 *     steps, sources, records }
 * with `subject` the record id, `fund` / `position` / `amount` the subject's row (its inflow going
 * forward, its outflow going back), `asOf` the newest block's height and `checkpoint` its
 * Checkpoint — what is not shown spent is so as of it; `steps` (forward, §10.4, in the order made)
 *   { fund, depth, from, to, amount, what }, what = { kind: 'spent', outflow, outflowKind, to,
 *   followed } | { kind: 'refunded', refund } | { kind: 'not_shown_spent' }
 * and `sources` (reverse) { record, sourceKind, from, to, amount }; `records` every proven record,
 * sorted by id: { id, record (decoded), height, time, logIndex, signer } with `signer` the member
 * the validator steps' tracker gives the signing key to, or null. Heights, positions and amounts
 * are BigInt; ids Uint8Array. traceResultToJson gives the JSON of the §10.9 vectors.
 */
export function verifyTrace(genesis, proofInput) {
  const proof = proofValue(proofInput);
  const shared = bundleSteps(genesis);
  const bundleStep = (fn) => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof BundleError) throw new TraceError(err.code, err.at, err.detail);
      throw err;
    }
  };
  const forward = proof.direction.kind === 'Forward';

  // ---- 1. blocks not empty; the validator steps, at heights [1, newest) ----
  if (proof.blocks.length === 0) throw new TraceError('trace.order', 'blocks', 'no blocks');
  const newestBlock = proof.blocks[proof.blocks.length - 1];
  const newest = BigInt(newestBlock.checkpoint.header.height);
  proof.validators.forEach((V, i) => bundleStep(() => shared.validatorStep(V, `validators[${i}]`, 1n, newest)));

  // ---- 2. each block, by strictly increasing height, a certified block (§13.3 B and C) ----
  const blocks = [];
  proof.blocks.forEach((B, i) => {
    const at = `blocks[${i}]`;
    const h = BigInt(B.checkpoint.header.height);
    if (i > 0 && !(h > blocks[i - 1].height))
      throw new TraceError('trace.order', at, `height ${h} not above ${blocks[i - 1].height}`);
    const block = bundleStep(() => shared.block(B, at));
    blocks.push({ ...block, height: h });
  });
  const blockAt = (index, at) => {
    const block = blocks[index];
    if (block === undefined) throw new TraceError('trace.order', at, `no block ${index}`);
    return block;
  };

  // ---- 3. each row: proven in its block's write set, a trace row, keys unique ----
  const rows = [];
  const keys = new Set();
  proof.rows.forEach((R, i) => {
    const at = `rows[${i}]`;
    const block = blockAt(R.block, at);
    try {
      verifyWriteSetProof(R.proof, block.height, block.header.state_hash);
    } catch (err) {
      if (err instanceof ProofError) throw new TraceError('trace.write_set', at, err.message);
      throw err;
    }
    let key;
    let row;
    try {
      key = parseTraceRowKey(R.proof.key);
      row = decodeTraceRow(key.family, R.proof.value);
    } catch (err) {
      if (err instanceof DecodeError) throw new TraceError('trace.row', at, err.message);
      throw err;
    }
    const keyHex = toHex(R.proof.key);
    if (keys.has(keyHex)) throw new TraceError('trace.row', at, 'a row shown twice');
    keys.add(keyHex);
    rows.push({ ...axisRow(i, key.family, key.fund, key.position, row), block: R.block });
  });

  // ---- 4. each record: proven in its block (§13.3 R), none twice ----
  const records = new Map(); // id hex → { index, block, id, record, logIndex }
  proof.records.forEach((BR, i) => {
    const at = `records[${i}]`;
    const block = blockAt(BR.block, at);
    const record = bundleStep(() => shared.record(BR.record, block, at));
    const id = blake3(BR.record.record);
    if (records.has(toHex(id))) throw new TraceError('trace.order', at, 'a record shown twice');
    records.set(toHex(id), { index: i, block: BR.block, id, record, logIndex: BigInt(BR.record.proof.leaf_index) });
  });

  // ---- 5. the subject: its record, its one row, in the same block, written by its payload ----
  // In §10.7's order: one row, the block check, then the payload check, all before the walk.
  const subjectHex = toHex(proof.subject);
  const subject = records.get(subjectHex);
  if (subject === undefined) throw new TraceError('trace.subject', 'subject', 'the subject record is not shown');
  const family = forward ? INFLOW : OUTFLOW;
  const own = rows.filter((r) => r.family === family && equalBytes(r.row.record, proof.subject));
  if (own.length !== 1)
    throw new TraceError('trace.subject', 'subject', `${own.length} ${forward ? 'inflow' : 'outflow'} rows of the subject shown, not one`);
  const subjectRow = own[0];
  if (subjectRow.block !== subject.block)
    throw new TraceError('trace.block', 'subject', 'the subject row is proven in another block than its record');
  const payload = subject.record.body.payload;
  const wrote = forward
    ? wroteInflow(payload, subjectRow.fund, subjectRow.row, genesis)
    : wroteOutflow(payload, subjectRow.fund, subjectRow.row);
  if (!wrote) throw new TraceError('trace.subject', 'subject', `the subject's ${payload.kind} did not write its row`);

  // ---- 6. the walk over the shown rows only ----
  const walk = new Walk(rows);
  walk.used.add(subjectRow.index);
  const steps = [];
  const sources = [];
  if (forward) walk.follow(subjectRow.fund, subjectRow.start, subjectRow.end, 0, steps);
  else walk.sources(subjectRow, sources);

  // ---- 7. every outflow spent in a step: shown, in its row's block, written by its payload ----
  // In §10.7's order (shown, block, payload), each outflow row once, in the order the walk first
  // spent it.
  const outflowRecords = new Set();
  for (const o of walk.spent) {
    const at = `trace: outflow ${toHex(o.row.record)} of ${fundLabel(o.fund)}`;
    const shown = records.get(toHex(o.row.record));
    if (shown === undefined) throw new TraceError('trace.record', at, 'the outflow record is not shown');
    if (shown.block !== o.block) throw new TraceError('trace.block', at, 'the outflow record is in another block than its row');
    if (!wroteOutflow(shown.record.body.payload, o.fund, o.row))
      throw new TraceError('trace.record', at, `its ${shown.record.body.payload.kind} did not write the row`);
    outflowRecords.add(toHex(o.row.record));
  }

  // ---- 8. nothing extra ----
  for (const r of rows)
    if (!walk.used.has(r.index)) throw new TraceError('trace.unused', `rows[${r.index}]`, 'a row the trace does not use');
  for (const [idHex, r] of records)
    if (idHex !== subjectHex && !outflowRecords.has(idHex))
      throw new TraceError('trace.unused', `records[${r.index}]`, 'a record that is neither the subject nor a step outflow');

  const known = (m) => m && { address: m.address, role: m.role, name: m.name, uscc: m.uscc };
  return {
    direction: forward ? 'forward' : 'reverse',
    subject: proof.subject,
    fund: subjectRow.fund,
    position: subjectRow.start,
    amount: subjectRow.row.amount,
    asOf: newest,
    checkpoint: newestBlock.checkpoint.checkpoint,
    steps,
    sources,
    records: [...records.keys()].sort().map((idHex) => {
      const r = records.get(idHex);
      const block = blocks[r.block];
      return {
        id: r.id,
        record: r.record,
        height: block.height,
        time: BigInt(block.header.time),
        logIndex: r.logIndex,
        signer: known(shared.tracker.memberOfKey(r.record.signer)),
      };
    }),
  };
}

/** A row on its fund's axis: its range [start, end) (an inflow's is [position, position + amount)). */
function axisRow(index, family, fund, position, row) {
  const start = BigInt(position);
  const end = family === INFLOW ? start + BigInt(row.amount) : BigInt(row.end);
  return { index, family, fund, fundId: fundId(fund), start, end, row };
}

/** Rows given as [{ family, fund, position, row }] (codec values) → the walk's axes. */
function walkOf(rows) {
  return new Walk(rows.map((r, i) => axisRow(i, r.family, r.fund, r.position, r.row)));
}

/**
 * §10.4 `walk` over bare rows, without proofs: where [from, to) of `fund`'s axis went. `rows` is
 * [{ family (0x20–0x22), fund, position, row }] with codec values (SourceRow / OutflowRow /
 * HoleRow). Returns { steps, used } (`used`: the indexes of the rows read); throws TraceError at
 * `trace` (trace.gap, trace.holes, trace.overlap, trace.hop). For tools and tests; verifyTrace
 * runs the same walk over a proof's rows.
 */
export function followRows(rows, fund, from, to) {
  const walk = walkOf(rows);
  const steps = [];
  walk.follow(fund, BigInt(from), BigInt(to), 0, steps);
  return { steps, used: walk.used };
}

/**
 * §10.4's reverse question over bare rows (as followRows): what the outflow row of `fund` at
 * `position` drew on. Returns { sources, used }; throws TraceError at `trace`.
 */
export function sourcesOfRows(rows, fund, position) {
  const walk = walkOf(rows);
  const id = fundId(fund);
  const outflows = walk.axes.get(id)?.[OUTFLOW] ?? [];
  const o = outflows.find((r) => r.start === BigInt(position));
  if (o === undefined) throw new RangeError(`no outflow row of ${fundLabel(fund)} at ${position}`);
  const sources = [];
  walk.sources(o, sources);
  return { sources, used: walk.used };
}

/**
 * §10.4 over a set of proven rows: `follow` (where an inflow went) and `sources` (what an outflow
 * drew on). Errors are TraceError at `trace`. Records which rows it read (`used`) and the outflow
 * rows spent in a step (`spent`, each once, in the order first spent).
 */
class Walk {
  constructor(rows) {
    /** fund id → family → rows sorted by start */
    this.axes = new Map();
    for (const r of rows) {
      if (!this.axes.has(r.fundId)) this.axes.set(r.fundId, { [INFLOW]: [], [OUTFLOW]: [], [HOLE]: [] });
      this.axes.get(r.fundId)[r.family].push(r);
    }
    for (const axis of this.axes.values())
      for (const list of Object.values(axis)) list.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    this.used = new Set();
    this.spent = [];
  }

  /**
   * The rows of one family of a fund overlapping any of the ranges [[x, y), …], sorted, marked as
   * read. Two of them that overlap (or share a position): trace.overlap.
   */
  read(fund, family, ranges) {
    const list = this.axes.get(fundId(fund))?.[family] ?? [];
    const out = list.filter((r) => ranges.some(([x, y]) => overlaps(r.start, r.end, x, y)));
    for (let i = 1; i < out.length; i++)
      if (out[i].start < out[i - 1].end)
        throw new TraceError('trace.overlap', 'trace', `two rows of ${fundLabel(fund)} overlap at ${out[i].start}`);
    for (const r of out) this.used.add(r.index);
    return out;
  }

  /**
   * §10.4 step 2 for the outflow row `o`: every hole overlapping [p, end) lies inside it, and
   * their lengths add up to end − p − amount. Returns those holes.
   */
  inside(o, holes) {
    const inside = holes.filter((h) => overlaps(h.start, h.end, o.start, o.end));
    for (const h of inside)
      if (h.start < o.start || h.end > o.end)
        throw new TraceError('trace.holes', 'trace', `hole [${h.start}, ${h.end}) crosses the edge of outflow [${o.start}, ${o.end})`);
    const total = inside.reduce((n, h) => n + (h.end - h.start), 0n);
    if (total !== o.end - o.start - o.row.amount)
      throw new TraceError(
        'trace.holes',
        'trace',
        `outflow [${o.start}, ${o.end}) of ${o.row.amount}: holes inside add up to ${total}, not ${o.end - o.start - o.row.amount}`,
      );
    return inside;
  }

  /** Pushes a refunded step for each hole piece inside [a, b). */
  refunded(fund, depth, holes, a, b, steps) {
    for (const p of holePieces(holes, a, b))
      steps.push({ fund, depth, from: p.from, to: p.to, amount: p.to - p.from, what: { kind: 'refunded', refund: p.hole.row.record } });
  }

  /**
   * [a, b) outside every outflow: a gap before an outflow (`gap` true) or the tail after the last.
   * In axis order, each hole piece is a refunded step and each piece between holes is, in a gap,
   * trace.gap, and in the tail a not-shown-spent step of its own (§10.4).
   */
  uncovered(fund, depth, holes, a, b, steps, gap) {
    let cursor = a;
    const piece = (from, to) => {
      if (from >= to) return;
      if (gap) throw new TraceError('trace.gap', 'trace', `[${from}, ${to}) of ${fundLabel(fund)} is in no outflow or hole shown`);
      steps.push({ fund, depth, from, to, amount: to - from, what: { kind: 'not_shown_spent' } });
    };
    for (const p of holePieces(holes, a, b)) {
      piece(cursor, p.from);
      steps.push({ fund, depth, from: p.from, to: p.to, amount: p.to - p.from, what: { kind: 'refunded', refund: p.hole.row.record } });
      cursor = p.to;
    }
    piece(cursor, b);
  }

  /** walk(fund, x, y, depth) of §10.4: pushes the steps of [x, y) onto `steps`. */
  follow(fund, x, y, depth, steps) {
    const outs = this.read(fund, OUTFLOW, [[x, y]]);
    const holes = this.read(fund, HOLE, [[x, y], ...outs.map((o) => [o.start, o.end])]);
    let cursor = x;
    for (const o of outs) {
      const p = o.start;
      // 1. gap: every position of [cursor, p) must lie in a hole
      if (p > cursor) this.uncovered(fund, depth, holes, cursor, p, steps, true);
      // 2. the holes inside the outflow
      const inside = this.inside(o, holes);
      // 3. the piece: its refunds, then the outflow's money
      const a = max(x, p);
      const b = min(y, o.end);
      this.refunded(fund, depth, inside, a, b, steps);
      const money = b - a - holesIn(inside, a, b);
      if (money > 0n) {
        const to = o.row.to;
        const followed = to !== null && depth < MAX_TRACE_DEPTH;
        steps.push({
          fund,
          depth,
          from: a,
          to: b,
          amount: money,
          what: { kind: 'spent', outflow: o.row.record, outflowKind: o.row.kind.kind, to: to === null ? null : to[0], followed },
        });
        if (!this.spent.includes(o)) this.spent.push(o);
        // 4. the hop
        if (followed) {
          const [q, qStart] = to;
          const off = a - p - holesIn(inside, p, a);
          this.hop(o, q, qStart, off, money);
          this.follow(project(q), qStart + off, qStart + off + money, depth + 1, steps);
        }
      }
      // 5.
      cursor = o.end;
    }
    // the tail
    if (cursor < y) this.uncovered(fund, depth, holes, cursor, y, steps, false);
  }

  /**
   * §10.4 step 4: the inflow row of Project(q) at qStart exists, names the outflow's record, has
   * its amount and the matching kind, and off + money fits in it.
   */
  hop(o, q, qStart, off, money) {
    const fail = (why) => new TraceError('trace.hop', 'trace', `hop of ${toHex(o.row.record)} to ${q} at ${qStart}: ${why}`);
    const landing = (this.axes.get(fundId(project(q)))?.[INFLOW] ?? []).find((r) => r.start === qStart);
    if (landing === undefined) throw fail('no inflow row shown there');
    const kind = { Grant: 'Grant', WelfareAllocation: 'WelfareAllocation' }[o.row.kind.kind];
    if (!equalBytes(landing.row.record, o.row.record)) throw fail('the inflow row names another record');
    if (landing.row.amount !== o.row.amount) throw fail(`the inflow row has ${landing.row.amount}, the outflow ${o.row.amount}`);
    if (kind === undefined || landing.row.kind.kind !== kind) throw fail(`a ${o.row.kind.kind} outflow lands as ${landing.row.kind.kind}`);
    if (off + money > landing.row.amount) throw fail(`[${off}, ${off + money}) runs past ${landing.row.amount}`);
    this.used.add(landing.index);
  }

  /**
   * The reverse question of §10.4 for the outflow row `o`: pushes its sources onto `out`. The
   * inflows overlapping [p, end), in axis order, must tile it: the first starts at or before p
   * (else trace.gap), each next one where the one before ends (later: trace.gap, earlier:
   * trace.overlap), the last ends at or after end (else trace.gap). Checked in that order, one
   * inflow after the other.
   */
  sources(o, out) {
    const holes = this.read(o.fund, HOLE, [[o.start, o.end]]);
    const inside = this.inside(o, holes);
    const list = this.axes.get(o.fundId)[INFLOW];
    const ins = list.filter((r) => overlaps(r.start, r.end, o.start, o.end));
    const gap = (from, to) =>
      new TraceError('trace.gap', 'trace', `the inflows shown do not tile [${o.start}, ${o.end}): nothing at [${from}, ${to})`);
    let cursor = o.start;
    for (const r of ins) {
      if (r.start > cursor) throw gap(cursor, r.start);
      if (r.start < cursor && cursor !== o.start)
        throw new TraceError('trace.overlap', 'trace', `two inflows of ${fundLabel(o.fund)} overlap at ${r.start}`);
      this.used.add(r.index);
      const a = max(o.start, r.start);
      const b = min(o.end, r.end);
      const amount = b - a - holesIn(inside, a, b);
      if (amount > 0n) out.push({ record: r.row.record, sourceKind: r.row.kind.kind, from: a, to: b, amount });
      cursor = r.end;
    }
    if (cursor < o.end) throw gap(cursor, o.end);
  }
}

/** verifyTrace without throwing: { ok: true, value } or { ok: false, error } (a TraceError). */
export function checkTrace(genesis, proof) {
  try {
    return { ok: true, value: verifyTrace(genesis, proof) };
  } catch (err) {
    if (err instanceof TraceError) return { ok: false, error: err };
    throw err;
  }
}

/** A BigInt as a JSON number (all real positions and amounts are far below 2^53). */
function num(v) {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`${v} has no exact JSON number`);
  return Number(v);
}

/**
 * The result of verifyTrace in the JSON shape of the §10.9 vectors (`expect.ok`):
 * { direction, subject, fund, position, amount, as_of, steps, sources, records } with ids as hex,
 * funds as fundToJson, `records` the sorted ids.
 */
export function traceResultToJson(result) {
  const what = (w) => {
    if (w.kind === 'spent')
      return { kind: 'spent', outflow: toHex(w.outflow), outflow_kind: w.outflowKind, to: w.to, followed: w.followed };
    if (w.kind === 'refunded') return { kind: 'refunded', refund: toHex(w.refund) };
    return { kind: w.kind };
  };
  return {
    direction: result.direction,
    subject: toHex(result.subject),
    fund: fundToJson(result.fund),
    position: num(result.position),
    amount: num(result.amount),
    as_of: num(result.asOf),
    steps: result.steps.map((s) => ({
      fund: fundToJson(s.fund),
      depth: s.depth,
      from: num(s.from),
      to: num(s.to),
      amount: num(s.amount),
      what: what(s.what),
    })),
    sources: result.sources.map((s) => ({
      record: toHex(s.record),
      source_kind: s.sourceKind,
      from: num(s.from),
      to: num(s.to),
      amount: num(s.amount),
    })),
    records: result.records.map((r) => toHex(r.id)),
  };
}
