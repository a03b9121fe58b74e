// The explorer page: layout, hash routing, language, the trust bar and its warnings.

import { h, replace, link, short } from './dom.js';
import { t, lang, setLang, onLangChange } from './i18n.js';
import { api, onBlock } from './api.js';
import { initTrust, onTrustChange, trust, acceptServedGenesis, forgetCheckpoint } from './trust.js';
import { disposeCharts } from './charts.js';
import { home } from './pages/home.js';
import { donationPage } from './pages/donation.js';
import { charityPage, charitiesPage } from './pages/charity.js';
import { projectPage, projectsPage } from './pages/project.js';
import { lotteryPage } from './pages/lottery.js';
import { blocksPage, blockPage } from './pages/blocks.js';
import { auditsPage } from './pages/audits.js';
import { recordPage } from './pages/record.js';
import { verifyFilePage } from './pages/verify-file.js';
import { searchPage } from './pages/search.js';
import { membersPage } from './pages/members.js';
import { drawPage } from './pages/draw.js';
import { trustPage, downloadEvidence } from './pages/trust.js';

const ROUTES = [
  ['', home],
  ['search', searchPage],
  ['donation/:charity/:receipt', donationPage],
  ['charities', charitiesPage],
  ['charity/:address', charityPage],
  ['projects', projectsPage],
  ['project/:id', projectPage],
  ['lottery', lotteryPage],
  ['draw/:id', drawPage],
  ['blocks', blocksPage],
  ['block/:height', blockPage],
  ['audits', auditsPage],
  ['record/:id', recordPage],
  ['verify', verifyFilePage],
  ['members', membersPage],
  ['trust', trustPage],
];

const NAV = [
  ['', 'nav.home'],
  ['charities', 'nav.charities'],
  ['projects', 'nav.projects'],
  ['lottery', 'nav.lottery'],
  ['blocks', 'nav.blocks'],
  ['audits', 'nav.audits'],
  ['verify', 'nav.verify'],
  ['trust', 'nav.trust'],
];

/** The route of the current location: { path, segments, query }. `g=` may also be in location.search. */
export function currentRoute() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, qs = ''] = raw.split('?');
  const query = new URLSearchParams(qs);
  const outer = new URLSearchParams(location.search);
  for (const [k, v] of outer) if (!query.has(k)) query.set(k, v);
  const segments = path.split('/').filter((s) => s !== '').map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  });
  return { path, segments, query };
}

function match(segments) {
  for (const [pattern, page] of ROUTES) {
    const parts = pattern === '' ? [] : pattern.split('/');
    if (parts.length !== segments.length) continue;
    const params = {};
    let ok = true;
    parts.forEach((p, i) => {
      if (p.startsWith(':')) params[p.slice(1)] = segments[i];
      else if (p !== segments[i]) ok = false;
    });
    if (ok) return { page, params };
  }
  return null;
}

let layout = null;
let current = null; // { token, ctx }
let generation = 0;

function buildLayout() {
  const app = document.getElementById('app');
  const nav = h('nav', { class: 'nav', 'aria-label': t('nav.label') });
  const langButton = h(
    'button',
    {
      class: 'lang',
      type: 'button',
      title: t('lang.switch'),
      onclick: () => setLang(lang() === 'zh' ? 'en' : 'zh'),
      dataset: { testid: 'lang' },
    },
    lang() === 'zh' ? 'English' : '中文',
  );
  const height = h('span', { class: 'live-height', title: t('live.title') }, '');
  const trustBar = h('div', { class: 'trustbar' });
  const banners = h('div', { class: 'banners', id: 'banners' });
  const main = h('main', { id: 'main', class: 'wrap', tabindex: '-1' });
  replace(
    app,
    h(
      'header',
      { class: 'top' },
      h(
        'div',
        { class: 'wrap top-row' },
        h('a', { class: 'brand', href: '#/' }, h('span', { class: 'logo', 'aria-hidden': 'true' }, '善'), h('span', { class: 'brand-text' }, h('b', null, t('brand.name')), h('small', null, t('brand.tagline')))),
        nav,
        h('div', { class: 'tools' }, height, langButton),
      ),
      h('div', { class: 'wrap' }, trustBar),
    ),
    banners,
    main,
    h(
      'footer',
      { class: 'foot' },
      h(
        'div',
        { class: 'wrap' },
        h('p', null, t('foot.times')),
        h('p', null, t('foot.trust'), ' ', link('/trust', t('foot.trust.link'))),
        h('p', null, h('a', { href: '/api/docs/' }, t('foot.api')), ' · ', h('a', { href: '/api/openapi.json' }, 'OpenAPI 3.1'), ' · ', link('/members', t('nav.members'))),
      ),
    ),
  );
  layout = { nav, height, trustBar, banners, main };
  renderNav();
  renderTrust();
}

