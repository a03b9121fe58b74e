// The strict canonical codec (SPEC §1, §2): round trips of every structure, and hostile input.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  DecodeError,
  EncodeError,
  SCHEMA,
  TYPE_NAMES,
  decode,
  decoders,
  encode,
  encoders,
  fromHex,
  minSize,
  toHex,
} from '../src/verify/index.js';

// ---------------------------------------------------------------------------------------------
// The donation-record vector of SPEC §12, read from the spec file.

const SPEC = readFileSync(fileURLToPath(new URL('../../../docs/SPEC.md', import.meta.url)), 'utf8');
const vector = (label) => fromHex(new RegExp(`^${label}: ([0-9a-f]+)$`, 'm').exec(SPEC)[1]);
const DONATION = vector('donation-record');
const DISBURSEMENT = vector('disbursement-record');

// Byte offsets inside DONATION (SPEC §12.1).
const AT = {
  payloadIndex: 24,
  receiptLength: 28,
  receipt: 36, // 16 bytes
  donor: 52,
  amount: 84,
  channel: 92,
  fund: 96,
  restricted: 120,
  pledge: 121,
  signer: 122,
};

function mutate(bytes, at, replacement) {
  const out = bytes.slice();
  out.set(replacement, at);
  return out;
}

/** Asserts that decoding throws a DecodeError quickly; returns it. */
function refused(type, bytes, pattern) {
  const t0 = performance.now();
  let err;
  try {
    decode(type, bytes);
  } catch (e) {
    err = e;
  }
  const ms = performance.now() - t0;
  assert.ok(err instanceof DecodeError, `expected a DecodeError, got ${err}`);
  if (pattern) assert.match(err.message, pattern);
  assert.ok(ms < 200, `took ${ms} ms`);
  return err;
}

test('the donation record decodes to the §12 values and re-encodes to the same bytes', () => {
  const r = decode('SignedRecord', DONATION);
  assert.equal(r.body.created, 1767225601000n);
  assert.equal(r.body.expires, 1767226201000n);
  assert.equal(r.body.nonce, 1n);
  assert.equal(r.body.payload.kind, 'RecordDonation');
  assert.equal(r.body.payload.receipt, 'SZCF-2026-000001');
  assert.equal(r.body.payload.amount, 10000n);
  assert.deepEqual(r.body.payload.channel, { kind: 'DigitalRmb' });
  assert.equal(r.body.payload.fund.kind, 'General');
  assert.equal(toHex(r.body.payload.fund.address), '044e841d424ae89c843cb412b9dbf768372b485b');
  assert.equal(r.body.payload.restricted, false);
  assert.equal(r.body.payload.pledge, null);
  assert.deepEqual(encode('SignedRecord', r), DONATION);
  assert.deepEqual(decoders.SignedRecord(DONATION), r);
  assert.deepEqual(encoders.SignedRecord(r), DONATION);
  // Decoded byte arrays are copies: changing the input afterwards does not change the value.
  const copy = DONATION.slice();
  const r2 = decode('SignedRecord', copy);
  copy.fill(0);
  assert.deepEqual(r2, r);
});

test('decoding refuses every truncation of the donation record', () => {
  for (let n = 0; n < DONATION.length; n++) {
    const err = refused('SignedRecord', DONATION.subarray(0, n));
    assert.ok(err.offset <= n, `truncation at ${n}: offset ${err.offset}`);
  }
});

test('decoding refuses a trailing byte', () => {
  const err = refused('SignedRecord', new Uint8Array([...DONATION, 0]), /1 trailing byte/);
  assert.equal(err.offset, DONATION.length);
  assert.equal(err.path, 'SignedRecord');
});

test('decoding refuses bool 2', () => {
  const err = refused('SignedRecord', mutate(DONATION, AT.restricted, [2]), /bool byte 2/);
  assert.equal(err.path, 'body.payload.RecordDonation.restricted');
  assert.equal(err.offset, AT.restricted);
  refused('SignedRecord', mutate(DONATION, AT.restricted, [0xff]), /bool/);
});

test('decoding refuses Option tag 2', () => {
  const err = refused('SignedRecord', mutate(DONATION, AT.pledge, [2]), /option tag 2/);
  assert.equal(err.path, 'body.payload.RecordDonation.pledge');
  assert.equal(err.offset, AT.pledge);
});

