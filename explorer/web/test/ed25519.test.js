// Ed25519 signatures under SPEC §4 (ZIP-215, as ed25519-zebra 4.2) and the member-key rule.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse as parseToml } from 'smol-toml';
import { ed25519, ED25519_TORSION_SUBGROUP } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import {
  ED25519,
  bigIntToBytesLE,
  blake3,
  bytesToBigIntLE,
  concat,
  decompressPoint,
  equalBytes,
  fromHex,
  genesisFromToml,
  isMemberKey,
  memberKeyProblem,
  toHex,
  utf8,
  verifyDomain,
  verifySignature,
  verifySignatureDetailed,
} from '../src/verify/index.js';

const { P, L } = ED25519;
// Written by test/gen-ed25519-vectors.js (which also checks, in its own run, that it is current).
const VECTOR_FILE = new URL('../../../ledger/tests/data/ed25519/zip215.json', import.meta.url);
const VECTORS = JSON.parse(readFileSync(VECTOR_FILE, 'utf8'));
const byName = (name) => {
  const c = VECTORS.cases.find((x) => x.name === name);
  assert.ok(c, `no case ${name}`);
  return c;
};
const run = (c) => verifySignatureDetailed(fromHex(c.public_key), fromHex(c.message), fromHex(c.signature));
/** @noble/curves' own ZIP-215 verification (cofactored, lenient decoding), for comparison. */
const nobleZip215 = (pk, msg, sig) => ed25519.verify(sig, msg, pk, { zip215: true });

const Point = ed25519.Point;
const B = Point.BASE;
const TORSION = ED25519_TORSION_SUBGROUP.map((h) => fromHex(h));
const T8 = Point.fromBytes(TORSION[1]);

/** 32 bytes of a field element y (< 2^255) with an optional sign bit. */
const enc = (y, sign = false) => {
  const b = bigIntToBytesLE(y, 32);
  if (sign) b[31] |= 0x80;
  return b;
};

/** The 14 encodings of small-order points, as the generator and ledger crypto.rs find them. */
function smallOrderEncodings() {
  const out = [];
  for (const t of TORSION) {
    const y = t.slice();
    y[31] &= 0x7f;
    const yv = bytesToBigIntLE(y);
    for (const c of yv < 19n ? [y, enc(yv + P)] : [y])
      for (const sign of [false, true]) {
        const e = c.slice();
        if (sign) e[31] |= 0x80;
        const pt = decompressPoint(e);
        if (pt && pt.double().double().double().is0() && !out.some((o) => equalBytes(o, e))) out.push(e);
      }
  }
  return out;
}

test('zip215.json: every case gets its ZIP-215 verdict', () => {
  assert.ok(VECTORS.cases.length >= 196 + 40, `${VECTORS.cases.length} cases`);
  const names = new Set();
  for (const c of VECTORS.cases) {
    assert.deepEqual(Object.keys(c), ['name', 'public_key', 'message', 'signature', 'valid', 'why']);
    assert.ok(!names.has(c.name), `duplicate case ${c.name}`);
    names.add(c.name);
    assert.equal(typeof c.valid, 'boolean');
    const got = run(c);
    assert.equal(got.ok, c.valid, `${c.name}: got ${JSON.stringify(got)}; ${c.why}`);
  }
});

test('zip215.json: @noble/curves ZIP-215 verification agrees on every case', () => {
  for (const c of VECTORS.cases)
    assert.equal(nobleZip215(fromHex(c.public_key), fromHex(c.message), fromHex(c.signature)), c.valid, c.name);
});

test('zip215.json: each refusal is for the reason the case was built for', () => {
  const expect = {
    's-plus-l': 'non_canonical_s',
    's-equals-l': 'non_canonical_s',
    's-high-bit': 'non_canonical_s',
    'zip215-grid-A0-R0-s-equals-l': 'non_canonical_s',
    'zip215-grid-A0-R0-s-high-bit': 'non_canonical_s',
    'r-not-on-curve': 'r_not_a_point',
    'r-non-canonical-large-order': 'equation',
    'r-identity-y-plus-p-canonical-k': 'equation',
    'a-not-on-curve': 'public_key_not_a_point',
    'a-non-canonical-large-order': 'equation',
    'wrong-message': 'equation',
  };
  for (const [name, reason] of Object.entries(expect)) {
    assert.equal(byName(name).valid, false, name);
    assert.equal(run(byName(name)).reason, reason, name);
  }
  // Every invalid case has its reason checked above.
  const invalid = VECTORS.cases.filter((c) => !c.valid).map((c) => c.name);
  assert.deepEqual(invalid.slice().sort(), Object.keys(expect).sort());
});

