// Finding a donation's record id when the server's donation view cannot be had.
//
// `GET /api/v1/donations/{charity}/{receipt}` is the natural way from a receipt number to its
// record id, but the server builds and checks a trace proof before it answers, and answers
// `server.error` when its own proof fails (as a tampering server's does). The page then still
// wants to verify — and show *which* proof is wrong — so it looks for the record in the block
// lists (newest first, a bounded number of blocks), and takes nothing on trust: the bundle it
// then verifies must be a RecordDonation of that receipt signed by that charity.

import { api } from './api.js';

const MAX_BLOCKS = 4000; // at most this many block summaries are read

/**
 * The id of the RecordDonation with `receipt` of `charity` (address hex), or null.
 * `progress(height)` is told which block it is at.
 */
export async function scanForDonation(charity, receipt, progress = () => {}) {
  let before = '';
  let read = 0;
  const want = charity.toLowerCase();
  while (read < MAX_BLOCKS) {
    const page = await api(`/blocks?limit=200${before ? `&before=${before}` : ''}`);
    for (const b of page.items) {
      read++;
      if (!b.records) continue;
      progress(b.height);
      const block = await api(`/blocks/${b.height}`);
      for (const r of block.records_list ?? []) {
        if (r.kind !== 'RecordDonation' || r.signer?.address?.toLowerCase() !== want) continue;
        // The label names the receipt ("receipt <no>"); confirm with the decoded payload.
        if (!String(r.label ?? '').includes(receipt)) continue;
        const full = await api(`/records/${r.id}`);
        if (full.payload?.RecordDonation?.receipt === receipt) return r.id;
      }
    }
    if (!page.next || page.items.length === 0) return null;
    before = page.next;
  }
  return null;
}