test('decoding refuses an enum index past the last variant', () => {
  // Payload has 26 variants (0 … 25).
  let err = refused('SignedRecord', mutate(DONATION, AT.payloadIndex, [26, 0, 0, 0]), /variant index 26 .*\(25 SettleDraw\)/);
  assert.equal(err.path, 'body.payload');
  assert.equal(err.offset, AT.payloadIndex);
  refused('SignedRecord', mutate(DONATION, AT.payloadIndex, [0xff, 0xff, 0xff, 0xff]), /variant index 4294967295/);
  // Channel has 5 variants, FundRef 3.
  err = refused('SignedRecord', mutate(DONATION, AT.channel, [5, 0, 0, 0]), /variant index 5 of Channel/);
  assert.equal(err.path, 'body.payload.RecordDonation.channel');
  err = refused('SignedRecord', mutate(DONATION, AT.fund, [3, 0, 0, 0]), /variant index 3 of FundRef/);
  assert.equal(err.path, 'body.payload.RecordDonation.fund');
  // A valid index with another layout is refused too (here: WelfarePool leaves 20 bytes over).
  refused('SignedRecord', mutate(DONATION, AT.fund, [2, 0, 0, 0]));
});

test('decoding refuses a string length of 2^63 (and 2^32, and 2^64 − 1) without allocating', () => {
  const before = process.memoryUsage().arrayBuffers;
  for (const len of [1n << 63n, 1n << 32n, (1n << 64n) - 1n, 17n + BigInt(DONATION.length)]) {
    const le = new Uint8Array(8);
    new DataView(le.buffer).setBigUint64(0, len, true);
    const err = refused('SignedRecord', mutate(DONATION, AT.receiptLength, le), /runs past the input/);
    assert.equal(err.path, 'body.payload.RecordDonation.receipt');
    assert.equal(err.offset, AT.receiptLength);
    assert.equal(err.message, `body.payload.RecordDonation.receipt: length ${len} runs past the input at byte ${AT.receiptLength}`);
  }
  assert.ok(process.memoryUsage().arrayBuffers - before < 1 << 20, 'no large buffer was allocated');
});

test('decoding refuses a Vec count that cannot fit, before looping over it', () => {
  // disbursement-record: the evidence count sits right after purpose; find it from the layout.
  const r = decode('SignedRecord', DISBURSEMENT);
  assert.equal(r.body.payload.evidence.length, 1);
  const countAt = DISBURSEMENT.length - 96 - 1 - 36 - 8; // … count ‖ (u32 kind ‖ 32 hash) ‖ milestone tag
  assert.deepEqual(DISBURSEMENT.subarray(countAt, countAt + 8), fromHex('0100000000000000'));
  for (const n of [1n << 63n, 2n, 3n]) {
    const le = new Uint8Array(8);
    new DataView(le.buffer).setBigUint64(0, n, true);
    const err = refused('SignedRecord', mutate(DISBURSEMENT, countAt, le));
    // 2^63 fails at the count; 2 and 3 fit the bytes left (≥ 36 each) and fail inside an element.
    if (n > 3n) assert.equal(err.path, 'body.payload.RecordDisbursement.evidence');
    else assert.ok(err.path.startsWith('body.payload.RecordDisbursement.evidence['), err.message);
  }
  // Each Evidence takes ≥ 36 bytes: a count of 4 with 133 bytes left is refused at the count
  // (4 × 36 = 144 > 133), not after decoding garbage.
  const le = new Uint8Array(8);
  new DataView(le.buffer).setBigUint64(0, 4n, true);
  const err = refused('SignedRecord', mutate(DISBURSEMENT, countAt, le), /length 4 runs past/);
  assert.equal(err.offset, countAt);
  // Vec<Vec<u8>> in BlockData: a huge record count.
  const block = encode('BlockData', { header: sampleHeader(), records: [new Uint8Array([1, 2, 3])] });
  const at = block.length - 8 - 3 - 8;
  refused('BlockData', mutate(block, at, fromHex('0000000000000080')), /runs past the input/);
});

