// Hashes, identifiers and signatures of docs/SPEC.md §3, §4, §5, and the state hash and
// write-set proofs of §9.3.
//
// Browser-safe: @noble/hashes and @noble/curves only (pure JS, no WebCrypto needed).

import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import {
  assertBytes,
  bytesToBigIntLE,
  compareBytes,
  concat,
  equalBytes,
  le32,
  le64,
  utf8,
} from './bytes.js';
import { encode } from './codec.js';
import { ledgerMerkle, ProofError } from './merkle.js';

// =============================================================================================
// Hashes and identifiers (§1, §5)

/** BLAKE3-256 (default 32-byte output, unkeyed) of the concatenation of `parts`. */
export function blake3(...parts) {
  return nobleBlake3(parts.length === 1 ? assertBytes(parts[0], 'blake3') : concat(...parts));
}

/** The signing domains of §3: name → ASCII context string. */
export const DOMAINS = Object.freeze({
  record: 'shanlian/record/v1',
  vote: 'shanlian/vote/v1',
  proposal: 'shanlian/proposal/v1',
  'rotate-key': 'shanlian/rotate-key/v1',
  witness: 'shanlian/witness/v1',
});

/** `context ‖ 0x00 ‖ genesis_hash ‖ body` (§3). `domain` is a key of DOMAINS. */
export function signingMessage(domain, genesisHash, body) {
  const context = DOMAINS[domain];
  if (context === undefined) throw new RangeError(`unknown signing domain ${JSON.stringify(domain)}`);
  assertBytes(genesisHash, 'genesis hash', 32);
  assertBytes(body, 'body');
  return concat(utf8(context), new Uint8Array([0]), genesisHash, body);
}

/** The rotate-key body (§3): raw `member (20 bytes) ‖ new_key (32 bytes)`, not a bincode struct. */
export function rotateKeyBody(member, newKey) {
  return concat(assertBytes(member, 'member', 20), assertBytes(newKey, 'new key', 32));
}

/** Canonical bytes of a value given either as its encoding (Uint8Array) or as a decoded object. */
function bytesOf(typeName, x) {
  return x instanceof Uint8Array ? x : encode(typeName, x);
}

/** Record id (§5): blake3 of the whole encoded SignedRecord, signature included. */
export function recordId(record) {
  return blake3(bytesOf('SignedRecord', record));
}

/** Address of a key (§5): the first 20 bytes of blake3(public key). */
export function addressOf(publicKey) {
  return blake3(assertBytes(publicKey, 'public key', 32)).slice(0, 20);
}

/** Genesis hash (§5): blake3(encode(Genesis)). */
export function genesisHash(genesis) {
  return blake3(bytesOf('Genesis', genesis));
}

/** Header hash (§5): blake3(encode(Header)). */
export function headerHash(header) {
  return blake3(bytesOf('Header', header));
}

/**
 * Validator-set hash (§5): blake3(encode(ValidatorSet)) with the validators sorted by address
 * ascending and zero-power entries omitted. Accepts a ValidatorSet object or a plain array of
 * validators; sorts and filters itself, and refuses a duplicate address (a set has none).
 */
export function validatorSetHash(set) {
  const list = Array.isArray(set) ? set : set.validators;
  const validators = list
    .filter((v) => BigInt(v.power) !== 0n)
    .slice()
    .sort((a, b) => compareBytes(a.address, b.address));
  for (let i = 1; i < validators.length; i++)
    if (compareBytes(validators[i - 1].address, validators[i].address) === 0)
      throw new RangeError('validator set has a duplicate address');
  return blake3(encode('ValidatorSet', { validators }));
}

/** Checkpoint::of(header) (§7.4). */
export function checkpointOf(header) {
  return {
    log_size: header.log_size,
    log_root: header.log_root,
    header_hash: headerHash(header),
    height: header.height,
  };
}

/**
 * Salted identity commitment (§5):
 * blake3("shanlian/commitment/v1" ‖ 0x00 ‖ LE64(len(identity)) ‖ identity ‖ salt).
 */
export function commitment(identity, salt) {
  const id = utf8(identity);
  assertBytes(salt, 'salt', 32);
  return blake3(utf8('shanlian/commitment/v1'), new Uint8Array([0]), le64(id.length), id, salt);
}

// =============================================================================================
// State hash and write-set proofs (§9.3)

const STATE_CONTEXT = 'shanlian/state/v2';

