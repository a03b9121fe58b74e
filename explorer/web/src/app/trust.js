// What the page trusts, and how it remembers it (localStorage, per origin):
//
// * the genesis file: fetched from the server, parsed, its hash recomputed here; pinned on first
//   use (`shanlian.genesis.pin`), its TOML kept for offline checks (`shanlian.genesis.toml.<hash>`).
//   A later visit that is served another genesis is refused loudly, as is a link whose `g=` names
//   another genesis hash than the one served.
// * the newest verified checkpoint, per genesis (`shanlian.checkpoint.<genesis hash>`): on every
//   visit the page asks the server for a checkpoint proof from the remembered height to its newest,
//   verifies it, and compares the proof's `old` checkpoint with the remembered one. A different
//   certified checkpoint at the same height is a fork: the server shows a different history.

import { parse as parseToml } from 'smol-toml';
import {
  checkCheckpointProof,
  checkpointProofToJson,
  checkpointToPlain,
  genesisFromToml,
  genesisHash,
  parseCheckpointProofJson,
  sameCheckpoint,
  toHex,
  toJson,
} from '../verify/index.js';
import { api, ApiError } from './api.js';

const K_PIN = 'shanlian.genesis.pin';
const K_TOML = (hash) => `shanlian.genesis.toml.${hash}`;
const K_CP = (hash) => `shanlian.checkpoint.${hash}`;

const store = {
  get(key) {
    try {
      const v = localStorage.getItem(key);
      return v === null ? null : JSON.parse(v);
    } catch {
      return null;
    }
  },
  set(key, value) {
    try {
      localStorage.setItem(key, JSON.stringify(value));
    } catch {
      /* storage full or disabled: the page still verifies, it just cannot remember */
    }
  },
  remove(key) {
    try {
      localStorage.removeItem(key);
    } catch {
      /* ignore */
    }
  },
};

/** Parses a genesis TOML text into the verifier's Genesis value and its hash (hex). */
export function genesisOfToml(toml) {
  const genesis = genesisFromToml(parseToml(toml));
  return { genesis, hash: toHex(genesisHash(genesis)) };
}

/**
 * The page's trust state. `genesis.status`:
 *   'first-use'  nothing was pinned: this genesis is pinned now
 *   'match'      the served genesis is the pinned one
 *   'changed'    the server serves another genesis than the pinned one (refused)
 *   'link-mismatch'  nothing pinned yet, and the link the page was opened with (`g=`) names
 *                another genesis than the server serves (refused, nothing pinned)
 *   'error'      the genesis could not be fetched or read (refused)
 * `history.status`:
 *   'pending', 'first' (a verified checkpoint remembered for the first time), 'consistent',
 *   'fork' (a different certified checkpoint at the remembered height), 'invalid' (the proof
 *   failed), 'behind' (the server is below the remembered height), 'error' (could not ask)
 */
export const trust = {
  genesis: null,
  genesisHash: null,
  toml: null,
  chainId: null,
  pin: { status: 'pending', pinned: null, served: null, claimed: null, error: null },
  history: { status: 'pending', remembered: null, verified: null, error: null, evidence: null },
  listeners: new Set(),
  ready: null,
};

function changed() {
  for (const l of trust.listeners) l(trust);
}
export function onTrustChange(fn) {
  trust.listeners.add(fn);
  return () => trust.listeners.delete(fn);
}

/** Whether verification may run against the served genesis. */
export function genesisUsable() {
  return trust.genesis !== null && (trust.pin.status === 'first-use' || trust.pin.status === 'match');
}

/** Fetches, reads and pins the genesis (see `trust.pin`). `linkHash`: a `g=` the page was opened with. */
async function loadGenesis(linkHash) {
  let served;
  try {
    served = await api('/genesis');
  } catch (err) {
    trust.pin = { status: 'error', error: err instanceof ApiError ? err.code : String(err), pinned: store.get(K_PIN)?.hash ?? null };
    return;
  }
  let parsed;
  try {
    parsed = genesisOfToml(served.toml);
  } catch (err) {
    trust.pin = { status: 'error', error: `genesis.unreadable: ${err.message}`, pinned: store.get(K_PIN)?.hash ?? null };
    return;
  }
  trust.genesis = parsed.genesis;
  trust.genesisHash = parsed.hash;
  trust.toml = served.toml;
  trust.chainId = parsed.genesis.chain_id;
  const claimed = String(served.hash).toLowerCase();
  const pinned = store.get(K_PIN);
  if (claimed !== parsed.hash) {
    // The server's own claim about its genesis hash is wrong: nothing it says can be trusted.
    trust.pin = { status: 'error', error: 'genesis.hash_mismatch', served: parsed.hash, claimed, pinned: pinned?.hash ?? null };
    return;
  }
  if (pinned === null && linkHash && linkHash !== parsed.hash) {
    // First use, through a link naming another genesis: pin nothing, verify nothing.
    trust.pin = { status: 'link-mismatch', pinned: null, served: parsed.hash, claimed, link: linkHash };
  } else if (pinned === null) {
    store.set(K_PIN, { hash: parsed.hash, chain_id: parsed.genesis.chain_id, since: Date.now() });
    store.set(K_TOML(parsed.hash), served.toml);
    trust.pin = { status: 'first-use', pinned: parsed.hash, served: parsed.hash, claimed };
  } else if (pinned.hash === parsed.hash) {
    store.set(K_TOML(parsed.hash), served.toml);
    trust.pin = { status: 'match', pinned: pinned.hash, served: parsed.hash, claimed, since: pinned.since };
  } else {
    trust.pin = { status: 'changed', pinned: pinned.hash, served: parsed.hash, claimed, since: pinned.since };
  }
}

