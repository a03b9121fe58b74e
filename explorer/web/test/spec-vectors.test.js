// Every test vector of docs/SPEC.md §12, recomputed from genesis/dev.toml and the descriptions in
// §12. The vectors are read from the spec file AT TEST TIME (the fenced block after "The vectors,
// exactly as printed by"), so this test follows the spec: a changed vector fails here, and so
// does a new label that nothing recomputes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseToml } from 'smol-toml';
import { ed25519 } from '@noble/curves/ed25519.js';
import {
  addressOf,
  be64,
  blake3,
  commitment,
  concat,
  decode,
  encode,
  equalBytes,
  fromHex,
  genesisFromToml,
  genesisHash,
  headerHash,
  isMemberKey,
  ledgerMerkle,
  recordId,
  signingMessage,
  stateHash,
  stateHashOfRoot,
  traceRowKey,
  parseTraceRowKey,
  verifyWriteSetProof,
  writeSetLeaf,
  writeSetRoot,
  toHex,
  utf8,
  verifyRecordSignature,
  verifySignature,
} from '../src/verify/index.js';

const repo = (p) => fileURLToPath(new URL(`../../../${p}`, import.meta.url));
const SPEC = readFileSync(repo('docs/SPEC.md'), 'utf8');
const DEV_TOML = readFileSync(repo('genesis/dev.toml'), 'utf8');

/** The `label: hex` lines of the fenced text block after "The vectors, exactly as printed by". */
function specVectors() {
  const at = SPEC.indexOf('The vectors, exactly as printed by');
  assert.ok(at >= 0, 'docs/SPEC.md: vector block not found');
  const open = SPEC.indexOf('```text\n', at);
  const close = SPEC.indexOf('\n```', open + 8);
  assert.ok(open > at && close > open, 'docs/SPEC.md: fenced ```text block not found');
  const out = new Map();
  for (const line of SPEC.slice(open + 8, close).split('\n')) {
    if (line.trim() === '') continue;
    const m = /^([a-z0-9-]+): ([0-9a-f]+)$/.exec(line);
    assert.ok(m, `unparsable vector line: ${line}`);
    assert.ok(!out.has(m[1]), `duplicate vector ${m[1]}`);
    out.set(m[1], fromHex(m[2]));
  }
  return out;
}

/** The §12 signer table: vector pattern → { label, public key, address }. */
function signerTable() {
  const rows = new Map();
  const re = /^\| (\S+) \| `([a-z-]+)`[^|]*\| `?([0-9a-f]{64}|\(same\))`? \| `?([0-9a-f]{40}|\(same\))`? \|$/gm;
  let last = null;
  for (const m of SPEC.matchAll(re)) {
    const key = m[3] === '(same)' ? last.key : fromHex(m[3]);
    const address = m[4] === '(same)' ? last.address : fromHex(m[4]);
    last = { label: m[2], key, address };
    rows.set(m[1], last);
  }
  return rows;
}

const V = specVectors();
const SIGNERS = signerTable();
const checked = new Set();

/** Asserts that the recomputed bytes equal vector `label`, and records the label as covered. */
function expectVector(label, bytes) {
  assert.ok(V.has(label), `vector ${label} missing from docs/SPEC.md`);
  assert.equal(toHex(bytes), toHex(V.get(label)), `vector ${label}`);
  checked.add(label);
}

const dev = genesisFromToml(parseToml(DEV_TOML));
const GENESIS = genesisHash(dev);
const CREATED = 1767225601000n; // 2026-01-01T00:00:01Z
const charity = SIGNERS.get('donation-*');
const lottery = SIGNERS.get('sales-*');
const bureau = SIGNERS.get('precommit-signature');

test('the §12 signer table is consistent with dev.toml and the insecure dev-key rule', () => {
  assert.deepEqual(
    [...SIGNERS.keys()],
    ['donation-*', 'disbursement-*', 'sales-*', 'precommit-signature', 'proposal-signature'],
  );
  for (const { label, key, address } of SIGNERS.values()) {
    assert.deepEqual(addressOf(key), address, `${label}: address = blake3(key)[0..20]`);
    assert.ok(dev.members.some((m) => equalBytes(m.public_key, key)), `${label} is a dev.toml member`);
    assert.ok(isMemberKey(key));
    // seed = blake3("shanlian insecure dev key" ‖ "dev/<label>"); the public key follows from it.
    const seed = blake3(utf8('shanlian insecure dev key'), utf8(`dev/${label}`));
    assert.equal(toHex(ed25519.getPublicKey(seed)), toHex(key), `${label}: dev key derivation`);
  }
});