/**
 * The bytes of one write-set entry (§9.3):
 *   LE32(len(key)) ‖ key ‖ (0x01 ‖ LE32(len(value)) ‖ value   — a put
 *                           | 0x00                             — a deletion, value null).
 * The tree's leaf hash is blake3(0x00 ‖ these bytes).
 */
export function writeSetLeaf(key, value) {
  assertBytes(key, 'write-set key');
  if (value === null || value === undefined) return concat(le32(key.length), key, new Uint8Array([0]));
  assertBytes(value, 'write-set value');
  return concat(le32(key.length), key, new Uint8Array([1]), le32(value.length), value);
}

/**
 * root(h) of §9.3: the RFC 9162 tree of §6 (BLAKE3, 0x00 / 0x01 prefixes) over the entries'
 * leaf bytes in write-set order; blake3("") for an empty write set.
 * `writeSet` is a list of { key: Uint8Array, value: Uint8Array | null } (null = deletion). It is
 * sorted here by key bytes (a prefix sorts first, §9.2); a repeated key is refused, since the
 * write set lists each key once.
 */
export function writeSetRoot(writeSet) {
  const entries = writeSet.slice().sort((a, b) => compareBytes(a.key, b.key));
  for (let i = 1; i < entries.length; i++)
    if (compareBytes(entries[i - 1].key, entries[i].key) === 0) throw new RangeError('write set lists a key twice');
  return ledgerMerkle.root(entries.map(({ key, value }) => writeSetLeaf(key, value)));
}

/**
 * state_hash(h) = blake3("shanlian/state/v2" ‖ 0x00 ‖ state_hash(h − 1) ‖ LE64(h) ‖ root(h)),
 * from the write-set root. For the genesis state pass the genesis hash as `previous`, height 0.
 */
export function stateHashOfRoot(previous, height, root) {
  assertBytes(previous, 'previous state hash', 32);
  assertBytes(root, 'write-set root', 32);
  return blake3(utf8(STATE_CONTEXT), new Uint8Array([0]), previous, le64(height), root);
}

/** state_hash(h) of a whole write set (§9.3): stateHashOfRoot over writeSetRoot(writeSet). */
export function stateHash(previous, height, writeSet) {
  return stateHashOfRoot(previous, height, writeSetRoot(writeSet));
}

/**
 * Checks a WriteSetProof (§9.3) against the header of height `height` whose state hash is
 * `headerStateHash`: the root is recomputed from blake3(0x00 ‖ leaf(key, value)), index, size and
 * path as for a log inclusion proof (§6: an index ≥ size or a path of the wrong length fails),
 * then state_hash(height) from previous_state_hash and that root. Returns true, or throws a
 * ProofError (merkle.js) — code 'root_mismatch' when the state hash differs.
 */
export function verifyWriteSetProof(proof, height, headerStateHash) {
  const { key, value, index, size, path, previous_state_hash: previous } = proof;
  const m = ledgerMerkle;
  const leaf = m.leafHash(writeSetLeaf(key, value));
  // The inclusion proof is checked against the root it implies: verifyInclusion needs a root,
  // and the one to trust is only known through the state hash, so recompute it along the path.
  const root = m.rootFromInclusion(leaf, index, size, path);
  if (!equalBytes(stateHashOfRoot(previous, height, root), headerStateHash))
    throw new ProofError('root_mismatch', `state hash of height ${height} differs`);
  return true;
}

