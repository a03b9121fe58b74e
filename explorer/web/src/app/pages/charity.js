// Charities: the list, and one charity's years (income and spending by category, Charity Law
// art. 60 ratios against the genesis thresholds), general fund, projects and listings.

import { h, replace, link, hexSpan } from '../dom.js';
import { t, enumLabel } from '../i18n.js';
import { api } from '../api.js';
import { yuan, yuanNumber, pct, utc, utcDate, verdictLabel } from '../format.js';
import { trust } from '../trust.js';
import { chart, COLORS } from '../charts.js';
import { card, kv, money, badge, bar, sourceBadge, table, memberLink } from '../ui.js';

export async function charitiesPage(ctx) {
  const list = await api('/charities');
  if (!ctx.alive()) return;
  replace(
    ctx.main,
    h('h1', null, t('charities.title')),
    h('p', { class: 'muted' }, t('charities.intro'), ' ', sourceBadge(false)),
    h(
      'div',
      { class: 'cards' },
      list.map((c) =>
        card(
          { class: 'charity-card' },
          h('h2', null, link(`/charity/${c.member.address}`, c.member.name)),
          h('p', { class: 'small muted' }, 'USCC ', c.member.uscc, c.member.power > 0 ? ` · ${t('member.validator')}` : ''),
          c.listings.length ? h('p', null, badge('bad', t('charity.listed'))) : null,
          kv([
            [t('fund.general'), yuan(c.general_fund.balance)],
            [t('charity.projects'), String(c.projects.length)],
            ...c.years.slice(-1).map((y) => [t('charity.income_year', { year: y.year }), yuan(y.income)]),
          ]),
        ),
      ),
    ),
  );
}

function fundCard(title, f) {
  return card(
    { class: 'fund-card' },
    h('h3', null, title),
    h('div', { class: 'stats' }, money(t('money.raised'), f.raised), money(t('money.refunded'), f.refunded), money(t('money.spent'), f.spent), money(t('money.balance'), f.balance)),
  );
}

/** Art. 60 thresholds: the genesis ones (the page's pinned genesis), compared with the server's. */
function thresholds() {
  const p = trust.genesis?.params;
  return p ? { activity: p.charity_activity_min_bp, management: p.charity_management_max_bp } : null;
}

function ratioRow(label, r, kind, genesisBp) {
  const bp = r?.bp;
  const threshold = genesisBp ?? r?.threshold_bp;
  const v = r?.verdict ?? 'not_applicable';
  const ratio = bp === null || bp === undefined ? 0 : bp / 10000;
  const mismatch = genesisBp !== undefined && r?.threshold_bp !== undefined && genesisBp !== r.threshold_bp;
  return h(
    'div',
    { class: 'ratio' },
    h('div', { class: 'ratio-head' }, h('span', null, label), h('b', null, bp === null || bp === undefined ? '—' : pct(bp)), badge(v === 'pass' ? 'ok' : v === 'fail' ? 'bad' : 'muted', verdictLabel(v))),
    bar(ratio, { threshold: threshold / 10000, kind: v === 'fail' ? 'bad' : kind, label }),
    h('div', { class: 'small muted' }, kind === 'min' ? t('art60.min', { bp: pct(threshold) }) : t('art60.max', { bp: pct(threshold) }), mismatch ? h('span', { class: 'bad-text' }, ' ', t('art60.threshold_mismatch', { server: pct(r.threshold_bp) })) : null),
  );
}

