// bytes.js helpers, base58 / peer ids, genesis TOML → Genesis, and the remaining hash helpers.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse as parseToml } from 'smol-toml';
import { ed25519 } from '@noble/curves/ed25519.js';
import {
  DEFAULT_PARAMS,
  addressOf,
  base58Decode,
  base58Encode,
  be64,
  bigIntToBytesLE,
  blake3,
  bytesToBigIntLE,
  checkpointOf,
  compareBytes,
  concat,
  decode,
  encode,
  equalBytes,
  fromHex,
  genesisFromToml,
  genesisHash,
  headerHash,
  le32,
  le64,
  nodeKeyToPeerId,
  peerIdToNodeKey,
  rotateKeyBody,
  signingMessage,
  toHex,
  utf8,
  validatorSetHash,
  stateHash,
  stateHashOfRoot,
  writeSetLeaf,
  writeSetRoot,
} from '../src/verify/index.js';

const DEV_TOML = readFileSync(new URL('../../../genesis/dev.toml', import.meta.url), 'utf8');
const DEV_HASH = '2c5bd8d7bad29649860b1988ba3581a7d07a893e10fd725f1a5fd436ada47764';
const devHash = (text) => toHex(genesisHash(genesisFromToml(parseToml(text))));

test('hex, concat, equality, comparison', () => {
  assert.equal(toHex(fromHex('00ff10AB')), '00ff10ab');
  assert.deepEqual(fromHex(''), new Uint8Array(0));
  assert.throws(() => fromHex('abc'), RangeError);
  assert.throws(() => fromHex('zz'), RangeError);
  assert.throws(() => fromHex('0x00'), RangeError);
  assert.deepEqual(concat(fromHex('01'), new Uint8Array(0), fromHex('0203')), fromHex('010203'));
  assert.ok(equalBytes(fromHex('0102'), fromHex('0102')));
  assert.ok(!equalBytes(fromHex('0102'), fromHex('0103')));
  assert.ok(!equalBytes(fromHex('01'), fromHex('0100')));
  assert.equal(compareBytes(fromHex('01'), fromHex('0100')), -1);
  assert.equal(compareBytes(fromHex('02'), fromHex('0100')), 1);
  assert.equal(compareBytes(fromHex('0100'), fromHex('0100')), 0);
  assert.throws(() => concat([1, 2]), TypeError);
});

test('LE32 / LE64 / BE64 and little-endian BigInts', () => {
  assert.equal(toHex(le32(0x01020304)), '04030201');
  assert.equal(toHex(le32(0xffffffffn)), 'ffffffff');
  assert.throws(() => le32(2 ** 32), RangeError);
  assert.throws(() => le32(-1), RangeError);
  assert.equal(toHex(le64(1767225601000n)), 'e8abda769b010000');
  assert.equal(toHex(le64(7)), '0700000000000000');
  assert.equal(toHex(le64((1n << 64n) - 1n)), 'ffffffffffffffff');
  assert.throws(() => le64(1n << 64n), RangeError);
  assert.throws(() => le64(2 ** 60), TypeError); // not a safe integer: pass a BigInt
  assert.throws(() => le64('1'), TypeError);
  assert.equal(toHex(be64(0x0102n)), '0000000000000102');
  assert.equal(bytesToBigIntLE(fromHex('e8abda769b010000')), 1767225601000n);
  assert.equal(toHex(bigIntToBytesLE(258n, 3)), '020100');
  assert.throws(() => bigIntToBytesLE(1n << 24n, 3), RangeError);
  assert.throws(() => utf8('\uDC00x'), RangeError);
  assert.equal(toHex(utf8('某')), 'e69f90');
});