// =============================================================================================
// Ed25519: the signature rule of SPEC §4 is ZIP-215, with exactly the semantics of ed25519-zebra
// 4.2 as the ledger calls it: `VerificationKey::try_from(pk)` then
// `vk.verify(&Signature::from_bytes(sig), msg)` (`crypto::Verifier` in ledger/core/src/crypto.rs),
// and the same verdicts from its batch verifier. Member keys obey a stricter rule on top
// (memberKeyProblem below).
//
// What ed25519-zebra does, read from the sources in ~/.cargo/registry/src/index.crates.io-*/
// (paths below are relative to that folder; Cargo.lock: ed25519-zebra 4.2.0 on
// curve25519-dalek 4.1.3, ed25519 2.2.3, sha2):
//
//  Z1 Signature parsing. zebra's `Signature` is `ed25519::Signature` (ed25519-zebra-4.2.0/src/
//     lib.rs:18); ed25519-2.2.3/src/lib.rs:313-322 `Signature::from_bytes` just splits the 64 bytes
//     into R (first 32) and s (last 32), r_bytes / s_bytes (341-348) return them; nothing is
//     validated there.
//
//  Z2 Public key. ed25519-zebra-4.2.0/src/verification_key.rs:158-173 `TryFrom<VerificationKeyBytes>
//     for VerificationKey`: A = CompressedEdwardsY(bytes).decompress(), Error::MalformedPublicKey
//     iff that fails (164-166). No canonicity check, no small-order check, no torsion check
//     ("non-canonical encodings MUST be accepted", 162-163). The ORIGINAL 32 bytes are kept as
//     `A_bytes` (169) and are what gets hashed (Z5); −A is kept for the equation (170). This
//     happens before verify can run, so an undecodable A is the first refusal.
//
//  Z3 Point decompression. curve25519-dalek-4.1.3/src/edwards.rs:194-203 `decompress`, step_1
//     (209-220) and step_2 (223-240):
//     - y = FieldElement::from_bytes(bytes) (on this 64-bit target FieldElement is
//       backend/serial/u64/field.rs FieldElement51, src/field.rs:65): from_bytes
//       (u64/field.rs:325-363) masks bit 255 and does NOT check y < p ("it will happily decode
//       2^255 - 18 to 1", lines 330-335). So a non-canonical y + p (possible for y < 19) is
//       ACCEPTED and means y.
//     - u = y² − 1, v = d·y² + 1, (ok, x) = sqrt_ratio_i(u, v) (src/field.rs:243-289): ok iff
//       v·r² = u or v·r² = −u (line 286); with u = 0 (y = ±1) that is true and x = 0. x is the
//       non-negative root, i.e. even canonical encoding (lines 282-284; is_negative = low bit of
//       the canonical bytes, field.rs:101-104).
//     - x is negated iff bit 255 (the sign bit) is set (edwards.rs:231-232), unconditionally: for
//       x = 0 with the sign bit set, −0 = 0, so the encoding is ACCEPTED as the same point.
//     Decompression fails only when (y² − 1)/(d·y² + 1) is not a square.
//
//  Z4 verify_prehashed, verification_key.rs:262-283, in this order:
//     a. lines 264-265: s = Scalar::from_canonical_bytes(s bytes), else InvalidSignature.
//        curve25519-dalek-4.1.3/src/scalar.rs:261-265: bit 255 clear AND is_canonical
//        (scalar.rs:1134-1136: s == reduce(s), reduce at 1125-1130). So s must be < ℓ as a
//        256-bit integer: s + ℓ (bit 255 still clear) and anything with bit 255 set are refused.
//     b. lines 267-269: R = decompress(R bytes) (Z3), else InvalidSignature. Small-order R and
//        non-canonical R encodings are accepted.
//     c. line 276: R' = vartime_double_scalar_mul_basepoint(k, −A, s) = k·(−A) + s·B
//        (edwards.rs:902-908); line 278: accept iff (R − R').mul_by_cofactor().is_identity(),
//        i.e. [8](R − (s·B − k·A)) = identity: the COFACTORED equation. mul_by_cofactor is
//        mul_by_pow_2(3) (edwards.rs:1187-1189); is_identity is ct_eq with the identity
//        (traits.rs:41-48, edwards.rs:409-418, 482-493: a comparison of projective points, so
//        of POINTS, never of encodings). The cofactorless equation s·B − k·A = R (which
//        verify_strict used, comparing canonical bytes) is never checked.
//
//  Z5 k, verification_key.rs:249-257 `verify`: SHA-512 over R's 32 bytes as given
//     (signature.r_bytes(), line 252), then A's 32 bytes as given (`A_bytes`, Z2, line 253),
//     then the message (254); no prefix or context. k = Scalar::from_hash = the 64-byte digest
//     read little-endian mod ℓ (scalar.rs:671-678, from_bytes_mod_order_wide 250-252).
//
//  Z6 Batch. ed25519-zebra-4.2.0/src/batch.rs: Item::from (86-98) computes k as in Z5;
//     Verifier::verify (146-215) decodes each A (180-182) and R (187-189) as in Z3, requires
//     from_canonical_bytes(s) (190-191), draws a random 128-bit z per signature and accepts iff
//     [8](−Σ z·s·B + Σ z·k·A + Σ z·R) = identity (205-210). Each term is the cofactored equation
//     of Z4c times z, so a batch of signatures that each pass Z4 passes, and a batch holding one
//     that fails Z4 fails except with negligible probability over the z (batch.rs:10-18:
//     ZIP-215 "ensures that batch verification agrees with individual verification").
//     This verifier checks signatures one at a time; it has no batch equation.
//
//  Z7 is_small_order, edwards.rs:1227-1229: mul_by_cofactor() is the identity.
//     is_torsion_free, edwards.rs:1257-1259: ℓ·P is the identity. compress, edwards.rs:566-575:
//     canonical y (u64/field.rs:365-368, fully reduced) with the sign bit = is_negative(x) (never
//     set for x = 0). The ledger's member-key rule (`check_member_key`, ledger/core/src/crypto.rs)
//     uses these three: the key must decode (Z2/Z3), `compress()` must give back the same 32
//     bytes, and the point must be neither of small order nor carry a torsion component.
//
//  Z8 Consequences used by the test vectors (test/gen-ed25519-vectors.js, zip215.json):
//     - small-order A (weak keys, e.g. the identity) and small-order R are ACCEPTED: with both
//       of small order and s = 0, [8](R + k·A) = identity for every k and message (the 196-case
//       grid of ed25519-zebra tests/small_order.rs, over the 14 encodings of small-order points).
//     - under a key A = a·B + T with a torsion component T, s = r + k·a verifies for EVERY k
//       (R − R' = k·T); an R = r·B + T is accepted likewise (R − R' = T). Only the member-key
//       rule refuses such keys; such R are simply valid.
//     - non-canonical encodings (y + p for y < 19, x = 0 with the sign bit set) decode, and k is
//       over the bytes as given; a verifier that hashed canonical re-encodings would differ.
//     - s ≥ ℓ is refused even when s − ℓ would verify.
//     - every non-canonical encoding decodes to a point of small order or one with a torsion
//       component (the y + p points for y ∈ {2, …, 18} that exist all have one), so for member
//       keys the canonical check only decides WHICH refusal is reported (test/ed25519.test.js
//       checks this over all 26 non-canonical encodings).
//
// Below, decompression is written out to follow Z3 step by step (instead of relying on
// @noble/curves' own decoder options), and @noble/curves supplies only the group arithmetic.

