// Genesis (docs/SPEC.md §2.4, §5; genesis/README.md): building the Genesis value from a parsed
// genesis TOML file, and libp2p peer ids ↔ node keys.
//
// The TOML text itself is parsed by the caller (any TOML 1.0 parser; the tests use smol-toml),
// so this module stays dependency-free and browser-safe. The genesis hash depends only on the
// values, not on the TOML text (genesis/README.md "The genesis hash").

import { concat, equalBytes, fromHex } from './bytes.js';
import { memberKeyProblem } from './crypto.js';

// ---------------------------------------------------------------------------------------------
// base58btc (Bitcoin alphabet, no multibase prefix)

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const INDEX = new Map([...ALPHABET].map((c, i) => [c, BigInt(i)]));

/** base58btc decoding; every leading '1' is a leading zero byte. Throws on a bad character. */
export function base58Decode(text) {
  if (typeof text !== 'string') throw new TypeError('base58Decode: expected a string');
  let zeros = 0;
  while (zeros < text.length && text[zeros] === '1') zeros++;
  let n = 0n;
  for (const ch of text.slice(zeros)) {
    const v = INDEX.get(ch);
    if (v === undefined) throw new RangeError(`base58Decode: bad character ${JSON.stringify(ch)}`);
    n = n * 58n + v;
  }
  const body = [];
  while (n > 0n) {
    body.push(Number(n & 0xffn));
    n >>= 8n;
  }
  return Uint8Array.from([...new Array(zeros).fill(0), ...body.reverse()]);
}

/** base58btc encoding (inverse of base58Decode). */
export function base58Encode(bytes) {
  let zeros = 0;
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++;
  let n = 0n;
  for (const b of bytes.subarray(zeros)) n = (n << 8n) | BigInt(b);
  let out = '';
  while (n > 0n) {
    out = ALPHABET[Number(n % 58n)] + out;
    n /= 58n;
  }
  return '1'.repeat(zeros) + out;
}

// ---------------------------------------------------------------------------------------------
// Peer ids (§5): base58btc(0x00 0x24 0x08 0x01 0x12 0x20 ‖ key): the identity multihash (code
// 0x00, length 0x24 = 36) of the protobuf PublicKey { Type (field 1, varint) = Ed25519 (1),
// Data (field 2, length-delimited, 32 bytes) = key }. Other key types are refused.

const PEER_ID_PREFIX = Uint8Array.from([0x00, 0x24, 0x08, 0x01, 0x12, 0x20]);

/** The 32-byte Ed25519 node key of a libp2p peer id (`12D3KooW…`); throws for anything else. */
export function peerIdToNodeKey(peerId) {
  const raw = base58Decode(peerId);
  if (raw.length !== 38 || !equalBytes(raw.subarray(0, 6), PEER_ID_PREFIX))
    throw new RangeError(`peer id ${peerId} is not an Ed25519 identity-multihash peer id`);
  return raw.slice(6);
}

/** The libp2p peer id of a 32-byte node key. */
export function nodeKeyToPeerId(nodeKey) {
  if (!(nodeKey instanceof Uint8Array) || nodeKey.length !== 32)
    throw new TypeError('nodeKeyToPeerId: expected 32 bytes');
  return base58Encode(concat(PEER_ID_PREFIX, nodeKey));
}

// ---------------------------------------------------------------------------------------------
// Genesis TOML → Genesis value

/** What genesis says about a key memberKeyProblem refuses (the ledger's CryptoError texts). */
const MEMBER_KEY_PROBLEMS = {
  public_key_not_a_point: 'not a valid Edwards point',
  non_canonical_key: 'not the canonical encoding of its point',
  small_order_key: 'a point of small order (weak key)',
  torsion_key: 'has a small-order component (weak key)',
};
const ROLES = { bureau: 'Bureau', charity: 'Charity', lottery_centre: 'LotteryCentre', auditor: 'Auditor' };
const PARAM_FIELDS = [
  ['max_record_bytes', 'u32'],
  ['max_records_per_block', 'u32'],
  ['max_expiry_window_ms', 'u64'],
  ['clock_skew_ms', 'u64'],
  ['validator_change_delay', 'u64'],
  ['elderly_min_share_bp', 'u32'],
  ['charity_activity_min_bp', 'u32'],
  ['charity_management_max_bp', 'u32'],
];
/** §2.4 defaults, taken when `[params]` is absent (genesis/README.md: all or nothing). */
export const DEFAULT_PARAMS = Object.freeze({
  max_record_bytes: 4096,
  max_records_per_block: 10000,
  max_expiry_window_ms: 3600000n,
  clock_skew_ms: 30000n,
  validator_change_delay: 2n,
  elderly_min_share_bp: 5500,
  charity_activity_min_bp: 7000,
  charity_management_max_bp: 1000,
});
const GAME_U32 = ['prize_bp', 'issuance_fee_bp', 'welfare_bp', 'central_bp'];

function fail(field, msg) {
  throw new RangeError(`genesis field \`${field}\`: ${msg}`);
}

