// Search: receipt numbers, record ids, block heights or hashes, project ids and titles, names.

import { h, replace, link } from '../dom.js';
import { t, enumLabel } from '../i18n.js';
import { api } from '../api.js';
import { card, errorBox } from '../ui.js';
import { searchForm } from './home.js';

function routeOf(hit) {
  switch (hit.kind) {
    case 'record':
      return `/record/${hit.id}`;
    case 'block':
      return `/block/${hit.id}`;
    case 'donation': {
      const i = hit.id.indexOf('/');
      return `/donation/${hit.id.slice(0, i)}/${encodeURIComponent(hit.id.slice(i + 1))}`;
    }
    case 'project':
      return `/project/${encodeURIComponent(hit.id)}`;
    case 'member':
      return hit.path.includes('/charities/') ? `/charity/${hit.id}` : '/members';
    default:
      return '/';
  }
}

export async function searchPage(ctx) {
  const q = (ctx.query.get('q') ?? '').trim();
  const results = h('div', { dataset: { testid: 'search-results' } });
  replace(ctx.main, h('h1', null, t('search.title')), searchForm(q), card(null, results));
  if (!q) {
    replace(results, h('p', { class: 'muted' }, t('search.hint')));
    return;
  }
  replace(results, h('p', { class: 'loading' }, t('loading')));
  let hits;
  try {
    hits = await api(`/search?q=${encodeURIComponent(q)}`);
  } catch (err) {
    replace(results, errorBox(err));
    return;
  }
  if (!ctx.alive()) return;
  if (hits.length === 1 && ctx.query.get('go') !== 'no') {
    // one answer: go there (replacing the search in the history)
    location.replace(`#${routeOf(hits[0])}`);
    return;
  }
  replace(
    results,
    h('p', { class: 'muted small' }, t('search.count', { n: hits.length, q })),
    hits.length === 0
      ? h('p', null, t('search.none'))
      : h('ul', { class: 'hits' }, hits.map((hit) => h('li', null, h('span', { class: 'badge' }, enumLabel('hit', hit.kind)), ' ', link(routeOf(hit), hit.label)))),
  );
}