test('zip215.json: the cases verify_strict refused and ZIP-215 accepts', () => {
  const nowValid = [
    'r-identity-s-ka',
    'r-identity-sign-bit',
    'r-order2-sign-bit',
    'r-identity-y-plus-p',
    'r-order4-y-plus-p',
    'r-mixed-order-order-2',
    'r-mixed-order-order-8',
    'a-identity-sign-bit',
    'a-identity-y-plus-p',
    'a-torsion-component-order-2-cofactorless-fails',
    'a-torsion-component-order-8-cofactorless-fails',
    ...Array.from({ length: 8 }, (_, j) => `r-small-order-${j}`),
    ...Array.from({ length: 8 }, (_, j) => `a-small-order-${j}`),
  ];
  for (const name of nowValid) assert.ok(run(byName(name)).ok, name);
});

test('zip215.json: the small-order grid is ed25519-zebra tests/small_order.rs', () => {
  const small = smallOrderEncodings();
  assert.equal(small.length, 14);
  const grid = VECTORS.cases.filter((c) => /^zip215-grid-A\d+-R\d+$/.test(c.name));
  assert.equal(grid.length, 14 * 14);
  small.forEach((a, i) =>
    small.forEach((r, j) => {
      const c = byName(`zip215-grid-A${i}-R${j}`);
      assert.equal(c.public_key, toHex(a));
      assert.equal(c.signature, toHex(r) + '00'.repeat(32));
      assert.equal(c.message, toHex(utf8('Zcash')));
      assert.equal(c.valid, true);
    }),
  );
});

test('member-key rule: decodes, canonical, not of small order, torsion-free', () => {
  const dev = genesisFromToml(
    parseToml(readFileSync(new URL('../../../genesis/dev.toml', import.meta.url), 'utf8')),
  );
  for (const m of dev.members) assert.ok(isMemberKey(m.public_key), m.name);
  const key = (name) => fromHex(byName(name).public_key);
  assert.equal(memberKeyProblem(key('valid')), null);
  assert.equal(memberKeyProblem(key('spec-donation-signature')), null);
  const expect = {
    // Keys whose signatures ZIP-215 accepts but which may not belong to a member.
    'a-torsion-component-order-2-cofactorless-holds': 'torsion_key',
    'a-torsion-component-order-8-cofactorless-fails': 'torsion_key',
    'r-small-order-0': 'torsion_key', // a·B + T8
    'a-identity-sign-bit': 'non_canonical_key',
    'a-identity-y-plus-p': 'non_canonical_key',
    'a-non-canonical-large-order': 'non_canonical_key',
    'a-not-on-curve': 'public_key_not_a_point',
  };
  for (let j = 0; j < 8; j++) expect[`a-small-order-${j}`] = 'small_order_key';
  for (const [name, problem] of Object.entries(expect)) {
    assert.equal(memberKeyProblem(key(name)), problem, name);
    assert.ok(!isMemberKey(key(name)), name);
  }
  // The base point and its negation are fine; B + T (any T ≠ identity) is not.
  assert.ok(isMemberKey(B.toBytes()));
  assert.ok(isMemberKey(B.negate().toBytes()));
  for (let j = 1; j < 8; j++)
    assert.equal(memberKeyProblem(B.add(Point.fromBytes(TORSION[j])).toBytes()), 'torsion_key', `B + ${j}·T8`);
  // The 14 small-order encodings: the 8 canonical ones are small_order_key, the 6 others are
  // refused first for their encoding.
  for (const e of smallOrderEncodings()) {
    const canonical = TORSION.some((t) => equalBytes(t, e));
    assert.equal(memberKeyProblem(e), canonical ? 'small_order_key' : 'non_canonical_key', toHex(e));
  }
  // Random keys: canonical and torsion-free.
  for (let i = 0; i < 10; i++) assert.ok(isMemberKey(ed25519.getPublicKey(blake3(utf8(`member key ${i}`)))));
  assert.throws(() => isMemberKey(new Uint8Array(31)), RangeError);
});

