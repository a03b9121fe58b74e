// Generator of ledger/tests/data/ed25519/zip215.json: Ed25519 edge cases with their verdict under
// the signature rule of SPEC §4, ZIP-215 exactly as ed25519-zebra 4.2 implements it
// (`VerificationKey::try_from(public_key)` then `verify(&Signature::from_bytes(sig), msg)`; the
// behaviours Z1–Z8 at the top of the Ed25519 part of src/verify/crypto.js, with source lines).
// The verdicts (`valid`) are set BY CONSTRUCTION here, never by running a verifier: each case is
// built so that one known thing decides it, and the generator asserts that the points it built
// satisfy (or fail) the cofactored equation [8](R − (s·B − k·A)) = 0 as intended.
// test/ed25519.test.js then checks our verifier against the file, and the Rust side checks
// ed25519-zebra's single verification and the ledger's batch verification against it.
//
//   node test/gen-ed25519-vectors.js --write   rewrite the file
//   node test/gen-ed25519-vectors.js           (as run by `npm test`) check the file is current
//
// Everything is deterministic: keys come from fixed labels, nonces from fixed labels, and the
// messages that need a particular challenge k (mod 2, 4 or 8) are found by counting up.
//
// The cases carried over from the former strict.json (verify_strict verdicts) keep their names,
// key labels and messages, so their public_key / message / signature bytes are identical to
// what that file held; only `valid` and `why` changed. That is why the labels and messages still
// say "strict". (The two a-torsion-component pairs were renamed, see there.)
//
// What cannot be built, and so is not here:
// - a VALID signature whose R is a non-canonical encoding of a point of large order. The only
//   non-canonical encodings are y + p for y < 19 and x = 0 with the sign bit set; the latter
//   and y ∈ {0, 1} are points of small order (all in the grid below), and the large-order points
//   with y ∈ {2, …, 18} have no known discrete logarithm, so nobody can make R − (s·B − k·A) a
//   torsion point for them (that would need log(R) or a SHA-512 preimage giving a chosen k).
//   r-non-canonical-large-order is therefore an invalid case (it decodes; the equation fails).
// - likewise a valid signature under a non-canonical encoding of a large-order A; and for a
//   small-order A, k·A is killed by the cofactor, so no case can show that A's bytes (rather
//   than its canonical re-encoding) go into k. For R it can: r-identity-y-plus-p and its
//   "-canonical-k" twin.

import { writeFileSync, readFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ed25519, ED25519_TORSION_SUBGROUP } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { blake3 } from '@noble/hashes/blake3.js';
import { bigIntToBytesLE, bytesToBigIntLE, concat, equalBytes, fromHex, toHex, utf8 } from '../src/verify/bytes.js';

const HERE = dirname(fileURLToPath(import.meta.url));
export const VECTOR_FILE = join(HERE, '../../../ledger/tests/data/ed25519/zip215.json');

const Point = ed25519.Point;
const B = Point.BASE;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const P = 2n ** 255n - 19n;
const modL = (x) => ((x % L) + L) % L;

/**
 * T[j] = j·T8, where T8 = TORSION[1] generates the 8-torsion subgroup; ord(T[j]) = 8/gcd(j, 8).
 * @noble/curves lists them in the same order as curve25519-dalek's EIGHT_TORSION (checked
 * against its limbs, backend/serial/u64/constants.rs), so TORSION[j] = EIGHT_TORSION[j].compress().
 */
const TORSION = ED25519_TORSION_SUBGROUP.map((h) => fromHex(h));
const T = TORSION.map((b) => Point.fromBytes(b, true));
const ORDER = [1, 8, 4, 8, 2, 8, 4, 8];

/** A deterministic 32-byte value from a label (like the dev keys of SPEC §12, other labels). */
const derive = (label) => blake3(utf8(`shanlian insecure dev key` + `strict/${label}`));

/** A key pair from a label: the clamped scalar a (mod ℓ) and A = a·B. */
function keyPair(label) {
  const seed = derive(label);
  const { scalar, pointBytes } = ed25519.utils.getExtendedPublicKey(seed);
  return { seed, a: modL(scalar), A: Point.fromBytes(pointBytes), Abytes: pointBytes };
}

