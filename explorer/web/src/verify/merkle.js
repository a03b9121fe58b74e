// The Merkle log of docs/SPEC.md §6: the RFC 6962 / RFC 9162 §2.1 tree, generic over the hash so
// that the same code runs with BLAKE3 (the ledger) and SHA-256 (the RFC 6962 test vectors).
//
//   leaf(d)           = H(0x00 ‖ d)
//   node(left, right) = H(0x01 ‖ left ‖ right)
//   MTH({})           = H("")
//   MTH({d})          = leaf(d)
//   MTH(D[n])         = node(MTH(D[0:k]), MTH(D[k:n]))   k = largest power of two < n
//
// Tree sizes and indices are u64 in the spec; they are accepted as Number or BigInt and handled
// as BigInt inside (the RFC vectors use index 2^64 − 1).

import { blake3 } from '@noble/hashes/blake3.js';
import { assertBytes, concat, equalBytes } from './bytes.js';

/**
 * A refused proof. `code` is one of:
 *   'index_out_of_range'               inclusion: index ≥ size
 *   'wrong_proof_length'               the proof does not have exactly the length the sizes imply
 *   'root_mismatch'                    the recomputed (new) root differs from the given one
 *   'old_root_mismatch'                consistency: the recomputed old root differs from root1
 *   'sizes_out_of_order'               consistency: size1 > size2
 *   'non_empty_proof_for_equal_sizes'  consistency: size1 = size2 with a non-empty proof
 *   'empty_old_tree'                   consistency: size1 = 0 (proves nothing, refused)
 *   'malformed_hash'                   a root, leaf hash or proof element is not a hash of the
 *                                      hasher's length (32 bytes); not in SPEC §6's list, where
 *                                      the Rust API's [u8; 32] type makes it impossible
 */
export class ProofError extends Error {
  constructor(code, message) {
    super(`${code}: ${message}`);
    this.name = 'ProofError';
    this.code = code;
  }
}

const ZERO = new Uint8Array([0]);
const ONE = new Uint8Array([1]);

/** An RFC 6962-shaped hasher (0x00 leaf prefix, 0x01 node prefix) from a plain hash function. */
export function rfc6962Hasher(hash, size = 32) {
  return Object.freeze({
    size,
    leaf: (data) => hash(concat(ZERO, data)),
    node: (left, right) => hash(concat(ONE, left, right)),
    empty: () => hash(new Uint8Array(0)),
  });
}

/** The ledger's hasher: BLAKE3-256 (§6). */
export const blake3Hasher = rfc6962Hasher(blake3);

function toU64(n, what) {
  let v;
  if (typeof n === 'bigint') v = n;
  else if (typeof n === 'number' && Number.isSafeInteger(n)) v = BigInt(n);
  else throw new TypeError(`${what}: expected an integer (BigInt or safe Number)`);
  if (v < 0n || v >= 1n << 64n) throw new RangeError(`${what}: ${v} is outside the u64 range`);
  return v;
}

function bitLength(n) {
  return n === 0n ? 0 : n.toString(2).length;
}

function popCount(n) {
  let c = 0;
  for (let v = n; v > 0n; v >>= 1n) c += Number(v & 1n);
  return c;
}

function trailingZeros(n) {
  let c = 0;
  for (let v = n; (v & 1n) === 0n; v >>= 1n) c++;
  return c;
}

/** Largest power of two strictly less than n (n ≥ 2). */
function splitPoint(n) {
  let k = 1n;
  while (k << 1n < n) k <<= 1n;
  return k;
}