test('genesis-hash: blake3(encode(Genesis)) of genesis/dev.toml', () => {
  expectVector('genesis-hash', GENESIS);
  assert.equal(dev.chain_id, 'shanlian-dev');
  assert.equal(dev.time, 1767225600000n);
  // The encoding round-trips through the strict decoder.
  const bytes = encode('Genesis', dev);
  assert.deepEqual(decode('Genesis', bytes), dev);
});

const DONOR = commitment('110101199001011234', new Uint8Array(32).fill(0x11));

test('commitment', () => {
  expectVector('commitment', DONOR);
});

/** A record body of the §12 examples: created 1767225601000, expires 600 000 ms later. */
const body = (nonce, payload) => ({ created: CREATED, expires: CREATED + 600000n, nonce, payload });

/** Recomputes one record vector: body = record minus 96 bytes; decode/re-encode; signature; id. */
function checkRecord(prefix, bodyValue, signer) {
  const bodyBytes = encode('RecordBody', bodyValue);
  const recordBytes = V.get(`${prefix}-record`);
  assert.ok(recordBytes, `${prefix}-record missing`);
  assert.equal(toHex(recordBytes.subarray(0, recordBytes.length - 96)), toHex(bodyBytes), `${prefix} body`);
  const record = decode('SignedRecord', recordBytes);
  assert.deepEqual(record.body, bodyValue);
  assert.deepEqual(record.signer, signer.key);
  expectVector(`${prefix}-record`, encode('SignedRecord', record));
  assert.ok(verifyRecordSignature(record, GENESIS), `${prefix}: signature`);
  assert.ok(verifySignature(signer.key, signingMessage('record', GENESIS, bodyBytes), record.signature));
  // Any other genesis hash breaks the signature (the domain binds the chain).
  assert.ok(!verifyRecordSignature(record, blake3(GENESIS)));
  expectVector(`${prefix}-id`, recordId(recordBytes));
  assert.deepEqual(recordId(record), recordId(recordBytes));
  return { record, bodyBytes, id: recordId(recordBytes) };
}

const donationBody = body(1n, {
  kind: 'RecordDonation',
  receipt: 'SZCF-2026-000001',
  donor: DONOR,
  amount: 10000n,
  channel: { kind: 'DigitalRmb' },
  fund: { kind: 'General', address: charity.address },
  restricted: false,
  pledge: null,
});

let donationId;
let disbursementId;
let salesId;

test('donation-body, donation-signing-message, donation-record, donation-signature, donation-id', () => {
  const bodyBytes = encode('RecordBody', donationBody);
  expectVector('donation-body', bodyBytes);
  assert.deepEqual(decode('RecordBody', bodyBytes), donationBody);
  const message = signingMessage('record', GENESIS, bodyBytes);
  expectVector('donation-signing-message', message);
  assert.deepEqual(message, concat(utf8('shanlian/record/v1'), new Uint8Array([0]), GENESIS, bodyBytes));
  const { record, id } = checkRecord('donation', donationBody, charity);
  expectVector('donation-signature', record.signature);
  assert.ok(verifySignature(charity.key, message, V.get('donation-signature')));
  donationId = id;
});

test('disbursement-record, disbursement-id', () => {
  const { id } = checkRecord(
    'disbursement',
    body(2n, {
      kind: 'RecordDisbursement',
      fund: { kind: 'General', address: charity.address },
      amount: 2500n,
      category: { kind: 'CharitableActivity' },
      recipient: { kind: 'Organisation', name: '某养老院', uscc: null },
      purpose: 'meals for residents',
      evidence: [{ kind: { kind: 'Invoice' }, hash: new Uint8Array(32).fill(0x07) }],
      milestone: null,
    }),
    charity,
  );
  disbursementId = id;
});