/** The user's explicit decision to trust the genesis this server serves from now on. */
export function acceptServedGenesis() {
  if (!trust.genesisHash) return;
  store.set(K_PIN, { hash: trust.genesisHash, chain_id: trust.chainId, since: Date.now() });
  store.set(K_TOML(trust.genesisHash), trust.toml);
  trust.pin = { status: 'match', pinned: trust.genesisHash, served: trust.genesisHash, claimed: trust.genesisHash };
  changed();
  checkHistory();
}

/** The pinned genesis for offline checks: { hash, genesis, toml } from localStorage, or null. */
export function cachedGenesis() {
  const pin = store.get(K_PIN);
  if (!pin) return null;
  const toml = store.get(K_TOML(pin.hash));
  if (typeof toml !== 'string') return null;
  try {
    const parsed = genesisOfToml(toml);
    if (parsed.hash !== pin.hash) return null;
    return { ...parsed, toml };
  } catch {
    return null;
  }
}

/** The remembered checkpoint of the served genesis (plain JSON), or null. */
export function rememberedCheckpoint() {
  return trust.genesisHash ? store.get(K_CP(trust.genesisHash)) : null;
}

function remember(signed) {
  const plain = checkpointToPlain(signed.checkpoint);
  const value = { ...plain, time: Number(signed.header.time), saved: Date.now(), signed: toJson('SignedCheckpoint', signed) };
  store.set(K_CP(trust.genesisHash), value);
  return value;
}

/** Forgets the remembered checkpoint (the user's decision after a fork warning). */
export function forgetCheckpoint() {
  if (trust.genesisHash) store.remove(K_CP(trust.genesisHash));
  trust.history = { status: 'pending', remembered: null, verified: null, error: null, evidence: null };
  changed();
  return checkHistory();
}

/**
 * The history check (see `trust.history`): runs on every visit, after the genesis is pinned.
 */
export async function checkHistory() {
  if (!genesisUsable()) {
    trust.history = { status: 'skipped', remembered: rememberedCheckpoint(), verified: null, error: null, evidence: null };
    changed();
    return trust.history;
  }
  const remembered = rememberedCheckpoint();
  trust.history = { status: 'pending', remembered, verified: null, error: null, evidence: null };
  changed();
  try {
    const status = await api('/status');
    const height = Number(status.height);
    if (height < 1) {
      trust.history = { ...trust.history, status: 'empty' };
    } else if (remembered && height < remembered.height) {
      trust.history = { ...trust.history, status: 'behind', serverHeight: height };
    } else {
      const from = remembered ? remembered.height : height;
      const to = remembered ? '' : `&to=${height}`;
      const raw = await api(`/checkpoints/proof?from=${from}${to}`);
      const r = checkCheckpointProof(trust.genesis, raw);
      if (!r.ok) {
        trust.history = { ...trust.history, status: 'invalid', error: { code: r.error.code, at: r.error.at, detail: r.error.detail } };
      } else if (remembered && !sameCheckpoint(r.value.old, remembered)) {
        // Two certified checkpoints of one height: keep the remembered one, keep both as evidence.
        trust.history = {
          ...trust.history,
          status: 'fork',
          verified: checkpointToPlain(r.value.old),
          newest: checkpointToPlain(r.value.new),
          evidence: {
            remembered: remembered.signed ?? remembered,
            served: toJson('SignedCheckpoint', r.value.oldSigned),
            proof: checkpointProofToJson(parseCheckpointProofJson(raw)),
          },
        };
      } else {
        const saved = remember(r.value.newSigned);
        trust.history = { ...trust.history, status: remembered ? 'consistent' : 'first', verified: saved };
      }
    }
  } catch (err) {
    trust.history = { ...trust.history, status: 'error', error: { code: err.code ?? 'error', at: 'request', detail: err.message } };
  }
  changed();
  return trust.history;
}

/** Boot: pin the genesis, then check the history. `linkHash`: the `g=` of the URL, if any. */
export function initTrust(linkHash = null) {
  trust.ready = (async () => {
    await loadGenesis(linkHash ? String(linkHash).toLowerCase() : null);
    changed();
    await checkHistory();
    return trust;
  })();
  return trust.ready;
}