/** Merkle functions bound to one hasher ({ size, leaf, node, empty }). */
export function makeMerkle(hasher) {
  const { size: hashSize } = hasher;

  function checkHash(h, what) {
    if (!(h instanceof Uint8Array) || h.length !== hashSize)
      throw new ProofError('malformed_hash', `${what} is not a ${hashSize}-byte hash`);
  }

  function checkProof(proof) {
    if (!Array.isArray(proof)) throw new TypeError('proof: expected an array of hashes');
    proof.forEach((p, i) => checkHash(p, `proof[${i}]`));
  }

  /** MTH over leaf hashes lo..hi (exclusive), recursively (depth is log2 of the size). */
  function subtreeRoot(leafHashes, lo, hi) {
    const n = hi - lo;
    if (n === 1) return leafHashes[lo];
    const k = Number(splitPoint(BigInt(n)));
    return hasher.node(subtreeRoot(leafHashes, lo, lo + k), subtreeRoot(leafHashes, lo + k, hi));
  }

  /** MTH(D) of a list of data items (for the ledger: record ids). */
  function root(items) {
    if (items.length === 0) return hasher.empty();
    return subtreeRoot(items.map((d) => hasher.leaf(assertBytes(d, 'item'))), 0, items.length);
  }

  /** RFC 9162 §2.1.3.1 PATH(m, D[n]): the inclusion proof of item `index` (a generator, for tests and tools). */
  function inclusionPath(items, index) {
    const m = Number(toU64(index, 'index'));
    if (m >= items.length) throw new ProofError('index_out_of_range', `index ${m} ≥ size ${items.length}`);
    const leaves = items.map((d) => hasher.leaf(d));
    const path = (m, lo, hi) => {
      const n = hi - lo;
      if (n === 1) return [];
      const k = Number(splitPoint(BigInt(n)));
      return m < k
        ? [...path(m, lo, lo + k), subtreeRoot(leaves, lo + k, hi)]
        : [...path(m - k, lo + k, hi), subtreeRoot(leaves, lo, lo + k)];
    };
    return path(m, 0, leaves.length);
  }

  /** RFC 9162 §2.1.4.1 PROOF(m, D[n]): the consistency proof from size m to items.length. */
  function consistencyProof(items, size1) {
    const m = Number(toU64(size1, 'size1'));
    const n = items.length;
    if (m === 0) throw new ProofError('empty_old_tree', 'size1 = 0 proves nothing');
    if (m > n) throw new ProofError('sizes_out_of_order', `size1 ${m} > size2 ${n}`);
    const leaves = items.map((d) => hasher.leaf(d));
    // SUBPROOF(m, D[lo:hi], b)
    const sub = (m, lo, hi, b) => {
      const n = hi - lo;
      if (m === n) return b ? [] : [subtreeRoot(leaves, lo, hi)];
      const k = Number(splitPoint(BigInt(n)));
      return m <= k
        ? [...sub(m, lo, lo + k, b), subtreeRoot(leaves, lo + k, hi)]
        : [...sub(m - k, lo + k, hi, false), subtreeRoot(leaves, lo, lo + k)];
    };
    return sub(m, 0, n, true);
  }

  /**
   * RFC 9162 §2.1.3.2 steps 1–5: the root that `proof` implies for `leafHash` as leaf `index` of
   * a tree of `size` leaves. Throws ProofError for index ≥ size or a proof of the wrong length:
   * the length is checked up front against the length the (index, size) pair implies (inner +
   * border hashes), and the RFC loop's own `sn` checks then hold by construction.
   */
  function rootFromInclusion(leafHash, index, size, proof) {
    const idx = toU64(index, 'index');
    const n = toU64(size, 'size');
    checkHash(leafHash, 'leaf hash');
    checkProof(proof);
    if (idx >= n) throw new ProofError('index_out_of_range', `index ${idx} ≥ size ${n}`);
    const inner = bitLength(idx ^ (n - 1n));
    const want = inner + popCount(idx >> BigInt(inner));
    if (proof.length !== want)
      throw new ProofError('wrong_proof_length', `inclusion proof has ${proof.length} hashes, want ${want}`);
    let fn = idx;
    let sn = n - 1n;
    let r = leafHash;
    for (const p of proof) {
      if (sn === 0n) throw new ProofError('wrong_proof_length', 'proof longer than the path');
      if ((fn & 1n) === 1n || fn === sn) {
        r = hasher.node(p, r);
        if ((fn & 1n) === 0n)
          while (!((fn & 1n) === 1n || fn === 0n)) {
            fn >>= 1n;
            sn >>= 1n;
          }
      } else {
        r = hasher.node(r, p);
      }
      fn >>= 1n;
      sn >>= 1n;
    }
    if (sn !== 0n) throw new ProofError('wrong_proof_length', 'proof shorter than the path');
    return r;
  }

  /**
   * RFC 9162 §2.1.3.2: verifies that `leafHash` is leaf `index` of the tree of `size` leaves with
   * root `root`. Returns true or throws ProofError (see rootFromInclusion; 'root_mismatch' when
   * the recomputed root differs).
   */
  function verifyInclusion(leafHash, index, size, proof, rootHash) {
    checkHash(rootHash, 'root');
    const r = rootFromInclusion(leafHash, index, size, proof);
    if (!equalBytes(r, rootHash)) throw new ProofError('root_mismatch', 'recomputed root differs');
    return true;
  }

  /**
   * RFC 9162 §2.1.4.2 with SPEC §6's rules: size1 = 0 refused, size1 > size2 refused, equal sizes
   * need an empty proof and equal roots. Returns true or throws ProofError.
   */
  function verifyConsistency(size1, size2, root1, root2, proof) {
    const m = toU64(size1, 'size1');
    const n = toU64(size2, 'size2');
    checkHash(root1, 'root1');
    checkHash(root2, 'root2');
    checkProof(proof);
    if (m === 0n) throw new ProofError('empty_old_tree', 'size1 = 0 proves nothing');
    if (m > n) throw new ProofError('sizes_out_of_order', `size1 ${m} > size2 ${n}`);
    if (m === n) {
      if (proof.length !== 0)
        throw new ProofError('non_empty_proof_for_equal_sizes', `${proof.length} hashes for equal sizes`);
      if (!equalBytes(root1, root2)) throw new ProofError('root_mismatch', 'equal sizes with different roots');
      return true;
    }
    // Exact length: the inclusion path of leaf size1 − 1 in the new tree, minus the levels below
    // the largest complete subtree ending at size1 (its root is proof[0], or root1 itself when
    // size1 is a power of two).
    const shift = trailingZeros(m);
    const inner = bitLength((m - 1n) ^ (n - 1n));
    const border = popCount((m - 1n) >> BigInt(inner));
    const powerOfTwo = m === 1n << BigInt(shift);
    const want = inner - shift + border + (powerOfTwo ? 0 : 1);
    if (proof.length !== want)
      throw new ProofError('wrong_proof_length', `consistency proof has ${proof.length} hashes, want ${want}`);
    // RFC 9162 §2.1.4.2 steps 2–7.
    const path = powerOfTwo ? [root1, ...proof] : proof.slice();
    let fn = m - 1n;
    let sn = n - 1n;
    while ((fn & 1n) === 1n) {
      fn >>= 1n;
      sn >>= 1n;
    }
    let fr = path[0];
    let sr = path[0];
    for (const c of path.slice(1)) {
      if (sn === 0n) throw new ProofError('wrong_proof_length', 'proof longer than the path');
      if ((fn & 1n) === 1n || fn === sn) {
        fr = hasher.node(c, fr);
        sr = hasher.node(c, sr);
        if ((fn & 1n) === 0n)
          while (!((fn & 1n) === 1n || fn === 0n)) {
            fn >>= 1n;
            sn >>= 1n;
          }
      } else {
        sr = hasher.node(sr, c);
      }
      fn >>= 1n;
      sn >>= 1n;
    }
    if (sn !== 0n) throw new ProofError('wrong_proof_length', 'proof shorter than the path');
    if (!equalBytes(fr, root1)) throw new ProofError('old_root_mismatch', 'recomputed old root differs');
    if (!equalBytes(sr, root2)) throw new ProofError('root_mismatch', 'recomputed new root differs');
    return true;
  }

  return Object.freeze({
    hasher,
    leafHash: (d) => hasher.leaf(assertBytes(d, 'leaf data')),
    nodeHash: (l, r) => hasher.node(assertBytes(l, 'left'), assertBytes(r, 'right')),
    emptyRoot: () => hasher.empty(),
    root,
    inclusionPath,
    consistencyProof,
    rootFromInclusion,
    verifyInclusion,
    verifyConsistency,
  });
}

/** The ledger's log (§6): the tree bound to BLAKE3. */
export const ledgerMerkle = makeMerkle(blake3Hasher);
