// Checkpoint proofs (src/verify/checkpoints.js): the explorer's `/api/v1/checkpoints/proof`
// answer, verified with the §13.3 steps. There are no vector files for them; the proofs here are
// cut from the receipt-bundle vectors of ledger/tests/data/bundles (§13.5): `valid-extended.json`
// holds the signed checkpoints of heights 5 and 10 of one chain, the governance steps of heights
// 1, 3, 6 and 7 (a validator change, a key rotation, an admission and a promotion that changes the
// set of height 9 and on), and the consistency proof from log size 7 to 12.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseToml } from 'smol-toml';
import {
  checkCheckpointProof,
  checkpointProofToJson,
  checkpointToPlain,
  genesisFromToml,
  parseCheckpointProofJson,
  sameCheckpoint,
  toHex,
  verifyCheckpointProof,
} from '../src/verify/index.js';

const repo = (p) => fileURLToPath(new URL(`../../../${p}`, import.meta.url));
const DEV = genesisFromToml(parseToml(readFileSync(repo('genesis/dev.toml'), 'utf8')));
const bundleVector = (name) => JSON.parse(readFileSync(repo(`ledger/tests/data/bundles/${name}`), 'utf8')).bundle;
const clone = (x) => JSON.parse(JSON.stringify(x));

/** The proof from the donation's block (height 5) to the extension's checkpoint (height 10). */
function proof5to10() {
  const b = bundleVector('valid-extended.json');
  const ext = b.extensions[0];
  return {
    validators: [...b.validators, ...ext.validators],
    old: b.block.checkpoint,
    new: ext.checkpoint,
    consistency: ext.consistency,
  };
}

/** The proof from height 5 to height 5 (no consistency proof needed). */
function proof5to5() {
  const b = bundleVector('valid-extended.json');
  return { validators: b.validators, old: b.block.checkpoint, new: b.block.checkpoint, consistency: null };
}

function refuses(proof, code, at) {
  const r = checkCheckpointProof(DEV, proof);
  assert.equal(r.ok, false, `expected ${code} at ${at}, but the proof verified`);
  assert.deepEqual({ code: r.error.code, at: r.error.at }, { code, at }, r.error.message);
}

const flip = (hex, i = 0) => hex.slice(0, i) + ((parseInt(hex[i], 16) ^ 1).toString(16)) + hex.slice(i + 1);

test('checkpoint proof: 5 → 10 across an admission and a promotion verifies', () => {
  const p = proof5to10();
  const r = verifyCheckpointProof(DEV, p);
  assert.equal(r.old.height, 5n);
  assert.equal(r.new.height, 10n);
  assert.equal(r.old.log_size, 7n);
  assert.equal(r.new.log_size, 12n);
  assert.equal(toHex(r.old.header_hash), p.old.checkpoint.header_hash);
  // the JSON text, and a parsed value, verify the same
  assert.equal(checkCheckpointProof(DEV, JSON.stringify(p)).ok, true);
  assert.equal(checkCheckpointProof(DEV, parseCheckpointProofJson(p)).ok, true);
  // JSON → value → JSON is the identity
  assert.deepEqual(checkpointProofToJson(parseCheckpointProofJson(p)), p);
});

test('checkpoint proof: equal heights need no consistency proof', () => {
  const r = verifyCheckpointProof(DEV, proof5to5());
  assert.equal(r.old.height, 5n);
  assert.equal(r.new.height, 5n);
  // a left-out consistency reads as null
  const p = proof5to5();
  delete p.consistency;
  assert.equal(checkCheckpointProof(DEV, p).ok, true);
});

test('checkpoint proof: strict JSON form', () => {
  refuses({ ...proof5to10(), extra: 1 }, 'bundle.malformed', 'proof');
  const p = proof5to10();
  delete p.old;
  refuses(p, 'bundle.malformed', 'proof');
  const q = proof5to10();
  q.new.header.log_root = 'zz';
  refuses(q, 'bundle.malformed', 'proof');
  refuses('not json', 'bundle.malformed', 'proof');
  refuses([], 'bundle.malformed', 'proof');
});