function renderNav() {
  const { segments } = currentRoute();
  const top = segments[0] ?? '';
  const active = { charity: 'charities', project: 'projects', block: 'blocks', donation: '', record: 'blocks' }[top] ?? top;
  replace(layout.nav, NAV.map(([r, key]) => h('a', { href: `#/${r}`, class: r === active ? 'active' : null }, t(key))));
}

/** The trust bar (genesis pin, history) and the red/amber banners. */
function renderTrust() {
  if (!layout) return;
  const { pin, history } = trust;
  const gClass = { 'first-use': 'ok', match: 'ok', changed: 'bad', 'link-mismatch': 'bad', error: 'bad', pending: 'wait' }[pin.status] ?? 'wait';
  const hClass = { first: 'ok', consistent: 'ok', fork: 'bad', invalid: 'bad', behind: 'warn', error: 'warn', pending: 'wait', skipped: 'bad', empty: 'warn' }[history.status] ?? 'wait';
  replace(
    layout.trustBar,
    h(
      'a',
      { class: `chip ${gClass}`, href: '#/trust', dataset: { testid: 'genesis-chip', status: pin.status }, title: trust.genesisHash ?? '' },
      h('span', { class: 'dot' }),
      t('trust.genesis'),
      ' ',
      h('code', null, trust.genesisHash ? short(trust.genesisHash, 8, 4) : '…'),
      ' · ',
      t(`pin.${pin.status}`),
    ),
    h(
      'a',
      { class: `chip ${hClass}`, href: '#/trust', dataset: { testid: 'history-chip', status: history.status } },
      h('span', { class: 'dot' }),
      t('trust.history'),
      ' · ',
      t(`history.${history.status}`),
      history.verified ? ` @ #${history.verified.height}` : '',
    ),
  );
  const banners = [];
  if (pin.status === 'changed')
    banners.push(
      h(
        'div',
        { class: 'banner bad', role: 'alert', dataset: { testid: 'genesis-changed' } },
        h('strong', null, t('banner.genesis_changed.title')),
        h('p', null, t('banner.genesis_changed.body')),
        h('p', null, t('trust.pinned'), ' ', h('code', null, pin.pinned), h('br'), t('trust.served'), ' ', h('code', null, pin.served)),
        h('button', { type: 'button', class: 'btn danger', onclick: () => confirm(t('banner.genesis_changed.confirm')) && acceptServedGenesis() }, t('banner.genesis_changed.accept')),
      ),
    );
  if (pin.status === 'link-mismatch')
    banners.push(
      h(
        'div',
        { class: 'banner bad', role: 'alert', dataset: { testid: 'genesis-link-mismatch' } },
        h('strong', null, t('banner.link_mismatch.title')),
        h('p', null, t('banner.link_mismatch.body')),
        h('p', null, t('banner.link_mismatch.link'), ' ', h('code', null, pin.link), h('br'), t('trust.served'), ' ', h('code', null, pin.served)),
      ),
    );
  if (pin.status === 'error')
    banners.push(h('div', { class: 'banner bad', role: 'alert' }, h('strong', null, t('banner.genesis_error')), ' ', h('code', null, pin.error ?? '')));
  if (history.status === 'fork')
    banners.push(
      h(
        'div',
        { class: 'banner bad fork', role: 'alert', dataset: { testid: 'fork-warning' } },
        h('strong', null, t('banner.fork.title')),
        h('p', null, t('banner.fork.body', { height: history.remembered?.height })),
        h(
          'p',
          { class: 'mono small' },
          t('banner.fork.remembered'),
          ' ',
          h('code', null, history.remembered?.header_hash ?? ''),
          h('br'),
          t('banner.fork.served'),
          ' ',
          h('code', null, history.verified?.header_hash ?? ''),
        ),
        h(
          'p',
          null,
          h('button', { type: 'button', class: 'btn', onclick: downloadEvidence }, t('banner.fork.evidence')),
          ' ',
          h('button', { type: 'button', class: 'btn danger', onclick: () => confirm(t('banner.fork.confirm')) && forgetCheckpoint() }, t('banner.fork.forget')),
        ),
      ),
    );
  if (history.status === 'invalid')
    banners.push(
      h(
        'div',
        { class: 'banner bad', role: 'alert', dataset: { testid: 'history-invalid' } },
        h('strong', null, t('banner.history_invalid.title')),
        h('p', null, t('banner.history_invalid.body'), ' ', h('code', null, `${history.error?.at}: ${history.error?.code}`)),
      ),
    );
  if (history.status === 'behind')
    banners.push(
      h(
        'div',
        { class: 'banner warn', role: 'status', dataset: { testid: 'history-behind' } },
        h('strong', null, t('banner.behind.title')),
        h('p', null, t('banner.behind.body', { remembered: history.remembered?.height, server: history.serverHeight })),
      ),
    );
  replace(layout.banners, h('div', { class: 'wrap' }, banners));
}