export async function charityPage(ctx) {
  const address = String(ctx.params.address).toLowerCase();
  await trust.ready;
  const c = await api(`/charities/${address}`);
  if (!ctx.alive()) return;
  const m = c.member;
  const years = [...c.years].sort((a, b) => a.year - b.year);
  const th = thresholds();
  const yearLabels = years.map((y) => String(y.year));

  const incomeSpending = chart(
    ctx,
    {
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: (v) => yuan(Math.round(v * 100)) },
      legend: { top: 0, type: 'scroll' },
      grid: { left: 8, right: 16, top: 56, bottom: 8, containLabel: true },
      xAxis: { type: 'category', data: yearLabels },
      yAxis: { type: 'value', axisLabel: { formatter: (v) => `¥${Number(v).toLocaleString()}` } },
      series: [
        ['donations', COLORS.donation, 'in'],
        ['grants_in', COLORS.grant, 'in'],
        ['charitable_activity', COLORS.activity, 'out'],
        ['management', COLORS.management, 'out'],
        ['fundraising', COLORS.fundraising, 'out'],
        ['grants_out', '#5aa9e6', 'out'],
        ['refunds', COLORS.refunded, 'out'],
      ].map(([key, color, stack]) => ({
        name: t(`totals.${key}`),
        type: 'bar',
        stack,
        barMaxWidth: 48,
        itemStyle: { color },
        data: years.map((y) => yuanNumber(y.totals[key] ?? 0)),
      })),
    },
    { height: 340, testid: 'chart-years', label: t('charity.chart.years') },
  );

  const ratios = chart(
    ctx,
    {
      tooltip: { trigger: 'axis', valueFormatter: (v) => (v === null || v === undefined ? '—' : `${Number(v).toFixed(2)}%`) },
      legend: { top: 0 },
      grid: { left: 8, right: 16, top: 40, bottom: 8, containLabel: true },
      xAxis: { type: 'category', data: yearLabels },
      yAxis: { type: 'value', max: 100, axisLabel: { formatter: '{value}%' } },
      series: [
        {
          name: t('art60.activity'),
          type: 'bar',
          barMaxWidth: 40,
          itemStyle: { color: COLORS.activity },
          data: years.map((y) => (y.art60.activity.bp === null ? null : y.art60.activity.bp / 100)),
          markLine: th ? { symbol: 'none', lineStyle: { color: COLORS.activity, type: 'dashed' }, label: { position: 'insideEndTop', formatter: `${t('art60.floor')} ${pct(th.activity)}` }, data: [{ yAxis: th.activity / 100 }] } : undefined,
        },
        {
          name: t('art60.management'),
          type: 'bar',
          barMaxWidth: 40,
          itemStyle: { color: COLORS.management },
          data: years.map((y) => (y.art60.management.bp === null ? null : y.art60.management.bp / 100)),
          markLine: th ? { symbol: 'none', lineStyle: { color: '#b42318', type: 'dashed' }, label: { position: 'insideEndTop', formatter: `${t('art60.ceiling')} ${pct(th.management)}` }, data: [{ yAxis: th.management / 100 }] } : undefined,
        },
      ],
    },
    { height: 300, testid: 'chart-art60', label: t('charity.chart.art60') },
  );

  const latest = years[years.length - 1];
  replace(
    ctx.main,
    h('nav', { class: 'crumbs' }, link('/', t('nav.home')), ' › ', link('/charities', t('nav.charities')), ' › ', m.name),
    h('h1', null, m.name),
    h('p', { class: 'muted' }, 'USCC ', m.uscc, ' · ', t('member.address'), ' ', hexSpan(m.address), ' · ', m.power > 0 ? t('member.validator_power', { power: m.power }) : t('member.not_validator'), m.suspended ? [' · ', badge('bad', t('member.suspended'))] : null),
    c.listings.length
      ? h(
          'div',
          { class: 'banner bad inline', role: 'alert' },
          h('strong', null, t('charity.listed')),
          c.listings.map((l) => h('p', null, enumLabel('list', l.list), ' — ', l.reason, ' · ', t('since'), ' ', utc(l.since))),
        )
      : null,
    h('p', { class: 'small muted' }, t('server.data_note'), ' ', sourceBadge(false)),
    fundCard(t('fund.general'), c.general_fund),
    card(null, h('h2', null, t('charity.years')), incomeSpending, years.length ? yearsTable(years) : h('p', { class: 'muted' }, t('empty'))),
    card(
      null,
      h('h2', null, t('art60.title')),
      h('p', { class: 'small muted' }, t('art60.intro'), th ? ` ${t('art60.genesis')}` : ''),
      latest ? h('div', { class: 'ratios' }, h('h3', null, t('art60.year', { year: latest.year })), ratioRow(t('art60.activity'), latest.art60.activity, 'min', th?.activity), ratioRow(t('art60.management'), latest.art60.management, 'max', th?.management), latest.art60.activity.verdict === 'not_applicable' ? h('p', { class: 'small muted' }, t('art60.activity.na', { prev: yuan(latest.art60.previous_income) })) : null) : null,
      ratios,
    ),
    card(null, h('h2', null, t('charity.projects')), projectsTable(c.projects)),
  );
}

function yearsTable(years) {
  return table(
    [
      [t('year'), (y) => String(y.year)],
      [t('totals.income'), (y) => yuan(y.income), 'num'],
      [t('totals.donations'), (y) => yuan(y.totals.donations), 'num'],
      [t('totals.grants_in'), (y) => yuan(y.totals.grants_in), 'num'],
      [t('totals.refunds'), (y) => yuan(y.totals.refunds), 'num'],
      [t('totals.spending'), (y) => yuan(y.spending), 'num'],
      [t('totals.charitable_activity'), (y) => yuan(y.totals.charitable_activity), 'num'],
      [t('totals.management'), (y) => yuan(y.totals.management), 'num'],
      [t('totals.fundraising'), (y) => yuan(y.totals.fundraising), 'num'],
      [t('totals.grants_out'), (y) => yuan(y.totals.grants_out), 'num'],
    ],
    years,
  );
}

export function projectsTable(projects, { owner = false } = {}) {
  return table(
    [
      [t('project.title'), (p) => link(`/project/${encodeURIComponent(p.id)}`, p.title)],
      owner ? [t('d.charity'), (p) => memberLink(p.owner)] : null,
      [t('project.category'), (p) => enumLabel('projectCategory', p.category)],
      [t('project.status'), (p) => badge(p.status === 'active' ? 'ok' : p.status === 'closed' ? 'muted' : 'warn', enumLabel('status', p.status))],
      [t('project.target'), (p) => yuan(p.target), 'num'],
      [t('money.raised'), (p) => yuan(p.money.raised), 'num'],
      [t('money.spent'), (p) => yuan(p.money.spent), 'num'],
      [t('money.balance'), (p) => yuan(p.money.balance), 'num'],
      [t('project.period'), (p) => `${utcDate(p.start)} – ${utcDate(p.end)}`],
    ].filter(Boolean),
    projects,
    { testid: 'projects' },
  );
}

