// One record: the server's decoded view and raw bytes, the corrections and findings naming it, and
// its receipt bundle verified in the browser (extended to the newest checkpoint).

import { h, replace, link, hexSpan, download, tick } from '../dom.js';
import { t, enumLabel } from '../i18n.js';
import { api } from '../api.js';
import { utc } from '../format.js';
import { trust, genesisUsable } from '../trust.js';
import { reportBundle, reportExtended, plain } from '../checks.js';
import { blake3, fromHex, toHex } from '../../verify/index.js';
import { card, kv, sourceBadge, Steps, memberLink, errorBox } from '../ui.js';

export async function recordPage(ctx) {
  const id = String(ctx.params.id).toLowerCase();
  const r = await api(`/records/${encodeURIComponent(id)}`);
  if (!ctx.alive()) return;
  const annotationsSlot = h('div', null, h('p', { class: 'loading' }, t('loading')));
  const steps = new Steps({ dataset: { testid: 'record-steps' } });
  const verifiedSlot = h('div');
  const bytesHashOk = toHex(blake3(fromHex(r.bytes))) === id;
  const payloadKind = r.kind;
  const donation = payloadKind === 'RecordDonation' ? r.payload.RecordDonation : null;
  replace(
    ctx.main,
    h('nav', { class: 'crumbs' }, link('/', t('nav.home')), ' › ', link(`/block/${r.height}`, `#${r.height}`), ' › ', t('record.crumb')),
    h('h1', null, enumLabel('payload', r.kind)),
    h('p', { class: 'muted mono small' }, id),
    donation ? h('p', null, link(`/donation/${r.signer.address}/${encodeURIComponent(donation.receipt)}`, h('span', { class: 'btn primary' }, t('record.open_donation')))) : null,
    h(
      'div',
      { class: 'grid2' },
      h(
        'div',
        { class: 'col' },
        card(
          null,
          h('div', { class: 'card-head' }, h('h2', null, t('record.server_view')), sourceBadge(false)),
          kv([
            [t('record.kind'), `${enumLabel('payload', r.kind)} (${r.kind})`],
            [t('block'), h('span', null, link(`/block/${r.height}`, `#${r.height}`), ` · ${t('record.index')} ${r.index} · ${t('d.log_index')} ${r.log_index}`)],
            [t('time'), utc(r.time)],
            [t('record.signer'), memberLink(r.signer)],
            [t('record.signer_key'), hexSpan(r.signer_key)],
            [t('d.created'), utc(r.created)],
            [t('record.expires'), utc(r.expires)],
            [t('record.nonce'), String(r.nonce)],
          ]),
          h('h3', null, t('record.payload')),
          h('pre', { class: 'json', dataset: { testid: 'payload' } }, JSON.stringify(r.payload, null, 2)),
          h('h3', null, t('record.bytes', { n: r.bytes.length / 2 })),
          h('p', { class: 'small' }, bytesHashOk ? h('span', { class: 'ok-text' }, '✓ ', t('record.bytes.id_ok')) : h('span', { class: 'bad-text' }, '✗ ', t('record.bytes.id_bad'))),
          h('pre', { class: 'bytes', dataset: { testid: 'raw-bytes' } }, r.bytes.replace(/(.{64})/g, '$1\n')),
        ),
        card(null, h('h2', null, t('record.annotations')), annotationsSlot),
      ),
      h('div', { class: 'col' }, card({ class: 'verify-card' }, h('h2', null, t('record.verify')), h('p', { class: 'small muted' }, t('record.verify.intro')), steps.el), verifiedSlot),
    ),
  );

  api(`/records/${id}/annotations`)
    .then((a) => {
      if (!ctx.alive()) return;
      const list = [...a.corrections, ...a.findings];
      replace(
        annotationsSlot,
        list.length === 0
          ? h('p', { class: 'muted' }, t('annotations.none'))
          : h(
              'ul',
              { class: 'plain-list' },
              list.map((x) =>
                h(
                  'li',
                  null,
                  h('b', null, enumLabel('payload', x.kind)),
                  ' · ',
                  x.signer?.name ?? '',
                  ' · ',
                  x.kind === 'Correction' ? `${x.payload.Correction.field} → ${x.payload.Correction.corrected} (${x.payload.Correction.reason})` : `${enumLabel('severity', x.payload.Finding.severity)}: ${x.payload.Finding.text}`,
                  ' ',
                  link(`/record/${x.id}`, t('record.open')),
                ),
              ),
            ),
      );
    })
    .catch((err) => ctx.alive() && replace(annotationsSlot, errorBox(err)));

  // ---- the bundle, verified here ----
  const stages = {
    parse: steps.add('record.parse', t('step.bundle.parse')),
    validators: steps.add('record.validators', t('step.bundle.validators')),
    certificate: steps.add('record.certificate', t('step.bundle.certificate')),
    signature: steps.add('record.signature', t('step.bundle.signature')),
    inclusion: steps.add('record.inclusion', t('step.bundle.inclusion')),
    extension: steps.add('record.extension', t('step.bundle.extension')),
  };
  const sId = steps.add('record.id', t('step.record.id'));
  await trust.ready;
  if (!ctx.alive()) return;
  if (!genesisUsable()) {
    Object.values(stages).forEach((s) => s.skip(t('step.no_genesis')));
    sId.skip(t('step.no_genesis'));
    return;
  }
  stages.parse.run();
  await tick();
  let text;
  try {
    text = await api(`/records/${id}/bundle`, { text: true });
  } catch (err) {
    stages.parse.fail(err.code, 'GET bundle', err.message);
    return;
  }
  if (!ctx.alive()) return;
  const { extension, ...inBlock } = stages;
  const res = reportBundle(trust.genesis, text, inBlock, { notReached: t('step.not_reached') });
  if (!res.ok) {
    extension.skip(t('step.not_reached'));
    sId.skip(t('step.not_reached'));
    return;
  }
  extension.run();
  let latest = null;
  try {
    const latestText = await api(`/records/${id}/bundle?to=latest`, { text: true });
    const ext = reportExtended(trust.genesis, latestText, extension, {
      expectId: toHex(res.value.id),
      expectHeight: res.value.height,
      describe: (x) => t('step.bundle.extension.ok', { height: x.checkpoint.height, size: x.checkpoint.log_size }),
    });
    if (ext.ok) latest = ext.value;
  } catch (err) {
    extension.fail(err.code, 'GET bundle?to=latest', err.message);
  }
  if (!ctx.alive()) return;
  const v = res.value;
  if (toHex(v.id) === id) sId.pass(t('step.record.id.ok'));
  else sId.fail('record.other_id', 'record', t('step.record.id.bad'));
  replace(
    verifiedSlot,
    card(
      null,
      h('div', { class: 'card-head' }, h('h2', null, t('record.verified_view')), sourceBadge(toHex(v.id) === id)),
      kv([
        [t('block'), h('span', null, `#${v.height} · ${utc(v.time)} · ${t('d.log_index')} ${v.logIndex}`)],
        [t('record.signer'), v.signer ? `${v.signer.name} (${enumLabel('role', v.signer.role.kind)})` : t('unknown')],
        latest ? [t('record.checkpoint'), `#${latest.checkpoint.height} · ${t('block.log_size')} ${latest.checkpoint.log_size}`] : null,
      ]),
      h('pre', { class: 'json', dataset: { testid: 'verified-payload' } }, JSON.stringify(plain(v.record.body.payload), null, 2)),
      h('button', { type: 'button', class: 'btn', onclick: () => download(`shanlian-bundle-${id.slice(0, 16)}.json`, text) }, t('bundle.download')),
    ),
  );
}