test('member-key rule: all 26 non-canonical encodings are refused as non_canonical_key', () => {
  // The non-canonical encodings: y + p for the y < 19 that decode (both signs), and x = 0 with
  // the sign bit set for canonical y (y = 1, y = −1).
  const list = [];
  for (let y = 0n; y < 19n; y++)
    for (const sign of [false, true]) if (decompressPoint(enc(y + P, sign))) list.push(enc(y + P, sign));
  for (const y of [1n, P - 1n]) list.push(enc(y, true));
  assert.equal(list.length, 26);
  for (const e of list) {
    const pt = decompressPoint(e);
    assert.ok(!equalBytes(pt.toBytes(), e), toHex(e));
    assert.equal(memberKeyProblem(e), 'non_canonical_key', toHex(e));
    // ZIP-215 decodes each of them as a public key.
    assert.notEqual(verifySignatureDetailed(e, utf8('m'), new Uint8Array(64)).reason, 'public_key_not_a_point');
    // Each is also a point the rule refuses for its order: the canonical check alone never
    // decides whether a key is admitted, only which refusal is reported (crypto.js Z8).
    assert.ok(['small_order_key', 'torsion_key'].includes(memberKeyProblem(pt.toBytes())), toHex(e));
  }
  // And a canonical encoding with the sign bit flipped is another point, not a non-canonical one.
  const flipped = B.toBytes();
  flipped[31] ^= 0x80;
  assert.equal(memberKeyProblem(flipped), null);
});

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

test('the 14 small-order encodings: accepted as R and as A; s = 0 is not a free pass', () => {
  const small = smallOrderEncodings();
  assert.equal(small.length, 14);
  const seed = new Uint8Array(32).fill(1);
  const { scalar, pointBytes: key } = ed25519.utils.getExtendedPublicKey(seed);
  const r = 12345n;
  const Rb = B.multiply(r).toBytes();
  for (const e of small) {
    const h = toHex(e);
    // As R with s = 0 under a small-order A: [8](R + k·A) = identity.
    assert.ok(verifySignature(small[1], utf8('m'), concat(e, new Uint8Array(32))), h);
    // As R with s = 0 under an ordinary key: R + k·A is of large order.
    assert.equal(verifySignatureDetailed(key, utf8('m'), concat(e, new Uint8Array(32))).reason, 'equation', h);
    // As A, with R = r·B and s = r: R − (s·B − k·A) = k·A, killed by the cofactor.
    assert.ok(verifySignature(e, utf8(`m ${h}`), concat(Rb, bigIntToBytesLE(r, 32))), h);
    // As R, with s = k·a under the ordinary key: s·B − k·A = identity, R − identity is small.
    const msg = utf8(`r ${h}`);
    const k = bytesToBigIntLE(sha512(concat(e, key, msg))) % L;
    const s = ((k * scalar) % L + L) % L;
    assert.ok(verifySignature(key, msg, concat(e, bigIntToBytesLE(s, 32))), h);
  }
});

test('random RFC 8032 signatures verify; any flipped bit breaks them', () => {
  for (let i = 0; i < 40; i++) {
    const seed = blake3(utf8(`ed25519 test key ${i}`));
    const pk = ed25519.getPublicKey(seed);
    const msg = blake3(utf8(`message ${i}`)).subarray(0, i % 33);
    const sig = ed25519.sign(msg, seed);
    assert.ok(verifySignature(pk, msg, sig), `case ${i}`);
    const bit = (i * 37) % 512;
    const bad = sig.slice();
    bad[bit >> 3] ^= 1 << (bit & 7);
    assert.ok(!verifySignature(pk, msg, bad), `case ${i}, signature bit ${bit}`);
    const badKey = pk.slice();
    badKey[i % 32] ^= 1 << (i % 8);
    assert.ok(!verifySignature(badKey, msg, sig), `case ${i}, key`);
    if (msg.length > 0) {
      const badMsg = msg.slice();
      badMsg[0] ^= 0x80;
      assert.ok(!verifySignature(pk, badMsg, sig), `case ${i}, message`);
    }
  }
});

test('R + T with s = r + k·a verifies for every torsion point T (cofactored equation)', () => {
  const seed = new Uint8Array(32).fill(7);
  const { scalar, pointBytes: pk } = ed25519.utils.getExtendedPublicKey(seed);
  for (let j = 0; j < 8; j++) {
    const r = 1000n + BigInt(j);
    const Rb = B.multiply(r).add(Point.fromBytes(TORSION[j])).toBytes();
    const msg = utf8(`torsioned R ${j}`);
    const k = bytesToBigIntLE(sha512(concat(Rb, pk, msg))) % L;
    const s = (r + k * (scalar % L)) % L;
    const sig = concat(Rb, bigIntToBytesLE(s, 32));
    assert.ok(verifySignature(pk, msg, sig), `T = ${j}·T8`);
    assert.ok(nobleZip215(pk, msg, sig), `T = ${j}·T8 (noble)`);
  }
});