test('base58btc', () => {
  assert.equal(base58Encode(utf8('Hello World!')), '2NEpo7TZRRrLZSi2U');
  assert.deepEqual(base58Decode('2NEpo7TZRRrLZSi2U'), utf8('Hello World!'));
  assert.equal(base58Encode(fromHex('0000287fb4cd')), '11233QC4');
  assert.deepEqual(base58Decode('11233QC4'), fromHex('0000287fb4cd'));
  assert.equal(base58Encode(new Uint8Array(0)), '');
  assert.throws(() => base58Decode('0OIl'), RangeError);
  for (let n = 0; n < 40; n++) {
    const b = blake3(utf8(`b58 ${n}`)).subarray(0, n % 33);
    if (n % 5 === 0 && b.length > 0) b[0] = 0;
    assert.deepEqual(base58Decode(base58Encode(b)), b);
  }
});

test('peer ids ↔ node keys (§5), against the dev node keys', () => {
  const doc = parseToml(DEV_TOML);
  const labels = ['bureau', 'charity-federation', 'red-cross', 'one-foundation', 'lottery-centre', 'auditor'];
  doc.members.forEach((m, i) => {
    const key = peerIdToNodeKey(m.node_peer_id);
    assert.ok(m.node_peer_id.startsWith('12D3KooW'));
    // The node key of member <label> is that of seed blake3("shanlian insecure dev key" ‖ "dev/<label>/node").
    const seed = blake3(utf8('shanlian insecure dev key'), utf8(`dev/${labels[i]}/node`));
    assert.equal(toHex(key), toHex(ed25519.getPublicKey(seed)), labels[i]);
    assert.equal(nodeKeyToPeerId(key), m.node_peer_id);
  });
  // A secp256k1 or RSA peer id, or a truncated one, is refused.
  assert.throws(() => peerIdToNodeKey('16Uiu2HAmLhLvBoYaoZfaMUKuibM6ac163GwKY74c5kiSLg5KvLpY'), RangeError);
  assert.throws(() => peerIdToNodeKey('QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N'), RangeError);
  assert.throws(() => peerIdToNodeKey('12D3KooWJAXAuN9zuZdU9JghQTu3aBreJoABniaobquQ24pDurR'), RangeError);
});