test('sales-record, sales-id', () => {
  const { id } = checkRecord(
    'sales',
    body(3n, {
      kind: 'RecordLotterySales',
      game: 'SSQ',
      period: '2026001',
      region: '440300',
      sales: 1000000n,
    }),
    lottery,
  );
  salesId = id;
});

test('leaf-hash and log-root-3', () => {
  const m = ledgerMerkle;
  expectVector('leaf-hash', m.leafHash(donationId));
  assert.deepEqual(m.leafHash(donationId), blake3(new Uint8Array([0]), donationId));
  const ids = [donationId, disbursementId, salesId];
  const root = m.root(ids);
  expectVector('log-root-3', root);
  assert.deepEqual(root, m.nodeHash(m.nodeHash(m.leafHash(ids[0]), m.leafHash(ids[1])), m.leafHash(ids[2])));
  // Each id's inclusion in the 3-leaf log verifies, and the 1- and 2-leaf logs are consistent with it.
  ids.forEach((id, i) => assert.ok(m.verifyInclusion(m.leafHash(id), i, 3, m.inclusionPath(ids, i), root)));
  for (const k of [1, 2])
    assert.ok(m.verifyConsistency(k, 3, m.root(ids.slice(0, k)), root, m.consistencyProof(ids, k)));
});

let HEADER_HASH;

test('header and header-hash', () => {
  const root = V.get('log-root-3');
  const header = {
    chain_id: 'shanlian-dev',
    height: 1n,
    time: 1767225602000n,
    prev_hash: GENESIS,
    log_size: 3n,
    log_root: root,
    record_root: root,
    state_hash: new Uint8Array(32).fill(0x22),
    proposer: bureau.address,
    validator_set_hash: new Uint8Array(32).fill(0x33),
  };
  const bytes = encode('Header', header);
  expectVector('header', bytes);
  assert.deepEqual(decode('Header', V.get('header')), header);
  HEADER_HASH = headerHash(header);
  expectVector('header-hash', HEADER_HASH);
  assert.deepEqual(headerHash(bytes), HEADER_HASH);
});

test('precommit-sign-bytes and precommit-signature', () => {
  const vote = { kind: { kind: 'Precommit' }, height: 1n, round: 0, value: HEADER_HASH, validator: bureau.address };
  const msg = signingMessage('vote', GENESIS, encode('VoteBody', vote));
  expectVector('precommit-sign-bytes', msg);
  const sig = V.get('precommit-signature');
  assert.ok(verifySignature(bureau.key, msg, sig));
  checked.add('precommit-signature');
  // The same signature does not verify as a prevote, or in another domain.
  const prevote = signingMessage('vote', GENESIS, encode('VoteBody', { ...vote, kind: { kind: 'Prevote' } }));
  assert.ok(!verifySignature(bureau.key, prevote, sig));
  const body = msg.subarray(utf8('shanlian/vote/v1').length + 1 + 32);
  assert.ok(!verifySignature(bureau.key, signingMessage('proposal', GENESIS, body), sig));
});

test('proposal-sign-bytes and proposal-signature', () => {
  const proposal = { height: 1n, round: 0, pol_round: null, value: HEADER_HASH, proposer: bureau.address };
  const msg = signingMessage('proposal', GENESIS, encode('ProposalBody', proposal));
  expectVector('proposal-sign-bytes', msg);
  assert.ok(verifySignature(bureau.key, msg, V.get('proposal-signature')));
  checked.add('proposal-signature');
  // A proof-of-lock round changes the signed bytes.
  const withPol = signingMessage('proposal', GENESIS, encode('ProposalBody', { ...proposal, pol_round: 0 }));
  assert.ok(!verifySignature(bureau.key, withPol, V.get('proposal-signature')));
});