const Point = ed25519.Point;
const P = 2n ** 255n - 19n; // field prime
const L = 2n ** 252n + 27742317777372353535851937790883648493n; // group order ℓ
const D = Point.CURVE().d; // −121665/121666 mod p
const SQRT_M1 = 19681161376707505956807079304988542015446066515923890162744021073123829784752n;

const mod = (a) => {
  const r = a % P;
  return r < 0n ? r + P : r;
};

function pow(base, exp) {
  let result = 1n;
  let b = mod(base);
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
    e >>= 1n;
  }
  return result;
}

/** dalek's FieldElement::sqrt_ratio_i (field.rs:243-289): [wasSquare, non-negative root]. */
function sqrtRatioI(u, v) {
  const v3 = mod(v * v * v);
  const v7 = mod(v3 * v3 * v);
  let r = mod(mod(u * v3) * pow(mod(u * v7), (P - 5n) / 8n));
  const check = mod(v * r * r);
  const correct = check === mod(u);
  const flipped = check === mod(-u);
  const flippedI = check === mod(-u * SQRT_M1);
  if (flipped || flippedI) r = mod(r * SQRT_M1);
  if (r & 1n) r = mod(-r); // "negative" = odd canonical encoding; choose the non-negative root
  return [correct || flipped, r];
}

/**
 * CompressedEdwardsY::decompress exactly as dalek (Z3): returns a @noble/curves Point, or null.
 * Accepts y ≥ p (reduced mod p) and a set sign bit with x = 0.
 */
export function decompressPoint(bytes) {
  assertBytes(bytes, 'point', 32);
  const y = mod(bytesToBigIntLE(bytes) & (2n ** 255n - 1n)); // mask bit 255, reduce mod p
  const yy = mod(y * y);
  const [ok, root] = sqrtRatioI(yy - 1n, mod(D * yy + 1n));
  if (!ok) return null;
  const x = bytes[31] & 0x80 ? mod(-root) : root; // negate iff the sign bit is set
  return Point.fromAffine({ x, y });
}

/** [8]P (dalek mul_by_cofactor, Z4c/Z7). */
const mulByCofactor = (point) => point.double().double().double();

/** dalek is_small_order (Z7): 8·P is the identity. */
function isSmallOrder(point) {
  return mulByCofactor(point).is0();
}