test('differential: the verdicts of @noble/curves ZIP-215 on structured random inputs', () => {
  const small = smallOrderEncodings();
  const seed = new Uint8Array(32).fill(5);
  const { scalar, pointBytes: good } = ed25519.utils.getExtendedPublicKey(seed);
  const a = scalar % L;
  const torsioned = B.multiply(a).add(T8).toBytes();
  const keys = [...small, good, torsioned, enc(3n + P), enc(2n), enc(P - 1n, true)];
  let n = 0;
  const rand = (label) => bytesToBigIntLE(blake3(utf8(`differential ${n} ${label}`)));
  let valid = 0;
  for (n = 0; n < 400; n++) {
    const A = keys[Number(rand('A') % BigInt(keys.length))];
    const msg = blake3(utf8(`msg ${n}`)).subarray(0, Number(rand('len') % 20n));
    const rNonce = rand('r') % L;
    const Rs = [...small, B.multiply(rNonce + 1n).toBytes(), B.multiply(rNonce + 1n).add(T8).toBytes(), enc(3n + P), enc(2n)];
    const R = Rs[Number(rand('R') % BigInt(Rs.length))];
    const k = bytesToBigIntLE(sha512(concat(R, A, msg))) % L;
    const aKnown = equalBytes(A, good) || equalBytes(A, torsioned) ? a : 0n;
    const sHonest = (rNonce + 1n + k * aKnown) % L;
    const sChoices = [0n, sHonest, sHonest + L, L, (k * aKnown) % L, rand('s') % L, sHonest + 2n ** 255n];
    const s = sChoices[Number(rand('s-choice') % BigInt(sChoices.length))];
    const sig = concat(R, bigIntToBytesLE(s % 2n ** 256n, 32));
    const mine = verifySignature(A, msg, sig);
    assert.equal(mine, nobleZip215(A, msg, sig), `${n}: A ${toHex(A)} sig ${toHex(sig)}`);
    if (mine) valid++;
  }
  // Both verdicts occur often enough for the comparison to mean something.
  assert.ok(valid > 40 && valid < 360, `${valid} valid`);
});

test('s = ℓ − 1 is canonical and s = ℓ is not (the boundary of Z4a)', () => {
  const seed = new Uint8Array(32).fill(9);
  const pk = ed25519.getPublicKey(seed);
  const sig = ed25519.sign(utf8('x'), seed);
  const withS = (s) => {
    const b = sig.slice();
    b.set(bigIntToBytesLE(s, 32), 32);
    return b;
  };
  assert.equal(verifySignatureDetailed(pk, utf8('x'), withS(L - 1n)).reason, 'equation');
  assert.equal(verifySignatureDetailed(pk, utf8('x'), withS(L)).reason, 'non_canonical_s');
  assert.equal(verifySignatureDetailed(pk, utf8('x'), withS(0n)).reason, 'equation');
  assert.equal(verifySignatureDetailed(pk, utf8('x'), withS(2n ** 255n)).reason, 'non_canonical_s');
  const s = bytesToBigIntLE(sig.subarray(32));
  assert.ok(verifySignature(pk, utf8('x'), withS(s)));
  assert.equal(verifySignatureDetailed(pk, utf8('x'), withS(s + L)).reason, 'non_canonical_s');
  // The refusal order is zebra's: the key, then s, then R.
  assert.equal(verifySignatureDetailed(enc(2n), utf8('x'), concat(enc(2n), bigIntToBytesLE(L, 32))).reason, 'public_key_not_a_point');
  assert.equal(verifySignatureDetailed(pk, utf8('x'), concat(enc(2n), bigIntToBytesLE(L, 32))).reason, 'non_canonical_s');
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
  assert.throws(() => verifySignature(new Uint8Array(31), new Uint8Array(0), new Uint8Array(64)), RangeError);
  assert.throws(() => verifySignature(new Uint8Array(32), new Uint8Array(0), new Uint8Array(65)), RangeError);
  assert.throws(() => verifySignature(new Uint8Array(32), 'text', new Uint8Array(64)), TypeError);
});
