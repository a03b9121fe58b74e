// Home: the chain's totals, search, the receipt lookup, a live feed of blocks.

import { h, replace, link, short } from '../dom.js';
import { t } from '../i18n.js';
import { api, onBlock } from '../api.js';
import { yuan, utc, count } from '../format.js';
import { card, stat, money, errorBox, memberLink } from '../ui.js';

export function searchForm(initial = '') {
  const input = h('input', { type: 'search', name: 'q', value: initial, placeholder: t('search.ph'), 'aria-label': t('search.label'), dataset: { testid: 'search-input' } });
  return h(
    'form',
    {
      class: 'search',
      role: 'search',
      onsubmit: (e) => {
        e.preventDefault();
        const q = input.value.trim();
        if (q) location.hash = `#/search?q=${encodeURIComponent(q)}`;
      },
    },
    input,
    h('button', { type: 'submit', class: 'btn primary' }, t('search.go')),
  );
}

export async function receiptForm() {
  const select = h('select', { name: 'charity', required: true, dataset: { testid: 'lookup-charity' }, 'aria-label': t('lookup.charity') }, h('option', { value: '' }, t('loading')));
  const input = h('input', { type: 'text', name: 'receipt', required: true, placeholder: t('lookup.receipt.ph'), autocomplete: 'off', spellcheck: 'false', dataset: { testid: 'lookup-receipt' }, 'aria-label': t('lookup.receipt') });
  const form = h(
    'form',
    {
      class: 'lookup',
      dataset: { testid: 'lookup-form' },
      onsubmit: (e) => {
        e.preventDefault();
        const c = select.value;
        const r = input.value.trim();
        if (c && r) location.hash = `#/donation/${c}/${encodeURIComponent(r)}`;
      },
    },
    h('label', null, h('span', null, t('lookup.charity')), select),
    h('label', null, h('span', null, t('lookup.receipt')), input),
    h('button', { type: 'submit', class: 'btn primary', dataset: { testid: 'lookup-submit' } }, t('lookup.go')),
  );
  try {
    const charities = await api('/charities');
    replace(
      select,
      h('option', { value: '' }, t('lookup.charity.pick')),
      charities.map((c) => h('option', { value: c.member.address }, c.member.name)),
    );
  } catch (err) {
    replace(select, h('option', { value: '' }, `${t('error.title')}: ${err.code}`));
  }
  return form;
}

function blockRow(b) {
  return h(
    'li',
    { class: 'feed-item', dataset: { height: b.height } },
    link(`/block/${b.height}`, h('b', null, `#${b.height}`)),
    h('span', { class: 'muted' }, utc(b.time)),
    h('span', null, b.records ? t('feed.records', { n: b.records }) : h('span', { class: 'muted' }, t('feed.empty'))),
    h('code', { class: 'hex', title: b.hash }, short(b.hash, 8, 4)),
  );
}

export async function home(ctx) {
  const stats = h('div', { class: 'stats', dataset: { testid: 'overview' } }, h('p', { class: 'loading' }, t('loading')));
  const feed = h('ol', { class: 'feed', dataset: { testid: 'feed' } });
  const feedStatus = h('span', { class: 'live-dot', title: t('feed.live') }, t('feed.live'));
  const lookupSlot = h('div', null);
  const charitySlot = h('div', { class: 'charity-cards' });
  replace(
    ctx.main,
    h(
      'section',
      { class: 'hero' },
      h('h1', null, t('home.title')),
      h('p', { class: 'lead' }, t('home.lead')),
      searchForm(),
    ),
    h(
      'div',
      { class: 'grid2' },
      card({ class: 'lookup-card' }, h('h2', null, t('lookup.title')), h('p', { class: 'small muted' }, t('lookup.intro')), lookupSlot),
      card({ class: 'how' }, h('h2', null, t('how.title')), h('ol', { class: 'how-list' }, h('li', null, t('how.1')), h('li', null, t('how.2')), h('li', null, t('how.3')), h('li', null, t('how.4'))), h('p', { class: 'small' }, link('/trust', t('how.more')), ' · ', link('/verify', t('nav.verify')))),
    ),
    card(null, h('h2', null, t('home.overview')), stats),
    h('div', { class: 'grid2' }, card(null, h('div', { class: 'card-head' }, h('h2', null, t('feed.title')), feedStatus), feed, h('p', { class: 'small' }, link('/blocks', t('feed.all')))), card(null, h('h2', null, t('home.charities')), charitySlot)),
  );
  receiptForm().then((f) => ctx.alive() && replace(lookupSlot, f));

  const [overview, blocks, charities] = await Promise.allSettled([api('/overview'), api('/blocks?limit=8'), api('/charities')]);
  if (!ctx.alive()) return;
  if (overview.status === 'fulfilled') {
    const o = overview.value;
    replace(
      stats,
      money(t('ov.donations'), o.donations, null, 'ov-donations'),
      money(t('ov.disbursed'), o.disbursed),
      money(t('ov.welfare'), o.welfare_allocated),
      stat(t('ov.charities'), count(o.charities)),
      stat(t('ov.projects'), count(o.projects)),
    );
    stats.appendChild(h('p', { class: 'muted small full' }, t('ov.note')));
  } else replace(stats, errorBox(overview.reason));
  if (blocks.status === 'fulfilled') replace(feed, blocks.value.items.map(blockRow));
  else replace(feed, errorBox(blocks.reason));
  if (charities.status === 'fulfilled')
    replace(
      charitySlot,
      charities.value.map((c) =>
        h(
          'div',
          { class: 'charity-mini' },
          h('b', null, memberLink({ ...c.member, role: 'charity' })),
          h('div', { class: 'small muted' }, t('charity.projects_n', { n: c.projects.length }), ' · ', t('fund.general'), ' ', yuan(c.general_fund.balance)),
        ),
      ),
    );
  const off = onBlock((b) => {
    if (feed.querySelector(`[data-height="${b.height}"]`)) return;
    const li = blockRow(b);
    li.classList.add('new');
    feed.prepend(li);
    while (feed.children.length > 8) feed.lastChild.remove();
  });
  ctx.cleanup.push(off);
}
