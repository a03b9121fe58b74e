// Projects: the list (filters: charity, status, category) and one project's money.

import { h, replace, link, hexSpan } from '../dom.js';
import { t, enumLabel, ENUMS } from '../i18n.js';
import { api } from '../api.js';
import { yuan, utc } from '../format.js';
import { chart, sankeyOption, mergeLinks, COLORS } from '../charts.js';
import { card, kv, money, badge, bar, sourceBadge, table, memberLink } from '../ui.js';
import { projectsTable } from './charity.js';

export async function projectsPage(ctx) {
  const q = ctx.query;
  const charities = await api('/charities');
  const params = new URLSearchParams();
  for (const k of ['charity', 'status', 'category']) if (q.get(k)) params.set(k, q.get(k));
  params.set('limit', '200');
  const list = await api(`/projects?${params}`);
  if (!ctx.alive()) return;
  const select = (name, options) =>
    h(
      'select',
      {
        name,
        onchange: (e) => {
          const next = new URLSearchParams(params);
          next.delete('limit');
          if (e.target.value) next.set(name, e.target.value);
          else next.delete(name);
          location.hash = `#/projects?${next}`;
        },
      },
      h('option', { value: '' }, t(`filter.${name}.all`)),
      options.map(([v, label]) => h('option', { value: v, selected: q.get(name) === v ? true : null }, label)),
    );
  replace(
    ctx.main,
    h('h1', null, t('projects.title')),
    h(
      'div',
      { class: 'filters' },
      select('charity', charities.map((c) => [c.member.address, c.member.name])),
      select('status', ['pending', 'active', 'closed'].map((s) => [s, enumLabel('status', s)])),
      select('category', Object.keys(ENUMS.projectCategory).map((c) => [c, enumLabel('projectCategory', c)])),
    ),
    card(null, h('p', { class: 'small muted' }, t('server.data_note'), ' ', sourceBadge(false)), projectsTable(list.items, { owner: true })),
  );
}

export async function projectPage(ctx) {
  const id = ctx.params.id;
  const p = await api(`/projects/${encodeURIComponent(id)}`);
  if (!ctx.alive()) return;
  const b = p.breakdown;
  const m = p.money;
  const progress = p.target > 0 ? m.raised / p.target : 0;

  // sources → project → uses (and what is left)
  const nodes = [
    { id: 'donations', label: t('totals.donations'), color: COLORS.donation },
    { id: 'grants_in', label: t('totals.grants_in'), color: COLORS.grant },
    { id: 'welfare_in', label: t('totals.welfare_in'), color: COLORS.welfare },
    { id: 'project', label: p.title, color: '#0f3d5e' },
    { id: 'charitable_activity', label: t('totals.charitable_activity'), color: COLORS.activity },
    { id: 'management', label: t('totals.management'), color: COLORS.management },
    { id: 'fundraising', label: t('totals.fundraising'), color: COLORS.fundraising },
    { id: 'grants_out', label: t('totals.grants_out'), color: '#5aa9e6' },
    { id: 'refunds', label: t('totals.refunds'), color: COLORS.refunded },
    { id: 'balance', label: t('money.balance'), color: COLORS.unspent },
  ];
  const links = mergeLinks([
    { source: 'donations', target: 'project', value: b.donations },
    { source: 'grants_in', target: 'project', value: b.grants_in },
    { source: 'welfare_in', target: 'project', value: b.welfare_allocations_in },
    { source: 'project', target: 'charitable_activity', value: b.charitable_activity },
    { source: 'project', target: 'management', value: b.management },
    { source: 'project', target: 'fundraising', value: b.fundraising },
    { source: 'project', target: 'grants_out', value: b.grants_out },
    { source: 'project', target: 'refunds', value: b.refunds },
    { source: 'project', target: 'balance', value: m.balance },
  ]);
  const used = new Set(links.flatMap((l) => [l.source, l.target]));

  replace(
    ctx.main,
    h('nav', { class: 'crumbs' }, link('/', t('nav.home')), ' › ', link('/projects', t('nav.projects')), ' › ', p.id),
    h('h1', null, p.title, ' ', badge(p.status === 'active' ? 'ok' : p.status === 'closed' ? 'muted' : 'warn', enumLabel('status', p.status))),
    h('p', { class: 'muted' }, p.id, ' · ', enumLabel('projectCategory', p.category), ' · ', memberLink(p.owner)),
    h('p', { class: 'small muted' }, t('server.data_note'), ' ', sourceBadge(false)),
    card(
      null,
      h('div', { class: 'stats' }, money(t('project.target'), p.target), money(t('money.raised'), m.raised, null, 'project-raised'), money(t('money.spent'), m.spent), money(t('money.refunded'), m.refunded), money(t('money.balance'), m.balance)),
      h('div', { class: 'progress-line' }, h('span', null, t('project.progress', { pct: (progress * 100).toFixed(1) })), bar(progress, { label: t('project.progress', { pct: (progress * 100).toFixed(1) }) })),
    ),
    h(
      'div',
      { class: 'grid2' },
      card(null, h('h2', null, t('project.flow')), chart(ctx, (width) => sankeyOption(nodes.filter((n) => used.has(n.id)), links, { width }), { height: 340, testid: 'chart-project', label: t('project.flow') })),
      card(
        null,
        h('h2', null, t('project.breakdown')),
        kv([
          [t('totals.donations'), yuan(b.donations)],
          [t('totals.grants_in'), yuan(b.grants_in)],
          [t('totals.welfare_in'), yuan(b.welfare_allocations_in)],
          [t('totals.refunds'), yuan(b.refunds)],
          [t('totals.charitable_activity'), yuan(b.charitable_activity)],
          [t('totals.management'), yuan(b.management)],
          [t('totals.fundraising'), yuan(b.fundraising)],
          [t('totals.grants_out'), yuan(b.grants_out)],
          [t('project.records'), String(b.records)],
        ]),
        h('h3', null, t('project.about')),
        kv([
          [t('project.period'), `${utc(p.start)} – ${utc(p.end)}`],
          [t('project.fundraising_ref'), p.public_fundraising_ref ?? t('none')],
          [t('project.approval_ref'), p.approval_ref ?? t('none')],
          [t('project.final_report'), p.final_report ? hexSpan(p.final_report, { full: true }) : t('none')],
        ]),
      ),
    ),
    card(
      null,
      h('h2', null, t('project.recent')),
      table(
        [
          [t('block'), (r) => link(`/block/${r.height}`, `#${r.height}`)],
          [t('record.kind'), (r) => enumLabel('payload', r.kind)],
          [t('record.label'), (r) => r.label],
          [t('amount'), (r) => (r.amount === null || r.amount === undefined ? '—' : yuan(r.amount)), 'num'],
          [t('record.signer'), (r) => r.signer?.name ?? '—'],
          [
            '',
            (r) =>
              r.kind === 'RecordDonation' && /^receipt /.test(r.label)
                ? link(`/donation/${r.signer.address}/${encodeURIComponent(r.label.slice(8))}`, t('record.verify_donation'))
                : link(`/record/${r.id}`, t('record.open')),
          ],
        ],
        p.recent,
      ),
    ),
  );
}

