// Generator of ledger/tests/data/ed25519/strict.json: Ed25519 edge cases with the verdict of
// ed25519-dalek 2.2 `VerifyingKey::from_bytes(pk)` + `verify_strict(msg, &Signature::from_bytes(sig))`
// (SPEC §4). The verdicts (`valid`) are set BY CONSTRUCTION here, from the dalek behaviours
// listed at the top of the ed25519 part of src/verify/crypto.js (D1–D7), never by running a
// verifier; test/ed25519.test.js then checks our verifier against the file, and the Rust side
// checks dalek against the same file.
//
//   node test/gen-ed25519-vectors.js --write   rewrite the file
//   node test/gen-ed25519-vectors.js           (as run by `npm test`) check the file is current
//
// Everything is deterministic: keys come from fixed labels, nonces from fixed labels, and the
// messages that need a particular challenge k (mod 2, 4 or 8) are found by counting up.

import { writeFileSync, readFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ed25519, ED25519_TORSION_SUBGROUP } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { blake3 } from '@noble/hashes/blake3.js';
import { bigIntToBytesLE, bytesToBigIntLE, concat, fromHex, toHex, utf8 } from '../src/verify/bytes.js';

const HERE = dirname(fileURLToPath(import.meta.url));
export const VECTOR_FILE = join(HERE, '../../../ledger/tests/data/ed25519/strict.json');

const Point = ed25519.Point;
const B = Point.BASE;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const P = 2n ** 255n - 19n;
const modL = (x) => ((x % L) + L) % L;

/** T[j] = j·T8, where T8 = TORSION[1] generates the 8-torsion subgroup; ord(T[j]) = 8/gcd(j, 8). */
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

/** k = SHA-512(R ‖ A ‖ M) mod ℓ over the given bytes (dalek D6). */
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

/** Whether the cofactorless equation holds on points: s·B − k·A == R (encodings aside). */
function cofactorless(Apoint, Rpoint, s, k) {
  return B.multiplyUnsafe(s).subtract(Apoint.multiplyUnsafe(k)).equals(Rpoint);
}

