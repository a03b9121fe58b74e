// Strict Ed25519 (SPEC §4, dalek verify_strict) and the member-key rule.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse as parseToml } from 'smol-toml';
import { ed25519, ED25519_TORSION_SUBGROUP } from '@noble/curves/ed25519.js';
import {
  ED25519,
  bigIntToBytesLE,
  blake3,
  decompressPoint,
  fromHex,
  genesisFromToml,
  isTorsionFreeKey,
  toHex,
  utf8,
  verifyDomain,
  verifyStrict,
  verifyStrictDetailed,
} from '../src/verify/index.js';

const { P, L } = ED25519;
// Written by test/gen-ed25519-vectors.js (which also checks, in its own run, that it is current).
const VECTOR_FILE = new URL('../../../ledger/tests/data/ed25519/strict.json', import.meta.url);
const VECTORS = JSON.parse(readFileSync(VECTOR_FILE, 'utf8'));

test('strict.json: every case gets the verdict of ed25519-dalek verify_strict', () => {
  assert.ok(VECTORS.cases.length >= 30);
  const names = new Set();
  for (const c of VECTORS.cases) {
    assert.ok(!names.has(c.name), `duplicate case ${c.name}`);
    names.add(c.name);
    const got = verifyStrictDetailed(fromHex(c.public_key), fromHex(c.message), fromHex(c.signature));
    assert.equal(got.ok, c.valid, `${c.name}: got ${JSON.stringify(got)}; ${c.why}`);
  }
});

test('strict.json: each refusal is for the reason the case was built for', () => {
  const reason = (name) => {
    const c = VECTORS.cases.find((x) => x.name === name);
    return verifyStrictDetailed(fromHex(c.public_key), fromHex(c.message), fromHex(c.signature)).reason;
  };
  const expect = {
    's-plus-l': 'non_canonical_s',
    's-equals-l': 'non_canonical_s',
    's-high-bit': 'non_canonical_s',
    'r-identity-s-ka': 'small_order_r',
    'r-identity-sign-bit': 'small_order_r',
    'r-order2-sign-bit': 'small_order_r',
    'r-identity-y-plus-p': 'small_order_r',
    'r-order4-y-plus-p': 'small_order_r',
    'r-mixed-order-order-2': 'equation',
    'r-mixed-order-order-8': 'equation',
    'r-not-on-curve': 'r_not_a_point',
    'r-non-canonical-large-order': 'equation',
    'a-identity-sign-bit': 'small_order_public_key',
    'a-identity-y-plus-p': 'small_order_public_key',
    'a-torsion-component-order-2-invalid': 'equation',
    'a-torsion-component-order-8-invalid': 'equation',
    'a-not-on-curve': 'public_key_not_a_point',
    'a-non-canonical-large-order': 'equation',
    'wrong-message': 'equation',
  };
  for (let j = 0; j < 8; j++) {
    expect[`r-small-order-${j}`] = 'small_order_r';
    expect[`a-small-order-${j}`] = 'small_order_public_key';
  }
  for (const [name, r] of Object.entries(expect)) assert.equal(reason(name), r, name);
});

test('member-key rule: torsion-free keys only', () => {
  const dev = genesisFromToml(
    parseToml(readFileSync(new URL('../../../genesis/dev.toml', import.meta.url), 'utf8')),
  );
  for (const m of dev.members) assert.ok(isTorsionFreeKey(m.public_key), m.name);
  const key = (name) => fromHex(VECTORS.cases.find((c) => c.name === name).public_key);
  assert.ok(isTorsionFreeKey(key('valid')));
  for (const name of [
    'a-torsion-component-order-2-valid', // verify_strict accepts its signature, the member rule does not
    'a-torsion-component-order-8-valid',
    'a-identity-sign-bit',
    'a-identity-y-plus-p',
    'a-not-on-curve',
    ...Array.from({ length: 8 }, (_, j) => `a-small-order-${j}`),
  ])
    assert.ok(!isTorsionFreeKey(key(name)), name);
  // The base point and its negation are fine; B + T is not.
  const B = ed25519.Point.BASE;
  assert.ok(isTorsionFreeKey(B.toBytes()));
  assert.ok(isTorsionFreeKey(B.negate().toBytes()));
  assert.ok(!isTorsionFreeKey(B.add(ed25519.Point.fromBytes(fromHex(ED25519_TORSION_SUBGROUP[1]))).toBytes()));
});

/** 32 bytes of a field element y (< 2^255) with an optional sign bit. */
const enc = (y, sign = false) => {
  const b = bigIntToBytesLE(y, 32);
  if (sign) b[31] |= 0x80;
  return b;
};

