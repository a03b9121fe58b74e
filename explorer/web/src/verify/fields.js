// Decoding and stateless field checks of a record: docs/SPEC.md §8.1 (`Record::from_bytes`,
// `check_fields`). A receipt bundle's record step R1 (§13.3) runs exactly this.
//
// Refusals are RecordError with the §14 code: 'record.too_large', 'record.malformed',
// 'field.invalid' or 'field.not_positive' (the last two with `field`, the payload field's name).

import { decode, DecodeError } from './codec.js';
import { utf8 } from './bytes.js';

/** A record refused by §8.1. `code` is a §14 refusal code; `field` names the field for field.*. */
export class RecordError extends Error {
  constructor(code, message, field = null) {
    super(`${code}${field ? ` (${field})` : ''}: ${message}`);
    this.name = 'RecordError';
    this.code = code;
    this.field = field;
  }
}

const TEXT_MAX_BYTES = 1024;
const MAX_EVIDENCE = 64;
const MAX_DRAW_WINNERS = 256; // §15, shanlian_core::draw::MAX_WINNERS
const MAX_DRAW_INVITED = 16; // §15, shanlian_core::draw::MAX_INVITED

// Unicode White_Space (what Rust's str::trim removes), §8.1. NOT JavaScript's String.prototype.trim,
// which also removes U+FEFF and keeps U+0085.
const WHITE_SPACE = new Set([
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680,
  0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a,
  0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
]);

/** Unicode category Cc: U+0000–U+001F and U+007F–U+009F. */
const isControl = (c) => c <= 0x1f || (c >= 0x7f && c <= 0x9f);

function invalid(field, why) {
  throw new RecordError('field.invalid', why, field);
}

/** text(s): at most 1024 UTF-8 bytes, no control character except '\n'. */
function text(s, field) {
  if (utf8(s).length > TEXT_MAX_BYTES) invalid(field, `longer than ${TEXT_MAX_BYTES} bytes`);
  for (const ch of s) {
    const c = ch.codePointAt(0);
    if (isControl(c) && c !== 0x0a) invalid(field, `control character U+${c.toString(16).padStart(4, '0')}`);
  }
}

/** nonempty(s): not empty after trimming Unicode White_Space at both ends, and text(s). */
function nonempty(s, field) {
  const cps = [...s].map((ch) => ch.codePointAt(0));
  if (cps.every((c) => WHITE_SPACE.has(c))) invalid(field, 'empty');
  text(s, field);
}

const CODE_CHAR = /^[A-Za-z0-9\-_./]+$/;

/** code(s): `max` bytes at most (64 for ProjectId / ReceiptNo, 32 for GameId), each [A-Za-z0-9-_./]. */
function code(s, field, max = 64) {
  if (s.length < 1 || s.length > max || !CODE_CHAR.test(s)) invalid(field, `not a code of 1–${max} bytes of [A-Za-z0-9-_./]`);
}

const USCC_ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/** uscc(s): GB 32100-2015, 18 characters with a mod-31 check character. */
function uscc(s, field) {
  if (s.length !== 18 || !/^[\x00-\x7f]*$/.test(s)) invalid(field, 'not 18 ASCII characters');
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    const v = USCC_ALPHABET.indexOf(s[i]);
    if (v < 0) invalid(field, `character ${i + 1} is not in the USCC alphabet`);
    sum += v * USCC_WEIGHTS[i];
  }
  const check = (31 - (sum % 31)) % 31;
  if (s[17] !== USCC_ALPHABET[check]) invalid(field, 'wrong check character');
}

/** positive(n): amount > 0. */
function positive(n, field) {
  if (BigInt(n) === 0n) throw new RecordError('field.not_positive', 'must be greater than 0', field);
}

/** fund(f): General passes; Project(p) needs code(p); WelfarePool is invalid. */
function fund(f, field) {
  if (f.kind === 'Project') code(f.project, field);
  else if (f.kind === 'WelfarePool') invalid(field, 'the welfare pool is not a charity fund');
}

