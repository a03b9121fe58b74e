// The RFC 6962 / RFC 9162 proof vectors of transparency-dev/merkle (ledger/tests/data/rfc6962,
// Apache-2.0; see README.md and LICENSE there), run through src/verify/merkle.js instantiated
// with SHA-256: each case must verify iff `wantErr` is false. Interpreted as the Rust test
// ledger/tests/it/vectors.rs does:
//   - hashes are base64; a hash that is missing, not base64 or not 32 bytes cannot be passed to a
//     verifier of 32-byte hashes, so the case is refused (here: ProofError 'malformed_hash');
//   - a missing/null proof is empty; a missing number is 0;
//   - the one exception: consistency/additional/sizes-are-equal-one-and-proof-is-empty.json
//     (sizes 1 and 1, empty proof, two equal 12-byte "roots") has wantErr false because
//     transparency-dev compares raw bytes; we refuse its malformed hashes, like the Rust side.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256 } from '@noble/hashes/sha2.js';
import { makeMerkle, ProofError, rfc6962Hasher } from '../src/verify/merkle.js';

const ROOT = fileURLToPath(new URL('../../../ledger/tests/data/rfc6962/testdata', import.meta.url));
const ACCEPTED_WITH_BAD_HASH = 'consistency/additional/sizes-are-equal-one-and-proof-is-empty.json';
const merkle = makeMerkle(rfc6962Hasher(sha256));

function jsonFiles(dir) {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const p = join(dir, name);
      return statSync(p).isDirectory() ? jsonFiles(p) : name.endsWith('.json') ? [p] : [];
    });
}

/** JSON.parse with the u64 fields kept exact (leafIdx 2^64 − 1 does not fit a double). */
function parseCase(text) {
  const quoted = text.replace(/("(?:leafIdx|treeSize|size1|size2)"\s*:\s*)(\d+)/g, '$1"$2"');
  const c = JSON.parse(quoted);
  for (const k of ['leafIdx', 'treeSize', 'size1', 'size2']) c[k] = c[k] === undefined ? 0n : BigInt(c[k]);
  return c;
}

/** A strict standard-base64 hash (Node's Buffer decoder skips bad characters, so check first). */
function hash(v) {
  if (typeof v !== 'string' || !/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(v))
    return new Uint8Array(0); // not base64: passed on, and refused as 'malformed_hash'
  return new Uint8Array(Buffer.from(v, 'base64'));
}

const files = jsonFiles(ROOT);

test('the vector folder is there', () => {
  assert.ok(files.length > 150, `only ${files.length} files under ${ROOT}`);
});

let seenException = false;
const counts = { accepted: 0, refused: 0 };

for (const file of files) {
  const rel = relative(ROOT, file).split(sep).join('/');
  test(rel, () => {
    const c = parseCase(readFileSync(file, 'utf8'));
    const wantErr = c.wantErr === true;
    const proof = Array.isArray(c.proof) ? c.proof.map(hash) : [];
    let err = null;
    try {
      if (rel.startsWith('inclusion/'))
        merkle.verifyInclusion(hash(c.leafHash), c.leafIdx, c.treeSize, proof, hash(c.root));
      else merkle.verifyConsistency(c.size1, c.size2, hash(c.root1), hash(c.root2), proof);
    } catch (e) {
      assert.ok(e instanceof ProofError, `${rel}: unexpected ${e}`);
      err = e;
    }
    if (rel === ACCEPTED_WITH_BAD_HASH) {
      assert.equal(err?.code, 'malformed_hash', `${rel}: the 12-byte roots must be refused`);
      seenException = true;
      return;
    }
    assert.equal(err !== null, wantErr, `${rel} (${c.desc}): ${err ? err.message : 'accepted'}`);
    counts[err ? 'refused' : 'accepted']++;
  });
}

test('the named exception was seen, and both verdicts occur', () => {
  assert.ok(seenException, `${ACCEPTED_WITH_BAD_HASH} not found`);
  assert.ok(counts.accepted >= 10 && counts.refused >= 100, JSON.stringify(counts));
});
