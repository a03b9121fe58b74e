// Blocks: the newest first (live), and one block with its header, certificate and records — which
// the browser can verify: the certificate against the validator set followed from genesis, the
// header against it, and the record list against the header's record root.

import { h, replace, link, hexSpan, short } from '../dom.js';
import { t, enumLabel } from '../i18n.js';
import { api, onBlock } from '../api.js';
import { yuan, utc } from '../format.js';
import { trust, genesisUsable } from '../trust.js';
import { checkCheckpointProof, fromHex, fromJson, headerHash, ledgerMerkle, toHex, equalBytes } from '../../verify/index.js';
import { card, kv, table, Steps, sourceBadge, memberLink } from '../ui.js';

const emptyRow = (b) => ({ class: b.records ? null : 'quiet' });

function blockRows(items) {
  return items.map((b) => ({ ...b }));
}

export async function blocksPage(ctx) {
  const before = ctx.query.get('before');
  const page = await api(`/blocks?limit=25${before ? `&before=${encodeURIComponent(before)}` : ''}`);
  if (!ctx.alive()) return;
  const columns = [
    [t('block.height'), (b) => link(`/block/${b.height}`, `#${b.height}`)],
    [t('time'), (b) => utc(b.time)],
    [t('block.records'), (b) => String(b.records), 'num'],
    [t('block.proposer'), (b) => b.proposer?.name ?? short(b.proposer?.address ?? '')],
    [t('block.log_size'), (b) => String(b.log_size), 'num'],
    [t('block.hash'), (b) => hexSpan(b.hash)],
  ];
  const holder = h('div', null, table(columns, blockRows(page.items), { testid: 'blocks', rowProps: emptyRow }));
  replace(
    ctx.main,
    h('nav', { class: 'crumbs' }, link('/', t('nav.home')), ' › ', t('nav.blocks')),
    h('h1', null, t('blocks.title')),
    h('p', { class: 'small muted' }, t('blocks.intro'), ' ', sourceBadge(false)),
    card(null, holder, h('div', { class: 'pager' }, before ? link('/blocks', t('pager.newest')) : h('span', { class: 'muted small' }, t('blocks.live')), page.next ? link(`/blocks?before=${page.next}`, t('pager.older')) : null)),
  );
  if (!before) {
    const items = [...page.items];
    ctx.cleanup.push(
      onBlock((b) => {
        if (items.some((x) => x.height === b.height)) return;
        items.unshift(b);
        items.length = Math.min(items.length, 25);
        replace(holder, table(columns, blockRows(items), { testid: 'blocks', rowProps: emptyRow }));
      }),
    );
  }
}