/** dalek is_torsion_free (Z7): ℓ·P is the identity, computed as (ℓ − 1)·P + P. */
function isTorsionFree(point) {
  return point.multiplyUnsafe(L - 1n).add(point).is0();
}

/**
 * ed25519-zebra 4.2 `VerificationKey::try_from(pk)?.verify(&Signature::from_bytes(sig), msg)`
 * (ZIP-215, SPEC §4) with the refusal reason: { ok: true } or { ok: false, reason } where reason
 * is one of
 *   'public_key_not_a_point'  Z2: A does not decompress
 *   'non_canonical_s'         Z4a: s ≥ ℓ (including any s with bit 255 set)
 *   'r_not_a_point'           Z4b: R does not decompress
 *   'equation'                Z4c: [8](R − (s·B − k·A)) is not the identity
 * in zebra's order (zebra reports Z4a–Z4c all as one InvalidSignature; the split is ours).
 * Small-order or torsioned A and R, and non-canonical encodings of them, are not refusals.
 */
export function verifySignatureDetailed(publicKey, message, signature) {
  assertBytes(publicKey, 'public key', 32);
  assertBytes(message, 'message');
  assertBytes(signature, 'signature', 64);
  const A = decompressPoint(publicKey);
  if (A === null) return { ok: false, reason: 'public_key_not_a_point' };
  const rBytes = signature.subarray(0, 32);
  const s = bytesToBigIntLE(signature.subarray(32, 64));
  if (s >= L) return { ok: false, reason: 'non_canonical_s' };
  const R = decompressPoint(rBytes);
  if (R === null) return { ok: false, reason: 'r_not_a_point' };
  // k = SHA-512(R bytes ‖ A bytes ‖ M) mod ℓ, over the bytes as given (Z5).
  const k = bytesToBigIntLE(sha512(concat(rBytes, publicKey, message))) % L;
  // R' = s·B − k·A; the cofactored equation [8](R − R') = identity (Z4c).
  const rPrime = Point.BASE.multiplyUnsafe(s).add(A.negate().multiplyUnsafe(k));
  if (!isSmallOrder(R.subtract(rPrime))) return { ok: false, reason: 'equation' };
  return { ok: true };
}

/** Whether `signature` is valid over `message` under `publicKey` by the rule of SPEC §4 (ZIP-215). */
export function verifySignature(publicKey, message, signature) {
  return verifySignatureDetailed(publicKey, message, signature).ok;
}

/**
 * SPEC §4's member-key rule (genesis, AdmitMember, RotateKey new key), in the order of the
 * ledger's `check_member_key` (Z7): null if `publicKey` may belong to a member, else
 *   'public_key_not_a_point'  it does not decompress (Z3)
 *   'non_canonical_key'       it is not the canonical encoding of its point (compress() differs)
 *   'small_order_key'         the point is of small order (8·A = identity; a weak key)
 *   'torsion_key'             the point has a small-order component (ℓ·A ≠ identity)
 * (the ledger reports the last two as one WeakKey error).
 */
export function memberKeyProblem(publicKey) {
  assertBytes(publicKey, 'public key', 32);
  const A = decompressPoint(publicKey);
  if (A === null) return 'public_key_not_a_point';
  if (!equalBytes(A.toBytes(), publicKey)) return 'non_canonical_key';
  if (isSmallOrder(A)) return 'small_order_key';
  if (!isTorsionFree(A)) return 'torsion_key';
  return null;
}

/** Whether `publicKey` satisfies SPEC §4's member-key rule (memberKeyProblem gives the reason). */
export function isMemberKey(publicKey) {
  return memberKeyProblem(publicKey) === null;
}

/** Signature check (ZIP-215, §4) of a message in one of the §3 domains. */
export function verifyDomain(domain, genesisHashBytes, body, publicKey, signature) {
  return verifySignature(publicKey, signingMessage(domain, genesisHashBytes, body), signature);
}

/**
 * The record signature check of §7.5 step 2 / §8.2 rule 10: `record` is a decoded SignedRecord;
 * its body is re-encoded (canonical, so the same bytes as in the record) and verified in domain
 * `record` under `record.signer`.
 */
export function verifyRecordSignature(record, genesisHashBytes) {
  return verifyDomain('record', genesisHashBytes, encode('RecordBody', record.body), record.signer, record.signature);
}

/** Constants, exported for tests and tools. */
export const ED25519 = Object.freeze({ P, L, D, SQRT_M1 });