/** k = SHA-512(R ‖ A ‖ M) mod ℓ over the given bytes (Z5). */
const challenge = (Rbytes, Abytes, msg) => bytesToBigIntLE(sha512(concat(Rbytes, Abytes, msg))) % L;

const sig = (Rbytes, s) => concat(Rbytes, bigIntToBytesLE(s, 32));

/** The first message "<base> #<i>" whose challenge satisfies `pred(k)`; counts up from 0. */
function grind(base, Rbytes, Abytes, pred) {
  for (let i = 0; ; i++) {
    const msg = utf8(`${base} #${i}`);
    const k = challenge(Rbytes, Abytes, msg);
    if (pred(k)) return { msg, k };
  }
}

/** s·B − k·A for s, k < ℓ (on points; 0 allowed). */
const rPrime = (Apoint, s, k) => B.multiplyUnsafe(s).subtract(Apoint.multiplyUnsafe(k));

/** Whether the cofactored equation of ZIP-215 holds on points: [8](R − (s·B − k·A)) = identity. */
function cofactored(Apoint, Rpoint, s, k) {
  return Rpoint.subtract(rPrime(Apoint, s, k)).multiplyUnsafe(8n).is0();
}

/** Whether the cofactorless equation holds on points: s·B − k·A == R (encodings aside). */
function cofactorless(Apoint, Rpoint, s, k) {
  return rPrime(Apoint, s, k).equals(Rpoint);
}

/** ZIP-215 decoding (y taken mod p, −0 allowed): the point, or null. */
function decode(bytes) {
  try {
    return Point.fromBytes(bytes, true);
  } catch {
    return null;
  }
}

/** A 32-byte little-endian field element with the sign bit. */
function enc(y, signBit = false) {
  const b = bigIntToBytesLE(y, 32);
  if (signBit) b[31] |= 0x80;
  return b;
}

/**
 * The byte strings that decode to a point of small order, found as ledger/core/src/crypto.rs
 * `small_order_encodings` finds them: for each EIGHT_TORSION point in order, its canonical y
 * (sign bit cleared) and, when y < 19, y + p; each with the sign bit clear and set; kept when it
 * decodes to a small-order point and is new. Exactly 14 (asserted), and the same set as
 * ed25519-zebra's tests/small_order.rs uses (EIGHT_TORSION encodings + the first six of
 * util::non_canonical_point_encodings, asserted too).
 */
export function smallOrderEncodings() {
  const out = [];
  for (const t of TORSION) {
    const y = t.slice();
    y[31] &= 0x7f;
    const yv = bytesToBigIntLE(y);
    const candidates = [y];
    if (yv < 19n) candidates.push(enc(yv + P));
    for (const c of candidates)
      for (const sign of [false, true]) {
        const e = c.slice();
        if (sign) e[31] |= 0x80;
        const pt = decode(e);
        if (pt && pt.multiplyUnsafe(8n).is0() && !out.some((o) => equalBytes(o, e))) out.push(e);
      }
  }
  assert.equal(out.length, 14);
  const zebra = [
    ...TORSION,
    enc(1n, true), // y = 1, sign bit set
    enc(P - 1n, true), // y = −1, sign bit set
    enc(0n + P), // the y + p encodings that decode, for y = 0 and 1, both signs
    enc(0n + P, true),
    enc(1n + P),
    enc(1n + P, true),
  ];
  assert.deepEqual(new Set(out.map(toHex)), new Set(zebra.map(toHex)));
  return out;
}

/** What a small-order encoding is, for the `why` texts: "j·T8 (order n), <encoding>". */
function describeSmall(e) {
  const pt = decode(e);
  const j = T.findIndex((t) => t.equals(pt));
  assert.ok(j >= 0);
  const y = bytesToBigIntLE(e) & (2n ** 255n - 1n);
  const how = [];
  if (y >= P) how.push(`y = ${y - P} + p`);
  if (e[31] & 0x80) how.push(pt.x === 0n ? 'x = 0 with the sign bit set' : 'sign bit set');
  const canonical = equalBytes(pt.toBytes(), e);
  assert.equal(canonical, how.length === 0 || (how.length === 1 && how[0] === 'sign bit set'));
  return `${j}·T8 (order ${ORDER[j]}), ${canonical ? 'canonical' : `non-canonical: ${how.join(', ')}`}`;
}