export async function blockPage(ctx) {
  const height = Number(ctx.params.height);
  const b = await api(`/blocks/${encodeURIComponent(ctx.params.height)}`);
  if (!ctx.alive()) return;
  const hd = b.header;
  const steps = new Steps({ dataset: { testid: 'block-steps' } });
  const verifyBtn = h('button', { type: 'button', class: 'btn primary', dataset: { testid: 'verify-block' } }, t('block.verify'));
  const verifyBox = card({ class: 'verify-card' }, h('h2', null, t('block.verify.title')), h('p', { class: 'small muted' }, t('block.verify.intro')), verifyBtn, steps.el);
  replace(
    ctx.main,
    h('nav', { class: 'crumbs' }, link('/', t('nav.home')), ' › ', link('/blocks', t('nav.blocks')), ' › ', `#${b.height}`),
    h('h1', null, t('block.title', { height: b.height })),
    h(
      'div',
      { class: 'pager' },
      b.height > 1 ? link(`/block/${b.height - 1}`, `← #${b.height - 1}`) : h('span'),
      link(`/block/${b.height + 1}`, `#${b.height + 1} →`),
    ),
    h(
      'div',
      { class: 'grid2' },
      card(
        null,
        h('div', { class: 'card-head' }, h('h2', null, t('block.header')), sourceBadge(false)),
        kv([
          [t('block.hash'), hexSpan(b.hash, { full: true })],
          [t('time'), utc(hd.time)],
          [t('block.proposer'), memberLink(b.proposer)],
          [t('block.prev'), hd.height > 1 ? link(`/block/${hd.height - 1}`, hexSpan(hd.prev_hash, { full: true })) : hexSpan(hd.prev_hash, { full: true })],
          [t('block.log_size'), String(hd.log_size)],
          [t('block.log_root'), hexSpan(hd.log_root, { full: true })],
          [t('block.record_root'), hexSpan(hd.record_root, { full: true })],
          [t('block.state_hash'), hexSpan(hd.state_hash, { full: true })],
          [t('block.vset'), hexSpan(hd.validator_set_hash, { full: true })],
          [t('block.chain'), hd.chain_id],
        ]),
      ),
      verifyBox,
    ),
    card(
      null,
      h('h2', null, t('block.records_n', { n: b.records_list.length })),
      table(
        [
          ['#', (r) => String(r.index)],
          [t('record.kind'), (r) => enumLabel('payload', r.kind)],
          [t('record.label'), (r) => r.label],
          [t('amount'), (r) => (r.amount === null || r.amount === undefined ? '—' : yuan(r.amount)), 'num'],
          [t('record.signer'), (r) => r.signer?.name ?? short(r.signer?.address ?? '')],
          [t('record.id'), (r) => link(`/record/${r.id}`, hexSpan(r.id))],
        ],
        b.records_list,
      ),
    ),
    card(
      null,
      h('h2', null, t('block.certificate')),
      h('p', { class: 'small muted' }, t('block.certificate.intro', { round: b.certificate.round })),
      table(
        [
          [t('block.validator'), (s) => hexSpan(s.validator)],
          [t('block.signature'), (s) => hexSpan(s.signature, { head: 16, tail: 8 })],
        ],
        b.certificate.signatures,
      ),
    ),
  );

  const sCert = steps.add('block.certificate', t('block.step.certificate'));
  const sHeader = steps.add('block.header', t('block.step.header'));
  const sRecords = steps.add('block.records', t('block.step.records'));
  const run = async () => {
    verifyBtn.disabled = true;
    await trust.ready;
    if (!genesisUsable()) {
      sCert.fail('genesis.unavailable', 'genesis', t(`pin.${trust.pin.status}`));
      sHeader.skip(t('step.not_reached'));
      sRecords.skip(t('step.not_reached'));
      return;
    }
    sCert.run();
    let r;
    try {
      r = checkCheckpointProof(trust.genesis, await api(`/checkpoints/proof?from=${height}&to=${height}`));
    } catch (err) {
      sCert.fail(err.code, 'GET checkpoints/proof', err.message);
      sHeader.skip(t('step.not_reached'));
      sRecords.skip(t('step.not_reached'));
      return;
    }
    if (!ctx.alive()) return;
    if (!r.ok) {
      sCert.fail(r.error.code, r.error.at, r.error.detail);
      sHeader.skip(t('step.not_reached'));
      sRecords.skip(t('step.not_reached'));
      return;
    }
    sCert.pass(t('block.step.certificate.ok', { n: r.value.newSigned.certificate.signatures.length }));
    let shown;
    try {
      shown = fromJson('Header', hd, 'header');
    } catch (err) {
      sHeader.fail('header.malformed', 'header', err.message);
      sRecords.skip(t('step.not_reached'));
      return;
    }
    if (!equalBytes(headerHash(shown), r.value.new.header_hash)) {
      sHeader.fail('block.header_mismatch', 'header', t('block.step.header.bad'));
      sRecords.skip(t('step.not_reached'));
      return;
    }
    sHeader.pass(t('block.step.header.ok'));
    const root = ledgerMerkle.root(b.records_list.map((x) => fromHex(x.id)));
    if (equalBytes(root, r.value.newSigned.header.record_root)) sRecords.pass(t('block.step.records.ok', { n: b.records_list.length }));
    else sRecords.fail('block.record_root', 'records_list', t('block.step.records.bad', { root: short(toHex(root)) }));
  };
  verifyBtn.addEventListener('click', run);
  run();
}