test('checkpoint proof: a missing governance step is caught by the validator-set hash', () => {
  // leave out the promotion (height 7): the set of height 10 then differs
  const p = proof5to10();
  p.validators = p.validators.filter((v) => v.block.checkpoint.header.height !== 7);
  refuses(p, 'bundle.validator_set', 'new');
});

test('checkpoint proof: validator steps must be below the new height and in order', () => {
  const p = proof5to10();
  p.validators = [p.validators[0], p.validators[0], ...p.validators.slice(1)]; // a step twice
  refuses(p, 'bundle.order', 'validators[1]');
  const q = proof5to5();
  q.validators = proof5to10().validators; // steps at 6 and 7 are not below 5
  refuses(q, 'bundle.order', 'validators[2]');
});

test('checkpoint proof: a flipped commit signature fails the certificate, naming the checkpoint', () => {
  const p = proof5to10();
  const s = p.new.certificate.signatures[0];
  s.signature = flip(s.signature, 10);
  refuses(p, 'certificate.bad_signature', 'new');
  const q = proof5to10();
  q.old.certificate.signatures[1].signature = flip(q.old.certificate.signatures[1].signature, 3);
  refuses(q, 'certificate.bad_signature', 'old');
});

test('checkpoint proof: a checkpoint that is not its header', () => {
  const p = proof5to10();
  p.old.checkpoint.log_size = 6;
  refuses(p, 'bundle.checkpoint_mismatch', 'old');
});

test('checkpoint proof: old must not be above new', () => {
  const p = proof5to10();
  const swapped = { validators: p.validators, old: p.new, new: p.old, consistency: null };
  // the steps at 6 and 7 are not below the new height 5
  refuses(swapped, 'bundle.order', 'validators[2]');
  swapped.validators = p.validators.slice(0, 2);
  // now both checkpoints pass C … except height 10's set needs the steps left out
  refuses(swapped, 'bundle.validator_set', 'old');
});

test('checkpoint proof: consistency', () => {
  const a = proof5to10();
  a.consistency.path[0] = flip(a.consistency.path[0]);
  refuses(a, 'bundle.consistency', 'consistency');
  const b = proof5to10();
  b.consistency.path.pop();
  refuses(b, 'bundle.consistency', 'consistency');
  const c = proof5to10();
  c.consistency.old_size = 6;
  refuses(c, 'bundle.consistency', 'consistency');
  const d = proof5to10();
  d.consistency = null; // 7 → 12 needs a proof
  refuses(d, 'bundle.consistency', 'consistency');
});

test('checkpoint proof: the fork check compares every field of the remembered checkpoint', () => {
  const r = verifyCheckpointProof(DEV, proof5to10());
  const remembered = checkpointToPlain(r.old);
  assert.deepEqual(Object.keys(remembered).sort(), ['header_hash', 'height', 'log_root', 'log_size']);
  assert.equal(sameCheckpoint(r.old, remembered), true);
  assert.equal(sameCheckpoint(r.old, { ...remembered, header_hash: remembered.header_hash.toUpperCase() }), true);
  assert.equal(sameCheckpoint(r.new, remembered), false);
  for (const [k, v] of [
    ['header_hash', flip(remembered.header_hash)],
    ['log_root', flip(remembered.log_root, 63)],
    ['log_size', remembered.log_size + 1],
    ['height', remembered.height + 1],
  ])
    assert.equal(sameCheckpoint(r.old, { ...remembered, [k]: v }), false, k);
  // a remembered checkpoint round-trips through JSON (localStorage)
  assert.equal(sameCheckpoint(r.old, JSON.parse(JSON.stringify(remembered))), true);
  assert.ok(clone(remembered));
});