test('write-set-leaf-0, write-set-leaf-1, write-set-root, state-hash (§9.3, v2)', () => {
  // The write set [(01 aa, put 05), (02, delete)], previous state hash 32 × 0x44, height 7.
  const ws = [
    { key: fromHex('01aa'), value: fromHex('05') },
    { key: fromHex('02'), value: null },
  ];
  const previous = new Uint8Array(32).fill(0x44);
  // Leaf bytes as §12 spells them out; a leaf hash is blake3(0x00 ‖ leaf).
  const leaf0 = writeSetLeaf(ws[0].key, ws[0].value);
  const leaf1 = writeSetLeaf(ws[1].key, ws[1].value);
  assert.equal(toHex(leaf0), '02000000' + '01aa' + '01' + '01000000' + '05');
  assert.equal(toHex(leaf1), '01000000' + '02' + '00');
  const h0 = ledgerMerkle.leafHash(leaf0);
  const h1 = ledgerMerkle.leafHash(leaf1);
  expectVector('write-set-leaf-0', h0);
  expectVector('write-set-leaf-1', h1);
  assert.deepEqual(h0, blake3(new Uint8Array([0]), leaf0));
  const root = writeSetRoot(ws);
  expectVector('write-set-root', root);
  assert.deepEqual(root, blake3(new Uint8Array([1]), h0, h1));
  const h = stateHash(previous, 7, ws);
  expectVector('state-hash', h);
  assert.deepEqual(
    h,
    blake3(utf8('shanlian/state/v2'), new Uint8Array([0]), previous, fromHex('0700000000000000'), root),
  );
  assert.deepEqual(stateHashOfRoot(previous, 7n, root), h);
  // The write set is sorted by key, so input order does not matter.
  assert.deepEqual(stateHash(previous, 7n, ws.slice().reverse()), h);
  // A write-set proof of each entry (§9.3) gives the state hash back; anything else does not.
  ws.forEach(({ key, value }, index) => {
    const path = ledgerMerkle.inclusionPath([leaf0, leaf1], index);
    const proof = { key, value, index: BigInt(index), size: 2n, path, previous_state_hash: previous };
    assert.ok(verifyWriteSetProof(proof, 7n, h));
    assert.throws(() => verifyWriteSetProof(proof, 8n, h), /root_mismatch/);
    assert.throws(() => verifyWriteSetProof({ ...proof, value: value === null ? new Uint8Array(0) : null }, 7n, h), /root_mismatch/);
    assert.throws(() => verifyWriteSetProof({ ...proof, size: 3n }, 7n, h), /wrong_proof_length|root_mismatch/);
    assert.throws(() => verifyWriteSetProof({ ...proof, index: 2n }, 7n, h), /index_out_of_range/);
  });
});

test('hole-group-key and hole-group-value (§9.1 refund-hole group in commit order)', () => {
  // Block 1: HOLE-1 (100 fen) takes [0, 100), HOLE-2 (50 fen) takes [100, 150) of the federation's
  // general fund. Block 2 refunds 20 of HOLE-2, then 30 of HOLE-1; a refund cuts its hole at the
  // end of the donation's remaining range (§10.3), so the rows are (130, 150) then (70, 100).
  const fund = { kind: 'General', address: charity.address };
  const donations = [
    { start: 0n, amount: 100n },
    { start: 100n, amount: 50n },
  ];
  const hole = (d, refund) => [d.start + d.amount - refund, d.start + d.amount];
  const holes = [hole(donations[1], 20n), hole(donations[0], 30n)];
  assert.deepEqual(holes, [[130n, 150n], [70n, 100n]]);
  // key = 0x22 ‖ encode(FundRef) ‖ BE64(position of the group's first row)
  const key = concat(new Uint8Array([0x22]), encode('FundRef', fund), be64(holes[0][0]));
  expectVector('hole-group-key', key);
  assert.deepEqual(traceRowKey(0x22, fund, 130n), key);
  assert.deepEqual(parseTraceRowKey(key), { family: 0x22, fund, position: 130n });
  // value = encode(Vec<(u64 position, HoleRow { record, end })>), rows in commit order (not
  // position order); each HoleRow names the refund's record id (§2.6).
  const value = V.get('hole-group-value');
  const rows = decode('HoleRows', value);
  assert.deepEqual(
    rows.map(([position, row]) => [position, row.end]),
    holes,
  );
  for (const [, row] of rows) assert.equal(row.record.length, 32);
  assert.notDeepEqual(rows[0][1].record, rows[1][1].record, 'two refunds, two records');
  expectVector('hole-group-value', encode('HoleRows', rows));
  assert.ok(rows[1][0] < rows[0][0], 'a row below its group key');
});

test('every vector in docs/SPEC.md §12 was recomputed', () => {
  assert.deepEqual([...V.keys()].filter((k) => !checked.has(k)), []);
});
