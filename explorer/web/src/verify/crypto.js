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
// Ed25519: strict verification with exactly the semantics of ed25519-dalek 2.2 `verify_strict`
// (SPEC §4), as the ledger calls it: `VerifyingKey::from_bytes(pk)` then
// `verify_strict(msg, &Signature::from_bytes(sig))` (`crypto::Verifier`, in
// ledger/core/src/crypto.rs, formerly ledger/src/crypto.rs).
//
// What dalek does, read from the sources in ~/.cargo/registry/src/index.crates.io-*/ (paths
// below are relative to that folder; the workspace builds ed25519-dalek with features alloc,
// batch, default, fast, merlin, pem, pkcs8, rand_core, std, zeroize — NOT legacy_compatibility,
// per target/debug/.fingerprint — and curve25519-dalek without legacy_compatibility):
//
//  D1 Signature parsing. ed25519-2.2.3/src/lib.rs:313-322 `Signature::from_bytes` just splits the
//     64 bytes into R (first 32) and s (last 32); nothing is validated there (lib.rs:296-300).
//
//  D2 Public key. ed25519-dalek-2.2.0/src/verifying.rs:165-173 `VerifyingKey::from_bytes`:
//     A = CompressedEdwardsY(bytes).decompress(), error iff that fails. No canonicity check, no
//     small-order check; the ORIGINAL 32 bytes are kept as `compressed` (line 166, 172) and are
//     what gets hashed (D6). This happens before verify_strict can run, so an undecodable A is
//     the first refusal.
//
//  D3 Point decompression. curve25519-dalek-4.1.3/src/edwards.rs:194-203 `decompress`, step_1
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
//  D4 verify_strict, ed25519-dalek-2.2.0/src/verifying.rs:357-380, in this order:
//     a. line 362: InternalSignature::try_from → signature.rs:151-162 from_bytes, where
//        check_scalar (signature.rs:88-96, the version built without legacy_compatibility)
//        requires Scalar::from_canonical_bytes(s) (curve25519-dalek-4.1.3/src/scalar.rs:261-265:
//        bit 255 clear, and is_canonical, scalar.rs:1134-1136: s == reduce(s), reduce at
//        1125-1130). So s ≥ ℓ is refused, including s + ℓ (which still has bit 255 clear).
//     b. lines 364-367: R = decompress(R bytes) (D3), refused if that fails.
//     c. line 370: refused if R.is_small_order() || A.is_small_order().
//     d. lines 374-379: expected_R = RCompute::compute(..) and accept iff expected_R == R, an
//        equality of CompressedEdwardsY, which derives PartialEq on its [u8; 32]
//        (edwards.rs:164-165): a comparison of the 32 BYTES.
//
//  D5 is_small_order, edwards.rs:1227-1229: mul_by_cofactor() (8·P, edwards.rs:1187-1189)
//     is the identity. is_torsion_free, edwards.rs:1257-1259: ℓ·P is the identity.
//
//  D6 RCompute, verifying.rs:518-555: SHA-512 over R's original 32 bytes (line 534), then A's
//     original 32 bytes (line 535, `key.compressed`, D2), then the message (543-545); no prefix
//     when there is no prehash context (527-532). k = Scalar::from_hash = the 64-byte digest
//     read little-endian mod ℓ (scalar.rs:671-678, from_bytes_mod_order_wide 250-252).
//     R' = vartime_double_scalar_mul_basepoint(k, −A, s) = k·(−A) + s·B (lines 550-553), then
//     .compress() (edwards.rs:566-575): y·Z⁻¹ as_bytes, which is canonical (fully reduced,
//     u64/field.rs:365-368), with the sign bit = is_negative(x) (never set for x = 0). Hence a
//     non-canonical R encoding can never match, and the equation is the cofactorless one.
//
//  D7 Consequences used by the test vectors (test/gen-ed25519-vectors.js, strict.json):
//     - verify_strict does NOT require A to be torsion-free: A = a·B + T with T ≠ 0 of small
//       order is not itself of small order, and a signature s = r + k·a verifies iff k·T = 0
//       (probability 1/ord(T) over messages). SPEC §4's member-key rule refuses such keys
//       separately (isTorsionFreeKey below; ledger check_member_key = D5 both ways).
//     - R with a torsion component (R = R0 + T) is not of small order, so only the cofactorless
//       equation refuses it (R' = R0 ≠ R).
//     - R = identity with s = k·a satisfies the equation (R' = identity) but D4c refuses it.
//
// Below, decompression is written out to follow D3 step by step (instead of relying on
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
 * CompressedEdwardsY::decompress exactly as dalek (D3): returns a @noble/curves Point, or null.
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

/** dalek is_small_order (D5): 8·P is the identity. */
function isSmallOrder(point) {
  return point.double().double().double().is0();
}

/** dalek is_torsion_free (D5): ℓ·P is the identity, computed as (ℓ − 1)·P + P. */
function isTorsionFree(point) {
  return point.multiplyUnsafe(L - 1n).add(point).is0();
}

/**
 * ed25519-dalek 2.2 `VerifyingKey::from_bytes(pk)?.verify_strict(msg, &Signature::from_bytes(sig))`
 * with the refusal reason: { ok: true } or { ok: false, reason } where reason is one of
 *   'public_key_not_a_point'  D2: A does not decompress
 *   'non_canonical_s'         D4a: s ≥ ℓ (including any s with bit 255 set)
 *   'r_not_a_point'           D4b: R does not decompress
 *   'small_order_r'           D4c: R is of small order
 *   'small_order_public_key'  D4c: A is of small order (weak key)
 *   'equation'                D4d: canonical encoding of s·B − k·A ≠ the R bytes
 * in dalek's order (dalek reports D4b–D4d all as one `Verify` error; the split is ours).
 */
export function verifyStrictDetailed(publicKey, message, signature) {
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
  if (isSmallOrder(R)) return { ok: false, reason: 'small_order_r' };
  if (isSmallOrder(A)) return { ok: false, reason: 'small_order_public_key' };
  // k = SHA-512(R bytes ‖ A bytes ‖ M) mod ℓ, over the bytes as given (D6).
  const k = bytesToBigIntLE(sha512(concat(rBytes, publicKey, message))) % L;
  const expected = Point.BASE.multiplyUnsafe(s).add(A.negate().multiplyUnsafe(k));
  if (!equalBytes(expected.toBytes(), rBytes)) return { ok: false, reason: 'equation' };
  return { ok: true };
}

/** Whether `signature` is valid over `message` under `publicKey` by the rule of SPEC §4. */
export function verifyStrict(publicKey, message, signature) {
  return verifyStrictDetailed(publicKey, message, signature).ok;
}

/**
 * SPEC §4's member-key rule (genesis, AdmitMember, RotateKey new key): the key decodes, is not of
 * small order, and ℓ·A = identity (ledger `check_member_key`: from_bytes, then is_small_order and
 * is_torsion_free, D2/D5).
 */
export function isTorsionFreeKey(publicKey) {
  assertBytes(publicKey, 'public key', 32);
  const A = decompressPoint(publicKey);
  return A !== null && !isSmallOrder(A) && isTorsionFree(A);
}

/** Strict check of a signature in one of the §3 domains. */
export function verifyDomain(domain, genesisHashBytes, body, publicKey, signature) {
  return verifyStrict(publicKey, signingMessage(domain, genesisHashBytes, body), signature);
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
