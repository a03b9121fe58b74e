// Offline verification of a receipt bundle (or a trace proof) file, against the genesis pinned in
// this browser — nothing is fetched: it works with the network off, once the page is loaded.

import { h, replace, hexSpan } from '../dom.js';
import { t, enumLabel } from '../i18n.js';
import { yuan, utc } from '../format.js';
import { cachedGenesis, genesisOfToml } from '../trust.js';
import { reportBundle, reportTrace, plain } from '../checks.js';
import { BUNDLE_FORMAT, TRACE_FORMAT, commitment, fromHex, toHex } from '../../verify/index.js';
import { card, kv, Steps } from '../ui.js';

export async function verifyFilePage(ctx) {
  let g = cachedGenesis();
  const genesisInfo = h('div', { dataset: { testid: 'offline-genesis' } });
  const results = h('div', { dataset: { testid: 'offline-results' } });
  const showGenesis = () =>
    replace(
      genesisInfo,
      g
        ? h('p', null, t('offline.genesis'), ' ', h('code', { class: 'hex' }, g.hash), ' · ', g.genesis.chain_id)
        : h('p', { class: 'bad-text' }, t('offline.no_genesis')),
    );
  showGenesis();

  const handle = async (file) => {
    const text = await file.text();
    if (/^\s*chain_id\s*=/m.test(text) && !text.trim().startsWith('{')) {
      // a genesis TOML file: use it for this session (not pinned)
      try {
        const parsed = genesisOfToml(text);
        g = { ...parsed, toml: text };
        showGenesis();
        genesisInfo.appendChild(h('p', { class: 'small muted' }, t('offline.genesis_file', { name: file.name })));
      } catch (err) {
        results.prepend(card({ class: 'result bad' }, h('h3', null, file.name), h('p', { class: 'bad-text' }, t('offline.bad_genesis'), ' ', err.message)));
      }
      return;
    }
    results.prepend(verifyText(file.name, text, g));
  };

  const input = h('input', {
    type: 'file',
    accept: '.json,.toml,application/json',
    multiple: true,
    dataset: { testid: 'file-input' },
    onchange: async (e) => {
      for (const f of e.target.files) await handle(f);
      e.target.value = '';
    },
  });
  const zone = h(
    'div',
    {
      class: 'dropzone',
      tabindex: '0',
      role: 'button',
      dataset: { testid: 'dropzone' },
      onclick: () => input.click(),
      onkeydown: (e) => (e.key === 'Enter' || e.key === ' ') && input.click(),
      ondragover: (e) => {
        e.preventDefault();
        zone.classList.add('over');
      },
      ondragleave: () => zone.classList.remove('over'),
      ondrop: async (e) => {
        e.preventDefault();
        zone.classList.remove('over');
        for (const f of e.dataTransfer.files) await handle(f);
      },
    },
    h('div', { class: 'dz-icon', 'aria-hidden': 'true' }, '⤓'),
    h('p', null, h('b', null, t('offline.drop'))),
    h('p', { class: 'small muted' }, t('offline.drop.sub')),
  );
  replace(ctx.main, h('h1', null, t('offline.title')), h('p', { class: 'muted' }, t('offline.intro')), card(null, genesisInfo, zone, input), results);
}

const failedLine = (err) => h('p', { class: 'bad-text' }, '✗ ', t('offline.failed'), ' ', h('code', null, `${err.at}: ${err.code}`));

function verifyText(name, text, g) {
  const steps = new Steps();
  const summary = h('div');
  const box = card({ class: 'result', dataset: { testid: 'offline-result' } }, h('h2', null, name), steps.el, summary);
  let obj;
  try {
    obj = JSON.parse(text);
  } catch {
    obj = null;
  }
  if (!g) {
    steps.add('genesis', t('step.genesis')).fail('genesis.unavailable', 'genesis', t('offline.no_genesis'));
    box.dataset.verdict = 'failed';
    return box;
  }
  if (obj?.format === TRACE_FORMAT) {
    const st = Object.fromEntries(['parse', 'blocks', 'rows', 'records', 'subject', 'walk', 'outflows', 'unused'].map((s) => [s, steps.add(`trace.${s}`, t(`step.trace.${s}`))]));
    const r = reportTrace(g.genesis, text, st, { notReached: t('step.not_reached') });
    box.dataset.verdict = r.ok ? 'verified' : 'failed';
    if (!r.ok) replace(summary, failedLine(r.error));
    if (r.ok)
      replace(
        summary,
        h('p', { class: 'ok-text' }, '✓ ', t('offline.trace_ok', { amount: yuan(r.value.amount), height: r.value.asOf })),
        h('pre', { class: 'json small' }, JSON.stringify(plain(r.value.steps), null, 2)),
      );
    return box;
  }
  const st = Object.fromEntries(['parse', 'validators', 'certificate', 'signature', 'inclusion', 'extension'].map((s) => [s, steps.add(`record.${s}`, t(`step.bundle.${s}`))]));
  if (obj !== null && obj.format !== BUNDLE_FORMAT) {
    st.parse.fail('bundle.malformed', 'bundle', t('offline.unknown_format', { format: String(obj.format ?? '') }));
    Object.values(st).slice(1).forEach((s) => s.skip(t('step.not_reached')));
    box.dataset.verdict = 'failed';
    return box;
  }
  const r = reportBundle(g.genesis, text, st, { notReached: t('step.not_reached') });
  box.dataset.verdict = r.ok ? 'verified' : 'failed';
  if (!r.ok) {
    replace(summary, failedLine(r.error));
    return box;
  }
  const v = r.value;
  const p = v.record.body.payload;
  const donorOut = h('p', { class: 'small' });
  const idIn = h('input', { type: 'text', placeholder: t('donor.identity.ph'), autocomplete: 'off' });
  const saltIn = h('input', { type: 'text', class: 'mono', placeholder: t('donor.salt.ph'), autocomplete: 'off' });
  replace(
    summary,
    h('p', { class: 'ok-text' }, '✓ ', t('offline.bundle_ok', { height: v.height, time: utc(v.time), checkpoint: v.checkpoint.height })),
    kv([
      [t('record.kind'), enumLabel('payload', p.kind)],
      [t('d.record_id'), hexSpan(toHex(v.id), { full: true })],
      [t('record.signer'), v.signer ? v.signer.name : t('unknown')],
      p.kind === 'RecordDonation' ? [t('d.receipt'), p.receipt] : null,
      p.kind === 'RecordDonation' ? [t('d.amount'), yuan(p.amount)] : null,
    ]),
    h('pre', { class: 'json small' }, JSON.stringify(plain(p), null, 2)),
    p.kind === 'RecordDonation'
      ? h(
          'form',
          {
            class: 'donor-form inline',
            onsubmit: (e) => {
              e.preventDefault();
              const salt = saltIn.value.replace(/\s+/g, '').toLowerCase();
              if (!/^[0-9a-f]{64}$/.test(salt) || !idIn.value.trim()) {
                replace(donorOut, h('span', { class: 'bad-text' }, t('donor.invalid')));
                return;
              }
              const ok = toHex(commitment(idIn.value.trim(), fromHex(salt))) === toHex(p.donor);
              replace(donorOut, h('span', { class: ok ? 'ok-text' : 'bad-text' }, ok ? `✓ ${t('donor.match')}` : `✗ ${t('donor.mismatch')}`));
            },
          },
          h('label', null, t('donor.identity'), idIn),
          h('label', null, t('donor.salt'), saltIn),
          h('button', { type: 'submit', class: 'btn' }, t('donor.check')),
          donorOut,
        )
      : null,
  );
  return box;
}