async function route() {
  const token = ++generation;
  if (current) {
    disposeCharts(current.ctx);
    current.ctx.cleanup.forEach((f) => f());
  }
  renderNav();
  const r = currentRoute();
  const m = match(r.segments);
  const ctx = {
    params: m?.params ?? {},
    query: r.query,
    main: layout.main,
    charts: [],
    cleanup: [],
    alive: () => token === generation,
  };
  current = { token, ctx };
  replace(layout.main, h('p', { class: 'loading' }, t('loading')));
  if (!m) {
    replace(layout.main, h('section', { class: 'card' }, h('h1', null, t('notfound.title')), h('p', null, link('/', t('nav.home')))));
    return;
  }
  try {
    await m.page(ctx);
  } catch (err) {
    if (!ctx.alive()) return;
    console.error(err);
    replace(
      layout.main,
      h(
        'section',
        { class: 'card error-card', dataset: { testid: 'page-error' } },
        h('h1', null, t('error.title')),
        h('p', null, h('code', null, err.code ?? err.name ?? 'error'), ' ', err.message),
      ),
    );
  }
  if (ctx.alive() && !r.query.has('keep-scroll')) window.scrollTo(0, 0);
}

function start() {
  document.documentElement.lang = lang() === 'zh' ? 'zh-CN' : 'en';
  buildLayout();
  onTrustChange(renderTrust);
  onLangChange(() => {
    document.documentElement.lang = lang() === 'zh' ? 'zh-CN' : 'en';
    document.title = t('doc.title');
    buildLayout();
    route();
  });
  document.title = t('doc.title');
  let newest = null;
  const showHeight = () => {
    if (layout && newest !== null) layout.height.textContent = `${t('live.block')} #${newest}`;
  };
  onBlock((b) => {
    newest = Math.max(newest ?? 0, Number(b.height));
    showHeight();
  });
  api('/status')
    .then((s) => {
      newest = Math.max(newest ?? 0, Number(s.height));
      showHeight();
    })
    .catch(() => {});
  onLangChange(showHeight);
  window.addEventListener('hashchange', route);
  initTrust(currentRoute().query.get('g'));
  route();
}

start();