test('decoding refuses invalid UTF-8', () => {
  const bad = [
    [0xff], // never valid
    [0xc0, 0x80], // overlong NUL
    [0xed, 0xa0, 0x80], // an encoded surrogate (U+D800)
    [0xe6, 0x9f], // a truncated 3-byte sequence at the end of the string
    [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
  ];
  for (const seq of bad) {
    const b = mutate(DONATION, AT.receipt + 16 - seq.length, seq);
    const err = refused('SignedRecord', b, /not valid UTF-8/);
    assert.equal(err.path, 'body.payload.RecordDonation.receipt');
    assert.equal(err.offset, AT.receipt);
  }
});

test('a leading U+FEFF is a character, not dropped (the re-encoding check would see it)', () => {
  const value = { reason: '\uFEFFbom', since: 5n };
  const bytes = encode('Listing', value);
  assert.equal(toHex(bytes.subarray(8, 11)), 'efbbbf');
  assert.deepEqual(decode('Listing', bytes), value);
});

test('decode() and encode() check their arguments', () => {
  assert.throws(() => decode('NoSuchType', new Uint8Array(0)), TypeError);
  assert.throws(() => decode('Header', [1, 2, 3]), TypeError);
  assert.throws(() => encode('NoSuchType', {}), TypeError);
});

test('encoding refuses values that are not of the type', () => {
  const ok = decode('SignedRecord', DONATION);
  const p = ok.body.payload;
  const withPayload = (payload) => ({ ...ok, body: { ...ok.body, payload } });
  const cases = [
    [withPayload({ ...p, recipt: 'x' }), /recipt: unknown field/],
    [withPayload((({ receipt, ...rest }) => rest)(p)), /receipt: missing field/],
    [withPayload({ ...p, kind: 'Donation' }), /not a variant of Payload/],
    [withPayload({ ...p, amount: -1n }), /outside the u64 range/],
    [withPayload({ ...p, amount: 1n << 64n }), /outside the u64 range/],
    [withPayload({ ...p, amount: 1.5 }), /u64 must be/],
    [withPayload({ ...p, restricted: 0 }), /bool expected/],
    [withPayload({ ...p, receipt: 'a\uD800' }), /lone surrogate/],
    [withPayload({ ...p, donor: new Uint8Array(31) }), /\[u8; 32\] expected/],
    [withPayload({ ...p, channel: 'Bank' }), /Channel expected/],
    [{ ...ok, signature: new Uint8Array(63) }, /\[u8; 64\] expected/],
  ];
  for (const [value, re] of cases) assert.throws(() => encode('SignedRecord', value), (e) => e instanceof EncodeError && re.test(e.message));
  assert.throws(() => encode('Location', { height: 1n, index: 2 ** 32 }), /u32/);
  assert.throws(() => encode('Location', { height: 1n, index: -1 }), /u32/);
  assert.throws(() => encode('WelfareYear', { by_purpose: [1n, 2n] }), /array of 5/);
  assert.throws(() => encode('OutflowRow', { ...sampleOutflow(), to: ['p'] }), /tuple of 2/);
  // Numbers are accepted for u64 when they are safe integers; BigInts for u32 when in range.
  assert.deepEqual(encode('Location', { height: 7, index: 3n }), encode('Location', { height: 7n, index: 3 }));
});

// ---------------------------------------------------------------------------------------------
// Round trips of every structure, from values generated out of the schema.

/** A small deterministic PRNG (xorshift32), so failures are reproducible. */
function rng(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

const STRINGS = ['', 'SZCF-2026-000001', '某养老院', 'meals for residents', '\uFEFF', 'a\u0000b', '😀 emoji', 'x'.repeat(300)];

/** A random value of type `t`; `variant` forces the variant of a top-level enum. */
function sample(t, next, depth = 0, variant) {
  if (typeof t === 'string') {
    switch (t) {
      case 'u8':
        return next() & 0xff;
      case 'u16':
        return next() & 0xffff;
      case 'u32':
        return next() % 3 === 0 ? 0xffffffff : next();
      case 'u64':
        return next() % 3 === 0 ? (1n << 64n) - 1n : (BigInt(next()) << 32n) | BigInt(next());
      case 'bool':
        return (next() & 1) === 1;
      case 'String':
        return STRINGS[next() % STRINGS.length];
      case 'Bytes':
        return Uint8Array.from({ length: next() % 40 }, () => next() & 0xff);
    }
    const e = SCHEMA[t];
    if (e.struct) return Object.fromEntries(e.struct.map(([f, ft]) => [f, sample(ft, next, depth + 1)]));
    if (e.enum) {
      const v = e.enum[variant ?? next() % e.enum.length];
      const fields = v[1] === undefined ? [] : typeof v[1] === 'string' ? SCHEMA[v[1]].struct : v[1];
      return Object.fromEntries([['kind', v[0]], ...fields.map(([f, ft]) => [f, sample(ft, next, depth + 1)])]);
    }
    return sample(e, next, depth);
  }
  if (t.fixed !== undefined) return Uint8Array.from({ length: t.fixed }, () => next() & 0xff);
  if (t.array !== undefined) return Array.from({ length: t.len }, () => sample(t.array, next, depth + 1));
  if (t.vec !== undefined) return Array.from({ length: depth > 3 ? 0 : next() % 4 }, () => sample(t.vec, next, depth + 1));
  if (t.option !== undefined) return next() % 2 === 0 ? null : sample(t.option, next, depth + 1);
  if (t.tuple !== undefined) return t.tuple.map((x) => sample(x, next, depth + 1));
  throw new Error('bad type');
}

function sampleHeader() {
  return sample('Header', rng(99));
}
function sampleOutflow() {
  return sample('OutflowRow', rng(98));
}

test('every structure of SPEC §2 has a schema entry', () => {
  const required = [
    'Role', 'Channel', 'FundRef', 'SpendingCategory', 'ProjectCategory', 'WelfarePurpose', 'ListKind',
    'EvidenceKind', 'Evidence', 'Recipient', 'WelfareRecipient', 'Severity',
    'AdmitMember', 'UpdateMember', 'SuspendMember', 'ReinstateMember', 'RotateKey', 'SetValidator',
    'ApproveProject', 'ListOrganisation', 'DelistOrganisation', 'RegisterProject', 'RecordDonation',
    'RecordDisbursement', 'RecordRefund', 'TransferGrant', 'CloseProject', 'Correction',
    'RecordLotterySales', 'AllocateWelfareFund', 'RecordPrizePayout', 'AuditAttestation', 'Finding',
    'ReportSubject', 'PublishReport', 'DrawKind', 'OpenDraw', 'CommitDrawSeed', 'RevealDrawSeed', 'SettleDraw', 'Payload', 'RecordBody', 'SignedRecord', 'Genesis', 'Params', 'GenesisMember', 'Game', 'Header',
    'BlockData', 'Validator', 'ValidatorSet', 'VoteKind', 'VoteBody', 'ProposalBody', 'CommitSignature',
    'CommitCertificate', 'Checkpoint', 'WitnessSignature', 'SignedCheckpoint', 'Member', 'KeyEntry',
    'ProjectStatus', 'Project', 'FundState', 'Holes', 'Donation', 'Listing', 'GameTotals', 'WelfareYear',
    'CharityYear', 'SourceKind', 'SourceRow', 'OutflowKind', 'OutflowRow', 'Location',
  ];
  for (const name of required) assert.ok(TYPE_NAMES.includes(name), name);
  // Payload: 26 kinds, in the §2.3 order, each wrapping the struct of the same name.
  const kinds = SCHEMA.Payload.enum.map(([v]) => v);
  assert.equal(kinds.length, 26);
  assert.equal(kinds.indexOf('PublishReport'), 21);
  assert.equal(kinds.indexOf('SettleDraw'), 25);
  assert.equal(kinds.indexOf('Correction'), 14);
  assert.equal(kinds.indexOf('CloseProject'), 15);
  assert.equal(kinds.indexOf('Finding'), 20);
  for (const [v, s] of SCHEMA.Payload.enum) assert.equal(v, s);
});

for (const name of TYPE_NAMES) {
  test(`round trip: ${name}`, () => {
    const e = SCHEMA[name];
    const variants = e.enum ? e.enum.length : 1;
    for (let seed = 1; seed <= 12 * variants; seed++) {
      const value = sample(name, rng(seed * 7919 + name.length), 0, e.enum ? (seed - 1) % variants : undefined);
      const bytes = encode(name, value);
      assert.ok(bytes.length >= minSize(name), `${name}: ${bytes.length} < minSize ${minSize(name)}`);
      const back = decode(name, bytes);
      assert.deepEqual(back, value);
      assert.deepEqual(encode(name, back), bytes);
      // Decoding is strict at the end too: one more byte is refused, one less too (when any).
      assert.throws(() => decode(name, new Uint8Array([...bytes, 0])), DecodeError);
      if (bytes.length > 0) assert.throws(() => decode(name, bytes.subarray(0, bytes.length - 1)), DecodeError);
    }
  });
}

test('minSize of the fixed-layout structures equals their encoded size', () => {
  for (const [name, size] of [['Checkpoint', 80], ['Location', 12], ['KeyEntry', 21], ['FundState', 52], ['WelfareYear', 40], ['Validator', 60]])
    assert.equal(minSize(name), size, name);
  // The smallest payload is ApproveProject (two empty strings, 16 bytes) after its u32 index.
  assert.equal(minSize('Payload'), 4 + 16);
  assert.equal(minSize('SignedRecord'), 24 + 4 + 16 + 96);
});