test('decompression follows dalek: y ≥ p accepted, −0 accepted, same points as ZIP-215 decoding', () => {
  const ys = [];
  for (let i = 0n; i < 64n; i++) ys.push(i, P - 1n - i);
  for (let i = 0n; i < 19n; i++) ys.push(P + i); // the only non-canonical y below 2^255
  for (const h of ED25519_TORSION_SUBGROUP) ys.push(fromHex(h).reduce((v, b, i) => v + (BigInt(i === 31 ? b & 0x7f : b) << BigInt(8 * i)), 0n));
  let decoded = 0;
  for (const y of ys)
    for (const sign of [false, true]) {
      const bytes = enc(y, sign);
      const mine = decompressPoint(bytes);
      let noble = null;
      try {
        noble = ed25519.Point.fromBytes(bytes, true); // ZIP-215: y < 2^255, x = 0 with sign bit allowed
      } catch {}
      assert.equal(mine === null, noble === null, toHex(bytes));
      if (mine) {
        assert.ok(mine.equals(noble), toHex(bytes));
        decoded++;
      }
    }
  assert.ok(decoded > 50);
  // y + p means y; x = 0 with the sign bit set is the same point as without.
  assert.ok(decompressPoint(enc(1n + P)).is0());
  assert.ok(decompressPoint(enc(1n, true)).is0());
  assert.ok(decompressPoint(enc(P - 1n, true)).equals(decompressPoint(enc(P - 1n))));
  assert.equal(decompressPoint(enc(2n)), null);
});

test('SPEC §4: exactly 14 encodings of small-order points (8 points, sign bits, y + p for y < 19)', () => {
  const small = new Set();
  const candidates = [];
  for (const h of ED25519_TORSION_SUBGROUP) {
    const canon = fromHex(h);
    const y = bigIntToBytesLE(
      canon.reduce((v, b, i) => v + (BigInt(i === 31 ? b & 0x7f : b) << BigInt(8 * i)), 0n),
      32,
    );
    candidates.push(y);
    const yv = y.reduce((v, b, i) => v + (BigInt(b) << BigInt(8 * i)), 0n);
    if (yv < 19n) candidates.push(enc(yv + P));
  }
  for (const c of candidates)
    for (const sign of [false, true]) {
      const b = c.slice();
      if (sign) b[31] |= 0x80;
      const pt = decompressPoint(b);
      if (pt && pt.double().double().double().is0()) small.add(toHex(b));
    }
  assert.equal(small.size, 14, [...small].join('\n'));
  // As R, each is refused as small order, whatever s.
  const key = ed25519.getPublicKey(new Uint8Array(32).fill(1));
  for (const h of small) {
    const sig = new Uint8Array(64);
    sig.set(fromHex(h));
    sig[32] = 5;
    assert.equal(verifyStrictDetailed(key, utf8('m'), sig).reason, 'small_order_r', h);
    assert.equal(verifyStrictDetailed(fromHex(h), utf8('m'), sig).reason, 'small_order_r', h);
  }
});

test('random RFC 8032 signatures verify; any flipped bit breaks them', () => {
  for (let i = 0; i < 40; i++) {
    const seed = blake3(utf8(`ed25519 test key ${i}`));
    const pk = ed25519.getPublicKey(seed);
    const msg = blake3(utf8(`message ${i}`)).subarray(0, i % 33);
    const sig = ed25519.sign(msg, seed);
    assert.ok(verifyStrict(pk, msg, sig), `case ${i}`);
    const bit = (i * 37) % 512;
    const bad = sig.slice();
    bad[bit >> 3] ^= 1 << (bit & 7);
    assert.ok(!verifyStrict(pk, msg, bad), `case ${i}, signature bit ${bit}`);
    const badKey = pk.slice();
    badKey[i % 32] ^= 1 << (i % 8);
    assert.ok(!verifyStrict(badKey, msg, sig), `case ${i}, key`);
    if (msg.length > 0) {
      const badMsg = msg.slice();
      badMsg[0] ^= 0x80;
      assert.ok(!verifyStrict(pk, badMsg, sig), `case ${i}, message`);
    }
  }
});

test('s = ℓ − 1 is canonical and s = ℓ is not (the boundary of D4a)', () => {
  const seed = new Uint8Array(32).fill(9);
  const pk = ed25519.getPublicKey(seed);
  const sig = ed25519.sign(utf8('x'), seed);
  const withS = (s) => {
    const b = sig.slice();
    b.set(bigIntToBytesLE(s, 32), 32);
    return b;
  };
  assert.equal(verifyStrictDetailed(pk, utf8('x'), withS(L - 1n)).reason, 'equation');
  assert.equal(verifyStrictDetailed(pk, utf8('x'), withS(L)).reason, 'non_canonical_s');
  assert.equal(verifyStrictDetailed(pk, utf8('x'), withS(0n)).reason, 'equation');
});

test('verifyDomain binds the context and the genesis hash', () => {
  const seed = new Uint8Array(32).fill(3);
  const pk = ed25519.getPublicKey(seed);
  const g = blake3(utf8('some genesis'));
  const body = utf8('body');
  const msg = new Uint8Array([...utf8('shanlian/witness/v1'), 0, ...g, ...body]);
  const sig = ed25519.sign(msg, seed);
  assert.ok(verifyDomain('witness', g, body, pk, sig));
  assert.ok(!verifyDomain('vote', g, body, pk, sig));
  assert.ok(!verifyDomain('witness', blake3(g), body, pk, sig));
  assert.throws(() => verifyDomain('nope', g, body, pk, sig), RangeError);
});

test('argument checks', () => {
  assert.throws(() => verifyStrict(new Uint8Array(31), new Uint8Array(0), new Uint8Array(64)), RangeError);
  assert.throws(() => verifyStrict(new Uint8Array(32), new Uint8Array(0), new Uint8Array(65)), RangeError);
  assert.throws(() => verifyStrict(new Uint8Array(32), 'text', new Uint8Array(64)), TypeError);
});