/** A 32-byte little-endian field element with the sign bit. */
function enc(y, signBit = false) {
  const b = bigIntToBytesLE(y, 32);
  if (signBit) b[31] |= 0x80;
  return b;
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
  add('valid', {
    A: Abytes, msg, s: good, valid: true,
    why: 'an RFC 8032 signature under a torsion-free key: s < ℓ, R and A decode and are not of small order, canonical R matches',
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

  // --- scalar s ---------------------------------------------------------------------------
  const R0 = good.slice(0, 32);
  const s0 = bytesToBigIntLE(good.slice(32));
  add('s-plus-l', {
    A: Abytes, msg, s: sig(R0, s0 + L), valid: false,
    why: 'the valid signature with s + ℓ (< 2^253, bit 255 clear): Scalar::from_canonical_bytes refuses s ≥ ℓ (D4a), although s + ℓ ≡ s mod ℓ',
  });
  add('s-equals-l', {
    A: Abytes, msg, s: sig(R0, L), valid: false,
    why: 's = ℓ exactly: not canonical (D4a)',
  });
  {
    const bad = sig(R0, s0);
    bad[63] |= 0x80;
    add('s-high-bit', {
      A: Abytes, msg, s: bad, valid: false,
      why: 'the valid signature with bit 255 of s set: from_canonical_bytes requires the high bit clear (D4a)',
    });
  }

  // --- small-order R (the cofactorless equation holds, strict refuses, D4c) ------------------
  {
    const Rb = TORSION[0]; // identity, 01 00 … 00
    const m = utf8('shanlian strict vector: R = identity');
    const k = challenge(Rb, Abytes, m);
    const s = modL(k * a);
    assert.ok(cofactorless(A, T[0], s, k));
    add('r-identity-s-ka', {
      A: Abytes, msg: m, s: sig(Rb, s), valid: false,
      why: 'R = identity (canonical 01 00…00), s = k·a: s·B − k·A = identity, whose canonical encoding equals R, so the cofactorless equation holds; verify_strict refuses R of small order (D4c). SPEC §4, ledger crypto.rs small_order_blocklist_is_exact',
    });
  }
  {
    // With the key A' = a'·B + T8 (large order, torsion component of order 8) and s = k·a',
    // s·B − k·A' = −k·T8 = T[−k mod 8]. Grinding the message until −k ≡ j (mod 8) makes R = T[j]
    // satisfy the cofactorless equation exactly, for each of the 8 torsion points. (−k is taken
    // on the integer k < ℓ, not mod ℓ: ℓ is odd, so ℓ − k has another residue mod 8.)
    const tk = keyPair('torsion-8-key');
    const At = tk.A.add(T[1]);
    const AtBytes = At.toBytes();
    for (let j = 0; j < 8; j++) {
      const Rb = TORSION[j];
      const { msg: m, k } = grind(`shanlian strict vector: small-order R ${j}`, Rb, AtBytes, (k) => (8n - (k % 8n)) % 8n === BigInt(j));
      const s = modL(k * tk.a);
      assert.ok(cofactorless(At, T[j], s, k));
      add(`r-small-order-${j}`, {
        A: AtBytes, msg: m, s: sig(Rb, s), valid: false,
        why: `R = ${j}·T8, a torsion point of order ${ORDER[j]}, canonical encoding; the key is a·B + T8 (large order) and s = k·a with k ≡ ${(8 - j) % 8} (mod 8), so s·B − k·A = R and the cofactorless equation holds byte for byte; verify_strict refuses R of small order (D4c)`,
      });
    }
  }
  {
    // Non-canonical encodings of small-order points: all decode (D3) and are refused as small (D4c).
    const m = utf8('shanlian strict vector: non-canonical small-order R');
    const list = [
      ['r-identity-sign-bit', enc(1n, true), 'R = 01 00…00 80: y = 1, x = 0 with the sign bit set; dalek decodes it (−0 = 0, D3) to the identity, refused as small order (D4c)'],
      ['r-order2-sign-bit', enc(P - 1n, true), 'R = ec ff…ff ff: y = −1, x = 0 with the sign bit set; decodes (D3) to the point of order 2, refused as small order (D4c)'],
      ['r-identity-y-plus-p', enc(1n + P), 'R = ee ff…ff 7f: y = 1 + p (non-canonical, D3 accepts y ≥ p) decodes to the identity, refused as small order (D4c)'],
      ['r-order4-y-plus-p', enc(0n + P), 'R = ed ff…ff 7f: y = 0 + p (non-canonical) decodes to a point of order 4, refused as small order (D4c)'],
    ];
    for (const [name, Rb, why] of list) {
      const k = challenge(Rb, Abytes, m);
      add(name, { A: Abytes, msg: m, s: sig(Rb, modL(k * a)), valid: false, why: `${why}; s = k·a so the point equation s·B − k·A = identity holds` });
    }
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
    assert.ok(ed25519.verify(sig(Rb, s), m, Abytes), 'the cofactored equation holds');
    add(`r-mixed-order-${label}`, {
      A: Abytes, msg: m, s: sig(Rb, s), valid: false,
      why: `R = r·B + T with T of ${label.replace('-', ' ')} (R is not of small order), s = r + k·a: s·B − k·A = r·B ≠ R, so the cofactorless equation fails (D6), though 8·(s·B − k·A − R) = 0 (the cofactored equation, RFC 8032 §5.1.7, holds)`,
    });
  }

  // --- R that is not a point / non-canonical R of large order ------------------------------
  {
    const Rb = enc(2n); // (4 − 1)/(4d + 1) is not a square
    add('r-not-on-curve', {
      A: Abytes, msg, s: sig(Rb, s0), valid: false,
      why: 'R = 02 00…00: y = 2 is not the y of any curve point, decompression fails (D3, D4b)',
    });
    const Rn = enc(3n + P);
    const m = utf8('shanlian strict vector: non-canonical R');
    const k = challenge(Rn, Abytes, m);
    add('r-non-canonical-large-order', {
      A: Abytes, msg: m, s: sig(Rn, modL(nonce('nc') + k * a)), valid: false,
      why: 'R = f0 ff…ff 7f: y = 3 + p, a non-canonical encoding of a point of large order; it decodes (D3) and is not of small order, but s·B − k·A is compressed canonically (D6), so the 32-byte comparison can never match a non-canonical R',
    });
  }

  // --- small-order A (weak keys): the equation holds, strict refuses (D4c) ------------------
  for (let j = 0; j < 8; j++) {
    const Ab = TORSION[j];
    const r = nonce(`weak-${j}`);
    const Rb = B.multiply(r).toBytes();
    const { msg: m, k } = grind(`shanlian strict vector: weak key ${j}`, Rb, Ab, (k) => k % BigInt(ORDER[j]) === 0n);
    assert.ok(cofactorless(T[j], B.multiply(r), r, k));
    add(`a-small-order-${j}`, {
      A: Ab, msg: m, s: sig(Rb, r), valid: false,
      why: `A = ${j}·T8, of order ${ORDER[j]} (a weak key); R = r·B, s = r and k ≡ 0 (mod ${ORDER[j]}), so k·A = identity and the cofactorless equation holds; verify_strict refuses A of small order (D4c, is_weak)`,
    });
  }
  {
    // Non-canonical encodings of the identity as A: they decode (D3), the hash uses the bytes as
    // given (D6), the equation holds with s = r, and A is refused as small order.
    for (const [name, Ab, why] of [
      ['a-identity-sign-bit', enc(1n, true), 'A = 01 00…00 80: x = 0 with the sign bit set decodes (D3) to the identity'],
      ['a-identity-y-plus-p', enc(1n + P), 'A = ee ff…ff 7f: y = 1 + p decodes (D3) to the identity'],
    ]) {
      const r = nonce(name);
      const Rb = B.multiply(r).toBytes();
      const m = utf8(`shanlian strict vector: ${name}`);
      add(name, {
        A: Ab, msg: m, s: sig(Rb, r), valid: false,
        why: `${why}; R = r·B, s = r, so s·B − k·A = R holds; refused as a small-order key (D4c)`,
      });
    }
  }

  // --- A with a torsion component but large order -------------------------------------------
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
    add(`a-torsion-component-${label}-valid`, {
      A: AtBytes, msg: ok.msg, s: sig(Rb, s1), valid: true,
      why: `A = a·B + T, T of ${label.replace('-', ' ')}: not of small order, so verify_strict takes it (it never checks torsion-freeness, D7); s = r + k·a with k ≡ 0 (mod ${ord}) gives s·B − k·A = r·B − k·T = R. The member-key rule (SPEC §4, isTorsionFreeKey / check_member_key) refuses this key`,
    });
    const bad = grind(`shanlian strict vector: torsioned key ${label}, k ≢ 0`, Rb, AtBytes, (k) => k % ord !== 0n);
    const s2 = modL(r + bad.k * tk.a);
    assert.ok(!cofactorless(At, Rp, s2, bad.k));
    add(`a-torsion-component-${label}-invalid`, {
      A: AtBytes, msg: bad.msg, s: sig(Rb, s2), valid: false,
      why: `the same kind of key, k ≢ 0 (mod ${ord}): s·B − k·A = R − k·T ≠ R, the cofactorless equation fails`,
    });
  }

  // --- A that is not a point / non-canonical A of large order -------------------------------
  add('a-not-on-curve', {
    A: enc(2n), msg, s: good, valid: false,
    why: 'A = 02 00…00: y = 2 is not on the curve; VerifyingKey::from_bytes fails (D2)',
  });
  {
    const An = enc(3n + P);
    const r = nonce('a-nc');
    const Rb = B.multiply(r).toBytes();
    const m = utf8('shanlian strict vector: non-canonical A');
    add('a-non-canonical-large-order', {
      A: An, msg: m, s: sig(Rb, r), valid: false,
      why: 'A = f0 ff…ff 7f: y = 3 + p, a non-canonical encoding of a large-order point; from_bytes accepts it (D2, D3) and it is not small, but nobody knows its discrete log, so this signature (s = r) fails the equation (s·B − k·A = R − k·A ≠ R)',
    });
  }

  // --- wrong message ------------------------------------------------------------------------
  add('wrong-message', {
    A: Abytes, msg: utf8('shanlian strict vector: a donation receipt!'), s: good, valid: false,
    why: 'the valid signature of case "valid" over a different message',
  });

  return {
    description:
      'Ed25519 strict-verification edge cases (docs/SPEC.md §4). `valid` is the verdict of ed25519-dalek 2.2 VerifyingKey::from_bytes(public_key) followed by verify_strict(message, Signature::from_bytes(signature)); a public key that from_bytes refuses counts as not valid. Generated by explorer/web/test/gen-ed25519-vectors.js; see README.md beside this file.',
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
  test('ledger/tests/data/ed25519/strict.json is what the generator makes', () => {
    assert.equal(readFileSync(VECTOR_FILE, 'utf8'), render(), 'run: node test/gen-ed25519-vectors.js --write');
  });
}