export function buildVectors() {
  const cases = [];
  const add = (name, { A, msg, s: signature, valid, why }) =>
    cases.push({
      name,
      public_key: toHex(A),
      message: toHex(msg),
      signature: toHex(signature),
      valid,
      why,
    });

  const key = keyPair('signer');
  const { a, A, Abytes } = key;
  const nonce = (label) => modL(bytesToBigIntLE(sha512(derive(`nonce/${label}`))));

  // --- valid signatures -------------------------------------------------------------------
  const msg = utf8('shanlian strict vector: a donation receipt');
  const good = ed25519.sign(msg, key.seed); // RFC 8032 signing
  const R0 = good.slice(0, 32);
  const s0 = bytesToBigIntLE(good.slice(32));
  assert.ok(cofactorless(A, decode(R0), s0, challenge(R0, Abytes, msg)));
  add('valid', {
    A: Abytes, msg, s: good, valid: true,
    why: 'an RFC 8032 signature under a torsion-free key: s < ℓ, R and A decode, s·B − k·A = R exactly (so the cofactored equation holds too)',
  });
  const empty = new Uint8Array(0);
  add('valid-empty-message', {
    A: Abytes, msg: empty, s: ed25519.sign(empty, key.seed), valid: true,
    why: 'an RFC 8032 signature over the empty message',
  });
  {
    // The donation-signature vector of docs/SPEC.md §12, made by the Rust code itself.
    const pk = fromHex('3cd9adfa1a730f3a22a09447baaa4470716061a854512b87864ceab1a32536bb');
    const m = fromHex(
      '7368616e6c69616e2f7265636f72642f7631002c5bd8d7bad29649860b1988ba3581a7d07a893e10fd725f1a5fd436ada47764e8abda769b010000a8d3e3769b01000001000000000000000a0000001000000000000000535a43462d323032362d30303030303170d47f7070b7d1551176d1b71c17c7bb1477a269be2dc552e308c400e13f60b010270000000000000100000000000000044e841d424ae89c843cb412b9dbf768372b485b0000',
    );
    const sg = fromHex(
      '67d3303a661d9e59dd8a5fe70a8ecab2e0094632b986a4564583360ac287efb96085a92742ed6a164503b087fa8a49ef1784bce897248f7b5c73c6a72b39eb0e',
    );
    add('spec-donation-signature', {
      A: pk, msg: m, s: sg, valid: true,
      why: 'SPEC §12 donation-signature over donation-signing-message under charity-federation, as printed by the Rust code',
    });
  }

  // --- scalar s: must be < ℓ as a 256-bit integer (Z4a), even where s − ℓ would verify -------
  add('s-plus-l', {
    A: Abytes, msg, s: sig(R0, s0 + L), valid: false,
    why: 'the valid signature with s + ℓ (< 2^253, bit 255 clear): Scalar::from_canonical_bytes refuses s ≥ ℓ (Z4a), although s + ℓ ≡ s mod ℓ and s itself verifies',
  });
  add('s-equals-l', {
    A: Abytes, msg, s: sig(R0, L), valid: false,
    why: 's = ℓ exactly: not canonical (Z4a)',
  });
  {
    const bad = sig(R0, s0);
    bad[63] |= 0x80;
    add('s-high-bit', {
      A: Abytes, msg, s: bad, valid: false,
      why: 'the valid signature with bit 255 of s set: from_canonical_bytes requires the high bit clear and s < ℓ (Z4a)',
    });
  }

  // --- small-order R: accepted (ZIP-215 has no small-order check, Z8) ----------------------
  {
    const Rb = TORSION[0]; // identity, 01 00 … 00
    const m = utf8('shanlian strict vector: R = identity');
    const k = challenge(Rb, Abytes, m);
    const s = modL(k * a);
    assert.ok(cofactorless(A, T[0], s, k));
    assert.ok(cofactored(A, T[0], s, k));
    add('r-identity-s-ka', {
      A: Abytes, msg: m, s: sig(Rb, s), valid: true,
      why: 'R = identity (canonical 01 00…00), s = k·a: s·B − k·A = identity = R, so R − (s·B − k·A) = identity and the cofactored equation holds; ZIP-215 does not refuse R of small order (verify_strict did)',
    });
  }
  {
    // With the key A' = a'·B + T8 (large order, torsion component of order 8) and s = k·a',
    // s·B − k·A' = −k·T8 = T[−k mod 8]. Grinding the message until −k ≡ j (mod 8) makes R = T[j]
    // satisfy even the cofactorless equation exactly, for each of the 8 torsion points. (−k is
    // taken on the integer k < ℓ, not mod ℓ: ℓ is odd, so ℓ − k has another residue mod 8.)
    const tk = keyPair('torsion-8-key');
    const At = tk.A.add(T[1]);
    const AtBytes = At.toBytes();
    for (let j = 0; j < 8; j++) {
      const Rb = TORSION[j];
      const { msg: m, k } = grind(`shanlian strict vector: small-order R ${j}`, Rb, AtBytes, (k) => (8n - (k % 8n)) % 8n === BigInt(j));
      const s = modL(k * tk.a);
      assert.ok(cofactorless(At, T[j], s, k));
      assert.ok(cofactored(At, T[j], s, k));
      add(`r-small-order-${j}`, {
        A: AtBytes, msg: m, s: sig(Rb, s), valid: true,
        why: `R = ${j}·T8, a torsion point of order ${ORDER[j]}, canonical encoding; the key is a·B + T8 (large order, not torsion-free) and s = k·a with k ≡ ${(8 - j) % 8} (mod 8), so s·B − k·A = R exactly and the cofactored equation holds; neither small-order R nor a torsioned A is refused by ZIP-215`,
      });
    }
  }
  {
    // Non-canonical encodings of small-order points: all decode (Z3) and are accepted. k is over
    // R's bytes as given (Z5): with s = k·a, s·B − k·A = identity, and R − identity is a torsion
    // point. A verifier that hashed R's canonical re-encoding would get another k and refuse
    // (see r-identity-y-plus-p-canonical-k for the converse).
    const m = utf8('shanlian strict vector: non-canonical small-order R');
    const list = [
      ['r-identity-sign-bit', enc(1n, true), 'R = 01 00…00 80: y = 1, x = 0 with the sign bit set; dalek decodes it (−0 = 0, Z3) to the identity'],
      ['r-order2-sign-bit', enc(P - 1n, true), 'R = ec ff…ff ff: y = −1, x = 0 with the sign bit set; decodes (Z3) to the point of order 2'],
      ['r-identity-y-plus-p', enc(1n + P), 'R = ee ff…ff 7f: y = 1 + p (non-canonical, Z3 accepts y ≥ p) decodes to the identity'],
      ['r-order4-y-plus-p', enc(0n + P), 'R = ed ff…ff 7f: y = 0 + p (non-canonical) decodes to a point of order 4'],
    ];
    for (const [name, Rb, why] of list) {
      const Rp = decode(Rb);
      assert.ok(Rp.multiplyUnsafe(8n).is0() && !equalBytes(Rp.toBytes(), Rb));
      const k = challenge(Rb, Abytes, m);
      const s = modL(k * a);
      assert.ok(cofactored(A, Rp, s, k));
      add(name, {
        A: Abytes, msg: m, s: sig(Rb, s), valid: true,
        why: `${why}; s = k·a with k hashed over R's bytes as given (Z5), so s·B − k·A = identity and R − identity is of small order: the cofactored equation holds`,
      });
    }
    // The converse: the same non-canonical R, but s made with k over R's canonical encoding
    // 01 00…00. ZIP-215 hashes the bytes as given, so k' ≠ k and s·B − k'·A = (k − k')·A is of
    // large order.
    const Rb = enc(1n + P);
    const kCanon = challenge(TORSION[0], Abytes, m);
    const k = challenge(Rb, Abytes, m);
    assert.notEqual(k, kCanon);
    const s = modL(kCanon * a);
    assert.ok(!cofactored(A, decode(Rb), s, k));
    add('r-identity-y-plus-p-canonical-k', {
      A: Abytes, msg: m, s: sig(Rb, s), valid: false,
      why: 'R = ee ff…ff 7f (y = 1 + p, the identity) as in r-identity-y-plus-p, but s = k′·a with k′ hashed over the canonical encoding 01 00…00 of R: ZIP-215 hashes R as given (Z5), so k ≠ k′ and R − (s·B − k·A) = (k − k′)·A is of large order; the cofactored equation fails',
    });
  }

  // --- R with a torsion component (mixed order): cofactored yes, cofactorless no -------------
  for (const [j, label] of [[4, 'order-2'], [1, 'order-8']]) {
    const r = nonce(`mixed-${j}`);
    const Rp = B.multiply(r).add(T[j]);
    const Rb = Rp.toBytes();
    const m = utf8(`shanlian strict vector: mixed-order R ${label}`);
    const k = challenge(Rb, Abytes, m);
    const s = modL(r + k * a);
    assert.ok(!cofactorless(A, Rp, s, k));
    assert.ok(cofactored(A, Rp, s, k));
    add(`r-mixed-order-${label}`, {
      A: Abytes, msg: m, s: sig(Rb, s), valid: true,
      why: `R = r·B + T with T of ${label.replace('-', ' ')}, s = r + k·a: s·B − k·A = r·B, so R − (s·B − k·A) = T and [8]T = identity: the cofactored equation holds (Z4c) though the cofactorless one (s·B − k·A = R, which verify_strict used) does not`,
    });
  }

  // --- R that is not a point / non-canonical R of large order ------------------------------
  {
    const Rb = enc(2n); // (4 − 1)/(4d + 1) is not a square
    assert.equal(decode(Rb), null);
    add('r-not-on-curve', {
      A: Abytes, msg, s: sig(Rb, s0), valid: false,
      why: 'R = 02 00…00: y = 2 is not the y of any curve point, decompression fails (Z3, Z4b)',
    });
    const Rn = enc(3n + P);
    const m = utf8('shanlian strict vector: non-canonical R');
    const k = challenge(Rn, Abytes, m);
    const r = nonce('nc');
    const s = modL(r + k * a);
    const Rp = decode(Rn);
    assert.ok(Rp !== null && !Rp.multiplyUnsafe(8n).is0());
    assert.ok(!cofactored(A, Rp, s, k));
    add('r-non-canonical-large-order', {
      A: Abytes, msg: m, s: sig(Rn, s), valid: false,
      why: 'R = f0 ff…ff 7f: y = 3 + p, a non-canonical encoding of a point of large order; it decodes (Z3), but s = r + k·a gives s·B − k·A = r·B, and R − r·B is not of small order (nobody knows log(R)): the cofactored equation fails. A valid signature with such an R cannot be made',
    });
  }

  // --- small-order A (weak keys): accepted by the signature rule (Z8) ------------------------
  for (let j = 0; j < 8; j++) {
    const Ab = TORSION[j];
    const r = nonce(`weak-${j}`);
    const Rp = B.multiply(r);
    const Rb = Rp.toBytes();
    // k ≡ 0 (mod ord A) makes even the cofactorless equation hold, so the only thing that could
    // refuse these is a small-order check on A, which ZIP-215 does not have.
    const { msg: m, k } = grind(`shanlian strict vector: weak key ${j}`, Rb, Ab, (k) => k % BigInt(ORDER[j]) === 0n);
    assert.ok(cofactorless(T[j], Rp, r, k));
    assert.ok(cofactored(T[j], Rp, r, k));
    add(`a-small-order-${j}`, {
      A: Ab, msg: m, s: sig(Rb, r), valid: true,
      why: `A = ${j}·T8, of order ${ORDER[j]} (a weak key, canonical encoding); R = r·B, s = r and k ≡ 0 (mod ${ORDER[j]}), so k·A = identity and s·B − k·A = R exactly; ZIP-215 does not refuse A of small order (any s = r would do: [8]k·A = identity for every k). The member-key rule refuses this key`,
    });
  }
  {
    // Non-canonical encodings of the identity as A: they decode (Z3), the hash uses the bytes as
    // given (Z5), k·A = identity whatever k, so s = r verifies.
    for (const [name, Ab, why] of [
      ['a-identity-sign-bit', enc(1n, true), 'A = 01 00…00 80: x = 0 with the sign bit set decodes (Z3) to the identity'],
      ['a-identity-y-plus-p', enc(1n + P), 'A = ee ff…ff 7f: y = 1 + p decodes (Z3) to the identity'],
    ]) {
      const r = nonce(name);
      const Rp = B.multiply(r);
      const Rb = Rp.toBytes();
      const m = utf8(`shanlian strict vector: ${name}`);
      const Ap = decode(Ab);
      assert.ok(Ap.is0());
      assert.ok(cofactored(Ap, Rp, r, challenge(Rb, Ab, m)));
      add(name, {
        A: Ab, msg: m, s: sig(Rb, r), valid: true,
        why: `${why}; R = r·B, s = r, so s·B − k·A = R whatever k; ZIP-215 accepts both the non-canonical encoding and the small order. The member-key rule refuses this key (not canonical)`,
      });
    }
  }

  // --- A with a torsion component but large order: accepted for every k ----------------------
  // Renamed from strict.json's "-valid" / "-invalid": both are valid now; the names say which
  // equation holds (k ≡ 0 mod ord T: both; k ≢ 0: only the cofactored one).
  for (const [j, label] of [[4, 'order-2'], [1, 'order-8']]) {
    const tk = keyPair(`torsion-component-${label}`);
    const At = tk.A.add(T[j]);
    const AtBytes = At.toBytes();
    const r = nonce(`torsion-component-${label}`);
    const Rp = B.multiply(r);
    const Rb = Rp.toBytes();
    const ord = BigInt(ORDER[j]);
    const ok = grind(`shanlian strict vector: torsioned key ${label}, k ≡ 0`, Rb, AtBytes, (k) => k % ord === 0n);
    const s1 = modL(r + ok.k * tk.a);
    assert.ok(cofactorless(At, Rp, s1, ok.k));
    assert.ok(cofactored(At, Rp, s1, ok.k));
    add(`a-torsion-component-${label}-cofactorless-holds`, {
      A: AtBytes, msg: ok.msg, s: sig(Rb, s1), valid: true,
      why: `A = a·B + T, T of ${label.replace('-', ' ')} (large order, not torsion-free); s = r + k·a with k ≡ 0 (mod ${ord}) gives s·B − k·A = r·B − k·T = R exactly. ZIP-215 never checks torsion-freeness; the member-key rule (SPEC §4, isMemberKey / check_member_key) refuses this key`,
    });
    const bad = grind(`shanlian strict vector: torsioned key ${label}, k ≢ 0`, Rb, AtBytes, (k) => k % ord !== 0n);
    const s2 = modL(r + bad.k * tk.a);
    assert.ok(!cofactorless(At, Rp, s2, bad.k));
    assert.ok(cofactored(At, Rp, s2, bad.k));
    add(`a-torsion-component-${label}-cofactorless-fails`, {
      A: AtBytes, msg: bad.msg, s: sig(Rb, s2), valid: true,
      why: `the same kind of key, k ≢ 0 (mod ${ord}): s·B − k·A = R − k·T ≠ R, so the cofactorless equation fails (verify_strict refused this), but R − (s·B − k·A) = k·T is of small order and the cofactored equation holds`,
    });
  }

  // --- A that is not a point / non-canonical A of large order -------------------------------
  assert.equal(decode(enc(2n)), null);
  add('a-not-on-curve', {
    A: enc(2n), msg, s: good, valid: false,
    why: 'A = 02 00…00: y = 2 is not on the curve; VerificationKey::try_from fails (Z2)',
  });
  {
    const An = enc(3n + P);
    const r = nonce('a-nc');
    const Rp = B.multiply(r);
    const Rb = Rp.toBytes();
    const m = utf8('shanlian strict vector: non-canonical A');
    const Ap = decode(An);
    assert.ok(Ap !== null && !Ap.multiplyUnsafe(8n).is0());
    assert.ok(!cofactored(Ap, Rp, r, challenge(Rb, An, m)));
    add('a-non-canonical-large-order', {
      A: An, msg: m, s: sig(Rb, r), valid: false,
      why: 'A = f0 ff…ff 7f: y = 3 + p, a non-canonical encoding of a large-order point; try_from accepts it (Z2, Z3), but nobody knows its discrete log, so this signature (s = r) fails: R − (s·B − k·A) = k·A is not of small order',
    });
  }

  // --- wrong message ------------------------------------------------------------------------
  add('wrong-message', {
    A: Abytes, msg: utf8('shanlian strict vector: a donation receipt!'), s: good, valid: false,
    why: 'the valid signature of case "valid" over a different message',
  });

  // --- the ZIP-215 small-order grid ----------------------------------------------------------
  // ed25519-zebra tests/small_order.rs: every (A, R) among the 14 small-order encodings, s = 0,
  // message "Zcash" — all valid under ZIP-215 (its `valid_zip215 = true`). Indexes are those of
  // smallOrderEncodings() (the Rust scan order), listed in README.md.
  const small = smallOrderEncodings();
  const zcash = utf8('Zcash');
  const zero = new Uint8Array(32);
  small.forEach((Ab, i) => {
    const Ap = decode(Ab);
    small.forEach((Rb, j) => {
      const Rp = decode(Rb);
      assert.ok(cofactored(Ap, Rp, 0n, challenge(Rb, Ab, zcash)));
      add(`zip215-grid-A${i}-R${j}`, {
        A: Ab, msg: zcash, s: concat(Rb, zero), valid: true,
        why: `ZIP-215 small-order grid (ed25519-zebra tests/small_order.rs): A = E${i}, ${describeSmall(Ab)}; R = E${j}, ${describeSmall(Rb)}; s = 0, message "Zcash": [8]A = [8]R = identity, so [8](R − (0·B − k·A)) = identity whatever k`,
      });
    });
  });
  {
    // The grid's first case with s = ℓ instead of 0: s − ℓ = 0 would verify, s = ℓ is refused.
    const Ab = small[0];
    const Rb = small[0];
    assert.ok(cofactored(decode(Ab), decode(Rb), 0n, challenge(Rb, Ab, zcash)));
    add('zip215-grid-A0-R0-s-equals-l', {
      A: Ab, msg: zcash, s: sig(Rb, L), valid: false,
      why: 'zip215-grid-A0-R0 (A = R = identity, canonical) with s = ℓ instead of 0: s mod ℓ = 0 would verify, but Scalar::from_canonical_bytes refuses s ≥ ℓ (Z4a)',
    });
    const high = sig(Rb, 0n);
    high[63] |= 0x80;
    add('zip215-grid-A0-R0-s-high-bit', {
      A: Ab, msg: zcash, s: high, valid: false,
      why: 'zip215-grid-A0-R0 with bit 255 of s set (s = 2^255): refused by from_canonical_bytes (Z4a), although everything else about the case is valid',
    });
  }

  return {
    description:
      'Ed25519 edge cases for the signature rule of docs/SPEC.md §4: ZIP-215 as ed25519-zebra 4.2 implements it. A case is valid iff public_key decodes (curve25519-dalek CompressedEdwardsY::decompress: y taken mod p after masking bit 255, x = 0 with the sign bit allowed; small order and torsion allowed), s (the last 32 bytes, little-endian, all 256 bits) is < ℓ, R (the first 32 bytes) decodes the same way, and [8](R − (s·B − k·A)) is the identity with k = SHA-512(R bytes ‖ public_key bytes ‖ message) mod ℓ. The cofactorless equation is never used. `valid` is set by construction (explorer/web/test/gen-ed25519-vectors.js), not by running a verifier; see README.md beside this file.',
    cases,
  };
}

function render() {
  return JSON.stringify(buildVectors(), null, 2) + '\n';
}

if (process.argv.includes('--write')) {
  mkdirSync(dirname(VECTOR_FILE), { recursive: true });
  writeFileSync(VECTOR_FILE, render());
  console.log(`wrote ${VECTOR_FILE}`);
} else {
  test('ledger/tests/data/ed25519/zip215.json is what the generator makes', () => {
    assert.equal(readFileSync(VECTOR_FILE, 'utf8'), render(), 'run: node test/gen-ed25519-vectors.js --write');
  });
}