/** The §8.1 field checks of a decoded payload ({ kind, …fields }), in the table's order. */
export function checkFields(payload) {
  const p = payload;
  switch (p.kind) {
    case 'AdmitMember':
      nonempty(p.name, 'name');
      uscc(p.uscc, 'uscc');
      return;
    case 'UpdateMember':
      if (p.name !== null) nonempty(p.name, 'name');
      if (p.uscc !== null) uscc(p.uscc, 'uscc');
      return;
    case 'SuspendMember':
      nonempty(p.reason, 'reason');
      return;
    case 'ReinstateMember':
    case 'RotateKey':
    case 'SetValidator':
      return;
    case 'ApproveProject':
      code(p.project, 'project');
      nonempty(p.approval_ref, 'approval_ref');
      return;
    case 'ListOrganisation':
    case 'DelistOrganisation':
      nonempty(p.reason, 'reason');
      return;
    case 'RegisterProject':
      code(p.project, 'project');
      nonempty(p.title, 'title');
      positive(p.target, 'target');
      if (!(BigInt(p.end) > BigInt(p.start))) invalid('end', 'end must be after start');
      if (p.public_fundraising_ref !== null) nonempty(p.public_fundraising_ref, 'public_fundraising_ref');
      return;
    case 'RecordDonation':
      code(p.receipt, 'receipt');
      positive(p.amount, 'amount');
      fund(p.fund, 'fund');
      if (p.restricted && p.fund.kind === 'General') invalid('restricted', 'a restricted gift needs a project fund');
      if (p.channel.kind === 'InKind') nonempty(p.channel.description, 'channel.description');
      if (p.pledge !== null) nonempty(p.pledge, 'pledge');
      return;
    case 'RecordDisbursement':
      fund(p.fund, 'fund');
      positive(p.amount, 'amount');
      nonempty(p.purpose, 'purpose');
      if (p.recipient.kind === 'Organisation') {
        nonempty(p.recipient.name, 'recipient.name');
        if (p.recipient.uscc !== null) uscc(p.recipient.uscc, 'recipient.uscc');
      }
      if (p.evidence.length > MAX_EVIDENCE) invalid('evidence', `more than ${MAX_EVIDENCE} entries`);
      if (p.milestone !== null) nonempty(p.milestone, 'milestone');
      return;
    case 'RecordRefund':
      code(p.receipt, 'receipt');
      positive(p.amount, 'amount');
      nonempty(p.reason, 'reason');
      return;
    case 'TransferGrant':
      fund(p.from, 'from');
      code(p.to, 'to');
      positive(p.amount, 'amount');
      nonempty(p.purpose, 'purpose');
      return;
    case 'Correction':
      nonempty(p.field, 'field');
      text(p.corrected, 'corrected');
      nonempty(p.reason, 'reason');
      return;
    case 'CloseProject':
      code(p.project, 'project');
      return;
    case 'RecordLotterySales':
      code(p.game, 'game', 32);
      nonempty(p.period, 'period');
      nonempty(p.region, 'region');
      positive(p.sales, 'sales');
      return;
    case 'AllocateWelfareFund':
      positive(p.amount, 'amount');
      if (p.recipient.kind === 'Project') code(p.recipient.project, 'recipient');
      else nonempty(p.recipient.name, 'recipient');
      return;
    case 'RecordPrizePayout':
      code(p.game, 'game', 32);
      nonempty(p.period, 'period');
      positive(p.amount, 'amount');
      return;
    case 'AuditAttestation':
      nonempty(p.scope, 'scope');
      return;
    case 'Finding':
      nonempty(p.text, 'text');
      return;
    case 'PublishReport':
      if (p.subject.kind === 'Project') code(p.subject.project, 'subject');
      nonempty(p.period, 'period');
      return;
    case 'OpenDraw': {
      code(p.draw, 'draw');
      nonempty(p.title, 'title');
      const entries = BigInt(p.entries);
      if (entries === 0n) invalid('entries', 'a draw needs at least one entry');
      if (p.winners === 0 || p.winners > MAX_DRAW_WINNERS || BigInt(p.winners) > entries)
        invalid('winners', `must be 1 to the number of entries, at most ${MAX_DRAW_WINNERS}`);
      if (BigInt(p.reveal_by) < BigInt(p.closes) + 2n)
        invalid('reveal_by', 'reveals come after the beacon block: reveal_by ≥ closes + 2');
      const seen = new Set(p.invited.map((a) => Array.from(a).join(',')));
      if (p.invited.length > MAX_DRAW_INVITED || seen.size !== p.invited.length)
        invalid('invited', `at most ${MAX_DRAW_INVITED} distinct members`);
      return;
    }
    case 'CommitDrawSeed':
    case 'RevealDrawSeed':
      code(p.draw, 'draw');
      return;
    case 'SettleDraw':
      code(p.draw, 'draw');
      if (p.winners.length > MAX_DRAW_WINNERS) invalid('winners', `at most ${MAX_DRAW_WINNERS} winners`);
      return;
    default:
      throw new TypeError(`checkFields: unknown payload kind ${JSON.stringify(p.kind)}`);
  }
}

/**
 * `Record::from_bytes(bytes, max_record_bytes)` (§8.1), in order: size, strict canonical decoding
 * of SignedRecord, field checks. Returns the decoded SignedRecord or throws RecordError.
 */
export function recordFromBytes(bytes, maxRecordBytes) {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('recordFromBytes: expected a Uint8Array');
  if (bytes.length > Number(maxRecordBytes))
    throw new RecordError('record.too_large', `${bytes.length} bytes > max_record_bytes ${maxRecordBytes}`);
  let record;
  try {
    record = decode('SignedRecord', bytes);
  } catch (err) {
    if (err instanceof DecodeError) throw new RecordError('record.malformed', err.message);
    throw err;
  }
  checkFields(record.body.payload);
  return record;
}