function onlyKeys(obj, allowed, where) {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) fail(where, 'expected a table');
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) fail(where ? `${where}.${k}` : k, 'unknown field');
}

function integer(v, bits, field) {
  const n = typeof v === 'bigint' ? v : typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : null;
  if (n === null || n < 0n || n >= 1n << BigInt(bits)) fail(field, `expected an integer in 0 … 2^${bits} − 1`);
  return bits === 64 ? n : Number(n);
}

function string(v, field) {
  if (typeof v !== 'string') fail(field, 'expected a string');
  return v;
}

/**
 * The Genesis value (§2.4) of a parsed genesis TOML document (the object a TOML parser returns;
 * `genesis_time` must be an offset date-time, i.e. a Date). Applies the structural rules of
 * genesis/README.md that this value depends on — unknown fields refused, all-or-nothing
 * [params], roles, 64-hex-digit keys, Ed25519 peer ids, UTC time kept to the millisecond — and
 * the member-key rule of §4 (canonical, not of small order, torsion-free) with unique keys; it
 * does not re-check every policy rule of `Genesis::from_toml` (USCC check characters, bp sums,
 * …), which the ledger enforced when it accepted the file. Its use is to recompute the genesis
 * hash a light client binds to.
 */
export function genesisFromToml(doc) {
  onlyKeys(doc, ['chain_id', 'genesis_time', 'params', 'members', 'games'], '');
  const chainId = string(doc.chain_id, 'chain_id');
  if (!/^[\x00-\x7f]{1,64}$/.test(chainId)) fail('chain_id', 'must be 1 to 64 ASCII characters');

  const t = doc.genesis_time;
  if (!(t instanceof Date) || Number.isNaN(t.getTime())) fail('genesis_time', 'expected an offset date-time');
  // A TOML local date-time or bare date has no offset; smol-toml's TomlDate says so
  // (isDateTime / isLocal) and keeps the written offset in toISOString(). Only `Z` and `+00:00`
  // are UTC (genesis/README.md); a plain Date's toISOString() always ends with Z.
  if (typeof t.isLocal === 'function' && (!t.isDateTime() || t.isLocal()))
    fail('genesis_time', 'must be an offset date-time in UTC (end it with Z)');
  if (!/(Z|\+00:00)$/.test(t.toISOString())) fail('genesis_time', 'must be UTC (end it with Z or +00:00)');
  if (t.getTime() < 0) fail('genesis_time', 'year must be ≥ 1970');
  const time = BigInt(t.getTime()); // milliseconds; a Date already drops finer fractions

  let params;
  if (doc.params === undefined) params = { ...DEFAULT_PARAMS };
  else {
    onlyKeys(doc.params, PARAM_FIELDS.map(([f]) => f), 'params');
    params = {};
    for (const [f, ty] of PARAM_FIELDS) {
      if (!(f in doc.params)) fail(`params.${f}`, 'missing (give all eight or leave [params] out)');
      params[f] = integer(doc.params[f], ty === 'u64' ? 64 : 32, `params.${f}`);
    }
  }

  if (!Array.isArray(doc.members)) fail('members', 'expected an array of tables');
  const seen = new Set();
  const members = doc.members.map((m, i) => {
    const at = `members[${i}]`;
    onlyKeys(m, ['name', 'role', 'uscc', 'public_key', 'node_peer_id', 'power'], at);
    const role = ROLES[string(m.role, `${at}.role`)];
    if (!role) fail(`${at}.role`, 'must be bureau, charity, lottery_centre or auditor');
    const keyHex = string(m.public_key, `${at}.public_key`);
    if (!/^[0-9a-fA-F]{64}$/.test(keyHex)) fail(`${at}.public_key`, 'expected 64 hex digits');
    const publicKey = fromHex(keyHex);
    const problem = memberKeyProblem(publicKey);
    if (problem !== null) fail(`${at}.public_key`, MEMBER_KEY_PROBLEMS[problem]);
    const lower = keyHex.toLowerCase();
    if (seen.has(lower)) fail(`${at}.public_key`, 'used by another member');
    seen.add(lower);
    let node;
    try {
      node = peerIdToNodeKey(string(m.node_peer_id, `${at}.node_peer_id`));
    } catch (err) {
      fail(`${at}.node_peer_id`, err.message);
    }
    return {
      name: string(m.name, `${at}.name`),
      role: { kind: role },
      uscc: string(m.uscc, `${at}.uscc`),
      public_key: publicKey,
      node,
      power: m.power === undefined ? 0n : integer(m.power, 64, `${at}.power`),
    };
  });

  const gamesIn = doc.games === undefined ? [] : doc.games;
  if (!Array.isArray(gamesIn)) fail('games', 'expected an array of tables');
  const games = gamesIn.map((g, i) => {
    const at = `games[${i}]`;
    onlyKeys(g, ['id', 'name', ...GAME_U32], at);
    const game = { id: string(g.id, `${at}.id`), name: string(g.name, `${at}.name`) };
    for (const f of GAME_U32) game[f] = integer(g[f], 32, `${at}.${f}`);
    return game;
  });

  return { chain_id: chainId, time, params, members, games };
}