test('genesis: dev.toml gives the §12 genesis hash; it depends on values, not on the text', () => {
  assert.equal(devHash(DEV_TOML), DEV_HASH);
  const g = genesisFromToml(parseToml(DEV_TOML));
  assert.deepEqual(g.params, DEFAULT_PARAMS);
  assert.equal(g.members.length, 6);
  assert.deepEqual(g.members[2].power, 0n); // red-cross has no power line
  assert.deepEqual(g.members[4].role, { kind: 'LotteryCentre' });
  assert.equal(g.games[1].id, 'KL8');
  // An explicit `power = 0`, another equivalent time, comments and key order change nothing.
  const same = DEV_TOML.replace('node_peer_id = "12D3KooWBmMjiMDweDw9W4iUBHdjRypv2u1qA1NY9Lu52NWknX63"', 'node_peer_id = "12D3KooWBmMjiMDweDw9W4iUBHdjRypv2u1qA1NY9Lu52NWknX63"\npower = 0 # explicit')
    .replace('genesis_time = 2026-01-01T00:00:00Z', 'genesis_time = 2026-01-01T00:00:00.000+00:00');
  assert.notEqual(same, DEV_TOML);
  assert.equal(devHash(same), DEV_HASH);
  // Leaving [params] out takes the defaults, which dev.toml spells out: same hash.
  const noParams = DEV_TOML.replace(/\[params\][^[]*/, '');
  assert.ok(!noParams.includes('max_record_bytes'));
  assert.equal(devHash(noParams), DEV_HASH);
  // Values do matter: member order, a game split, the time.
  assert.notEqual(devHash(DEV_TOML.replace('central_bp = 5000\n\n[[games]]', 'central_bp = 4999\n\n[[games]]')), DEV_HASH);
  assert.notEqual(devHash(DEV_TOML.replace('2026-01-01T00:00:00Z', '2026-01-01T00:00:00.001Z')), DEV_HASH);
  // The time is kept to the millisecond; finer fractions are dropped, not rounded (genesis/README.md).
  assert.equal(devHash(DEV_TOML.replace('2026-01-01T00:00:00Z', '2026-01-01T00:00:00.0009Z')), DEV_HASH);
});

test('genesis: refusals', () => {
  const refuse = (text, re) => assert.throws(() => genesisFromToml(parseToml(text)), re);
  refuse(DEV_TOML.replace('chain_id =', 'chain_idd = "x"\nchain_id ='), /`chain_idd`: unknown field/);
  refuse(DEV_TOML.replace('clock_skew_ms = 30000\n', ''), /params.clock_skew_ms`: missing/);
  refuse(DEV_TOML.replace('role = "auditor"', 'role = "Auditor"'), /members\[5\].role/);
  refuse(DEV_TOML.replace('genesis_time = 2026-01-01T00:00:00Z', 'genesis_time = 2026-01-01T08:00:00+08:00'), /genesis_time/);
  refuse(DEV_TOML.replace('genesis_time = 2026-01-01T00:00:00Z', 'genesis_time = 2026-01-01T00:00:00'), /genesis_time/);
  refuse(DEV_TOML.replace('genesis_time = 2026-01-01T00:00:00Z', 'genesis_time = 2026-01-01'), /genesis_time/);
  refuse(DEV_TOML.replace('genesis_time = 2026-01-01T00:00:00Z', 'genesis_time = "2026-01-01T00:00:00Z"'), /genesis_time/);
  refuse(DEV_TOML.replace('"25233bcb85b073b93ee22bcc400f5983908ebe66e8fde2d11f78d8e758e937e2"', '"0100000000000000000000000000000000000000000000000000000000000000"'), /members\[5\].public_key`: a point of small order/);
  // The member-key rule of §4 (memberKeyProblem): above, the identity (small order); below, y = 2
  // (not a point), the identity with the sign bit set (not canonical), B + T8 (torsion).
  refuse(DEV_TOML.replace('"25233bcb85b073b93ee22bcc400f5983908ebe66e8fde2d11f78d8e758e937e2"', '"0200000000000000000000000000000000000000000000000000000000000000"'), /members\[5\].public_key`: not a valid Edwards point/);
  refuse(DEV_TOML.replace('"25233bcb85b073b93ee22bcc400f5983908ebe66e8fde2d11f78d8e758e937e2"', '"0100000000000000000000000000000000000000000000000000000000000080"'), /members\[5\].public_key`: not the canonical encoding/);
  refuse(DEV_TOML.replace('"25233bcb85b073b93ee22bcc400f5983908ebe66e8fde2d11f78d8e758e937e2"', '"98519eadf35b995233b51b5cd23e9cc5a28b639b5a4af0ec903cb960d81b7819"'), /members\[5\].public_key`: has a small-order component/);
  refuse(DEV_TOML.replace('"25233bcb85b073b93ee22bcc400f5983908ebe66e8fde2d11f78d8e758e937e2"', '"168d6f4238a0c9194f54bcdaa523e0b1903739c3306706897e214bda7ac9c5a3"'), /used by another member/);
  refuse(DEV_TOML.replace('"25233bcb85b073b93ee22bcc400f5983908ebe66e8fde2d11f78d8e758e937e2"', '"25233bcb"'), /64 hex digits/);
  refuse(DEV_TOML.replace('12D3KooWL9Qo4KF9f62C42DbdD9me9sTMc7ZvHkTqY8q72dsqABQ', 'QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N'), /node_peer_id/);
  refuse(DEV_TOML.replace('prize_bp = 5100', 'prize_bp = 4294967296'), /games\[0\].prize_bp/);
  refuse(DEV_TOML.replace('power = 10', 'power = -1'), /members\[0\].power/);
});

test('ids and hashes of §5: address, header, checkpoint, validator set, rotate-key body', () => {
  const key = fromHex('168d6f4238a0c9194f54bcdaa523e0b1903739c3306706897e214bda7ac9c5a3');
  assert.equal(toHex(addressOf(key)), '3ff1eafb1f95d76bb81029321cc39d5e2303c039');
  assert.throws(() => addressOf(key.subarray(1)), RangeError);

  const header = {
    chain_id: 'shanlian-dev', height: 9n, time: 5n, prev_hash: blake3(utf8('p')), log_size: 3n,
    log_root: blake3(utf8('l')), record_root: blake3(utf8('r')), state_hash: blake3(utf8('s')),
    proposer: addressOf(key), validator_set_hash: blake3(utf8('v')),
  };
  const cp = checkpointOf(header);
  assert.deepEqual(cp, { log_size: 3n, log_root: header.log_root, header_hash: headerHash(header), height: 9n });
  assert.deepEqual(decode('Checkpoint', encode('Checkpoint', cp)), cp);
  assert.equal(encode('Checkpoint', cp).length, 80);

  // Validator set: sorted by address, zero power left out, duplicates refused.
  const v = (tag, power) => ({ address: blake3(utf8(tag)).subarray(0, 20), public_key: blake3(utf8(`k${tag}`)), power });
  const a = v('a', 10n);
  const b = v('b', 5n);
  const z = v('z', 0n);
  const sorted = [a, b].sort((x, y) => compareBytes(x.address, y.address));
  const expected = blake3(encode('ValidatorSet', { validators: sorted }));
  assert.deepEqual(validatorSetHash([b, z, a]), expected);
  assert.deepEqual(validatorSetHash({ validators: [a, b] }), expected);
  assert.throws(() => validatorSetHash([a, a]), /duplicate/);
  assert.deepEqual(validatorSetHash([]), blake3(fromHex('0000000000000000')));

  // Rotate-key consent body: raw member ‖ new key, in domain rotate-key.
  const body = rotateKeyBody(addressOf(key), key);
  assert.equal(body.length, 52);
  const g = blake3(utf8('g'));
  assert.deepEqual(signingMessage('rotate-key', g, body), concat(utf8('shanlian/rotate-key/v1'), new Uint8Array([0]), g, body));
  assert.throws(() => rotateKeyBody(key, key), RangeError);
  assert.throws(() => signingMessage('record', g.subarray(1), body), RangeError);
});

test('write-set root (§9.3): leaves in key order (prefix first), puts and deletions, no repeated key', () => {
  const ws = [
    { key: fromHex('0102'), value: fromHex('aa') },
    { key: fromHex('01'), value: new Uint8Array(0) },
    { key: fromHex('00ff'), value: null },
  ];
  const leaves = [
    concat(fromHex('02000000'), fromHex('00ff'), fromHex('00')),
    concat(fromHex('01000000'), fromHex('01'), fromHex('01'), fromHex('00000000')),
    concat(fromHex('02000000'), fromHex('0102'), fromHex('01'), fromHex('01000000'), fromHex('aa')),
  ];
  ws.forEach(({ key, value }, i) => assert.deepEqual(writeSetLeaf(key, value), leaves[[2, 1, 0][i]]));
  const leaf = (b) => blake3(fromHex('00'), b);
  const node = (l, r) => blake3(fromHex('01'), l, r);
  // Three leaves: node(node(leaf0, leaf1), leaf2), as the log of §6.
  assert.deepEqual(writeSetRoot(ws), node(node(leaf(leaves[0]), leaf(leaves[1])), leaf(leaves[2])));
  assert.deepEqual(writeSetRoot(ws.slice(2)), leaf(leaves[0]));
  assert.deepEqual(writeSetRoot([]), blake3(new Uint8Array(0)));
  assert.throws(() => writeSetRoot([...ws, { key: fromHex('01'), value: null }]), /twice/);
  assert.ok(!equalBytes(writeSetRoot(ws.slice(0, 2)), writeSetRoot(ws)));
  // state_hash(h) = blake3("shanlian/state/v2" ‖ 0x00 ‖ previous ‖ LE64(h) ‖ root)
  const previous = blake3(utf8('previous'));
  assert.deepEqual(
    stateHash(previous, 3n, ws),
    blake3(utf8('shanlian/state/v2'), fromHex('00'), previous, le64(3n), writeSetRoot(ws)),
  );
  assert.deepEqual(stateHashOfRoot(previous, 0, writeSetRoot([])), stateHash(previous, 0n, []));
});
