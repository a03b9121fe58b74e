// The Merkle log (SPEC §6) with BLAKE3: roots, inclusion and consistency proofs for every small
// tree, and each refusal code.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blake3 } from '@noble/hashes/blake3.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { ProofError, blake3Hasher, concat, ledgerMerkle as m, makeMerkle, rfc6962Hasher, utf8 } from '../src/verify/index.js';

const items = Array.from({ length: 70 }, (_, i) => blake3(utf8(`record ${i}`)));

/** The MTH definition of SPEC §6, written as directly as possible. */
function mth(d) {
  if (d.length === 0) return blake3(new Uint8Array(0));
  if (d.length === 1) return blake3(concat(new Uint8Array([0]), d[0]));
  let k = 1;
  while (k * 2 < d.length) k *= 2;
  return blake3(concat(new Uint8Array([1]), mth(d.slice(0, k)), mth(d.slice(k))));
}

const code = (c) => (e) => e instanceof ProofError && e.code === c;

test('root = MTH for every size 0 … 70', () => {
  for (let n = 0; n <= 70; n++) assert.deepEqual(m.root(items.slice(0, n)), mth(items.slice(0, n)), `n = ${n}`);
  assert.deepEqual(m.emptyRoot(), blake3(new Uint8Array(0)));
  assert.deepEqual(m.nodeHash(items[0], items[1]), blake3(concat(new Uint8Array([1]), items[0], items[1])));
});

test('every inclusion proof of every tree up to 40 leaves verifies, and only at its own index', () => {
  for (let n = 1; n <= 40; n++) {
    const d = items.slice(0, n);
    const root = m.root(d);
    for (let i = 0; i < n; i++) {
      const proof = m.inclusionPath(d, i);
      assert.ok(m.verifyInclusion(m.leafHash(d[i]), i, n, proof, root));
      assert.ok(m.verifyInclusion(m.leafHash(d[i]), BigInt(i), BigInt(n), proof, root));
      // Another leaf, or a changed proof element, fails.
      assert.throws(() => m.verifyInclusion(m.leafHash(items[n]), i, n, proof, root), code('root_mismatch'));
      if (proof.length > 0) {
        const bad = proof.map((p) => p.slice());
        bad[0][0] ^= 1;
        assert.throws(() => m.verifyInclusion(m.leafHash(d[i]), i, n, bad, root), code('root_mismatch'));
      }
    }
  }
});

test('every consistency proof between trees up to 40 leaves verifies', () => {
  for (let n = 1; n <= 40; n++) {
    const d = items.slice(0, n);
    const root2 = m.root(d);
    for (let k = 1; k <= n; k++) {
      const root1 = m.root(d.slice(0, k));
      const proof = m.consistencyProof(d, k);
      if (k === n) assert.equal(proof.length, 0);
      assert.ok(m.verifyConsistency(k, n, root1, root2, proof), `${k} → ${n}`);
      if (k < n) {
        assert.throws(() => m.verifyConsistency(k, n, root1, m.root(items.slice(0, n + 1)), proof), code('root_mismatch'));
        // A wrong old root: when size1 is a power of two the old root is itself the start of the
        // path (RFC 9162 §2.1.4.2 step 2), so the error surfaces as a new-root mismatch.
        const pow2 = (k & (k - 1)) === 0;
        assert.throws(
          () => m.verifyConsistency(k, n, m.root(items.slice(1, k + 1)), root2, proof),
          code(pow2 ? 'root_mismatch' : 'old_root_mismatch'),
        );
      }
    }
  }
});

test('refusal codes', () => {
  const d = items.slice(0, 7);
  const root = m.root(d);
  const leaf = m.leafHash(d[3]);
  const path = m.inclusionPath(d, 3);
  assert.throws(() => m.verifyInclusion(leaf, 7, 7, path, root), code('index_out_of_range'));
  assert.throws(() => m.verifyInclusion(leaf, 0, 0, [], root), code('index_out_of_range'));
  assert.throws(() => m.verifyInclusion(leaf, (1n << 64n) - 1n, 7, path, root), code('index_out_of_range'));
  assert.throws(() => m.verifyInclusion(leaf, 3, 7, path.slice(1), root), code('wrong_proof_length'));
  assert.throws(() => m.verifyInclusion(leaf, 3, 7, [...path, root], root), code('wrong_proof_length'));
  assert.throws(() => m.verifyInclusion(leaf, 3, 7, path, root.subarray(1)), code('malformed_hash'));
  assert.throws(() => m.verifyInclusion(leaf, 3, 7, [new Uint8Array(33), ...path.slice(1)], root), code('malformed_hash'));
  assert.throws(() => m.inclusionPath(d, 7), code('index_out_of_range'));

  const root3 = m.root(d.slice(0, 3));
  const proof = m.consistencyProof(d, 3);
  assert.throws(() => m.verifyConsistency(0, 7, root3, root, proof), code('empty_old_tree'));
  assert.throws(() => m.verifyConsistency(0, 0, m.emptyRoot(), m.emptyRoot(), []), code('empty_old_tree'));
  assert.throws(() => m.verifyConsistency(8, 7, root3, root, proof), code('sizes_out_of_order'));
  assert.throws(() => m.verifyConsistency(7, 7, root, root, [root]), code('non_empty_proof_for_equal_sizes'));
  assert.throws(() => m.verifyConsistency(7, 7, root, root3, []), code('root_mismatch'));
  assert.ok(m.verifyConsistency(7, 7, root, root, []));
  assert.throws(() => m.verifyConsistency(3, 7, root3, root, proof.slice(1)), code('wrong_proof_length'));
  assert.throws(() => m.verifyConsistency(3, 7, root3, root, [...proof, root]), code('wrong_proof_length'));
  assert.throws(() => m.verifyConsistency(3, 7, root3, root, []), code('wrong_proof_length'));
  assert.throws(() => m.consistencyProof(d, 0), code('empty_old_tree'));
  assert.throws(() => m.consistencyProof(d, 8), code('sizes_out_of_order'));
  // Sizes must be u64.
  assert.throws(() => m.verifyInclusion(leaf, -1, 7, path, root), RangeError);
  assert.throws(() => m.verifyInclusion(leaf, 1, 1n << 64n, path, root), RangeError);
  assert.throws(() => m.verifyInclusion(leaf, 0.5, 7, path, root), TypeError);
});

test('a proof for a 2^63-leaf tree is checked by length, not by walking the tree', () => {
  const n = 1n << 63n;
  const leaf = m.leafHash(items[0]);
  assert.throws(() => m.verifyInclusion(leaf, n - 1n, n, [], items[1]), code('wrong_proof_length'));
  // The exact length (63 hashes) is accepted as a shape and compared against the root.
  const proof = Array.from({ length: 63 }, (_, i) => items[i]);
  assert.throws(() => m.verifyInclusion(leaf, n - 1n, n, proof, items[1]), code('root_mismatch'));
});

test('the hasher is pluggable: SHA-256 instance differs from BLAKE3', () => {
  const s = makeMerkle(rfc6962Hasher(sha256));
  assert.deepEqual(s.emptyRoot(), sha256(new Uint8Array(0)));
  assert.notDeepEqual(s.root(items.slice(0, 5)), m.root(items.slice(0, 5)));
  assert.equal(blake3Hasher.size, 32);
});
