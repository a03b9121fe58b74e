// The welfare lottery: sales → prize fund / issuance fee / welfare fund → central / local → the
// local welfare pool's allocations by purpose (扶老 / 助残 / 救孤 / 济困) per year, and the elderly
// share of each year's allocations against the genesis minimum.

import { h, replace, link } from '../dom.js';
import { t, enumLabel } from '../i18n.js';
import { api } from '../api.js';
import { yuan, yuanNumber, pct, utc, verdictLabel } from '../format.js';
import { trust, genesisUsable } from '../trust.js';
import { checkTrace, lotterySplit, toHex } from '../../verify/index.js';
import { chart, sankeyOption, mergeLinks, COLORS } from '../charts.js';
import { card, money, badge, bar, sourceBadge, table } from '../ui.js';
import { drawsCard } from './draw.js';

const PURPOSES = [
  ['elderly', 'Elderly', COLORS.elderly],
  ['disabled', 'Disabled', COLORS.disabled],
  ['orphans', 'Orphans', COLORS.orphans],
  ['poverty', 'PovertyRelief', COLORS.poverty],
  ['other', 'Other', COLORS.other],
];

async function allSales() {
  let items = [];
  let after = '';
  for (let i = 0; i < 10; i++) {
    const page = await api(`/lottery/records?limit=200${after ? `&after=${encodeURIComponent(after)}` : ''}`);
    items.push(...page.items);
    if (!page.next) return split(items, true);
    after = page.next;
  }
  return split(items, false);
}

/** The route lists the lottery centre's records: sales reports, allocations and prize payouts. */
function split(all, complete) {
  return { items: all.filter((r) => r.kind === 'RecordLotterySales'), others: all.filter((r) => r.kind !== 'RecordLotterySales'), complete };
}

export async function lotteryPage(ctx) {
  await trust.ready;
  const [lot, sales, draws] = await Promise.all([api('/lottery'), allSales(), api('/lottery/draws')]);
  if (!ctx.alive()) return;
  const games = trust.genesis?.games ?? [];
  const gameOf = (id) => games.find((g) => g.id === id);
  const minBp = trust.genesis?.params.elderly_min_share_bp ?? lot.elderly_min_share_bp;
  const years = [...lot.years].sort((a, b) => a.year - b.year);

  // ---- the Sankey ----
  const nodes = [];
  const links = [];
  const node = (id, label, color) => nodes.push({ id, label, color });
  let prizes = 0n;
  let paid = 0n;
  for (const g of lot.games) {
    const sid = `sales/${g.id}`;
    node(sid, t('lottery.node.sales', { game: g.name }), '#0f3d5e');
    links.push({ source: sid, target: 'prize', value: g.totals.prize }, { source: sid, target: 'fee', value: g.totals.issuance_fee }, { source: sid, target: 'welfare', value: BigInt(g.totals.welfare_central) + BigInt(g.totals.welfare_local) });
    links.push({ source: 'welfare', target: 'central', value: g.totals.welfare_central }, { source: 'welfare', target: 'local', value: g.totals.welfare_local });
    prizes += BigInt(g.totals.prize);
    paid += BigInt(g.totals.prizes_paid);
  }
  node('prize', t('lottery.node.prize'), COLORS.prize);
  node('fee', t('lottery.node.fee'), COLORS.fee);
  node('welfare', t('lottery.node.welfare'), COLORS.welfare);
  node('central', t('lottery.node.central'), COLORS.central);
  node('local', t('lottery.node.local'), COLORS.local);
  node('paid', t('lottery.node.paid'), COLORS.prize);
  node('prize_left', t('lottery.node.prize_left'), COLORS.unspent);
  links.push({ source: 'prize', target: 'paid', value: paid }, { source: 'prize', target: 'prize_left', value: prizes - paid });
  for (const y of years)
    for (const [key, kind, color] of PURPOSES) {
      const id = `alloc/${y.year}/${key}`;
      node(id, `${y.year} ${enumLabel('welfare', kind)}`, color);
      links.push({ source: 'local', target: id, value: y[key] ?? 0 });
    }
  node('unallocated', t('lottery.node.unallocated'), COLORS.unspent);
  links.push({ source: 'local', target: 'unallocated', value: lot.welfare_pool.balance });
  // … → the projects that received allocations → what they spent it on: each allocation's own
  // trace proof, verified here (SPEC §10), so the last two columns are the browser's, not the server's.
  await trust.ready;
  const toProjects = sales.others.filter((r) => r.payload.AllocateWelfareFund?.recipient?.Project).slice(0, 20);
  let traced = 0;
  if (genesisUsable()) {
    const proofs = await Promise.all(toProjects.map((r) => api(`/records/${r.id}/trace`).catch(() => null)));
    for (const [i, r] of toProjects.entries()) {
      const checked = proofs[i] ? checkTrace(trust.genesis, proofs[i]) : { ok: false };
      if (!checked.ok) continue;
      traced += 1;
      const a = r.payload.AllocateWelfareFund;
      const year = new Date(r.time.ms).getUTCFullYear();
      const purpose = PURPOSES.find(([, kind]) => kind === a.purpose) ?? PURPOSES[4];
      const pid = `project/${a.recipient.Project}`;
      node(pid, a.recipient.Project, COLORS.grant);
      links.push({ source: `alloc/${year}/${purpose[0]}`, target: pid, value: a.amount });
      const recs = new Map(checked.value.records.map((x) => [toHex(x.id), x]));
      for (const st of checked.value.steps.filter((x) => x.depth === 0)) {
        if (st.what.kind === 'spent') {
          const p = recs.get(toHex(st.what.outflow))?.record.body.payload;
          const cat = p?.category?.kind ?? st.what.outflowKind;
          const cid = `${pid}/spent/${cat}`;
          node(cid, enumLabel('category', cat), COLORS.activity);
          links.push({ source: pid, target: cid, value: st.amount });
        } else {
          const kind = st.what.kind === 'refunded' ? 'refunded' : 'nss';
          const cid = `${pid}/${kind}`;
          node(cid, t(kind === 'refunded' ? 'flow.node.refunded' : 'lottery.node.project_unspent'), COLORS.unspent);
          links.push({ source: pid, target: cid, value: st.amount });
        }
      }
    }
  }
  const merged = mergeLinks(links);
  const used = new Set(merged.flatMap((l) => [l.source, l.target]));

  // ---- the split rule: the server's games against the pinned genesis ----
  const ruleRows = lot.games.map((g) => {
    const gg = gameOf(g.id);
    const same = gg && gg.prize_bp === g.prize_bp && gg.issuance_fee_bp === g.issuance_fee_bp && gg.welfare_bp === g.welfare_bp && gg.central_bp === g.central_bp;
    return { g, same };
  });

  // ---- recompute each game's totals from the sales reports (§11, locally) ----
  const recomputed = new Map();
  for (const s of sales.items) {
    const p = s.payload.RecordLotterySales;
    const gg = gameOf(p.game);
    if (!gg) continue;
    const split = lotterySplit(p.sales, gg);
    const r = recomputed.get(p.game) ?? { sales: 0n, prize: 0n, fee: 0n, central: 0n, local: 0n, n: 0 };
    r.sales += BigInt(p.sales);
    r.prize += split.prize;
    r.fee += split.fee;
    r.central += split.central;
    r.local += split.local;
    r.n++;
    recomputed.set(p.game, r);
  }
  const agrees = (g) => {
    const r = recomputed.get(g.id);
    if (!r) return BigInt(g.totals.sales) === 0n;
    return r.sales === BigInt(g.totals.sales) && r.prize === BigInt(g.totals.prize) && r.fee === BigInt(g.totals.issuance_fee) && r.central === BigInt(g.totals.welfare_central) && r.local === BigInt(g.totals.welfare_local);
  };

  replace(
    ctx.main,
    h('nav', { class: 'crumbs' }, link('/', t('nav.home')), ' › ', t('nav.lottery')),
    h('h1', null, t('lottery.title')),
    h('p', { class: 'muted' }, t('lottery.intro')),
    h('p', { class: 'small muted' }, t('server.data_note'), ' ', sourceBadge(false)),
    card(
      null,
      h('h2', null, t('lottery.flow')),
      h('p', { class: 'small muted', dataset: { testid: 'lottery-path' } }, t('lottery.flow.path', { n: traced, of: toProjects.length })),
      chart(ctx, (width) => sankeyOption(nodes.filter((n) => used.has(n.id)), merged, { singleLine: width >= 640, nodeGap: 20, right: 290, width }), { height: 560, testid: 'sankey-lottery', label: t('lottery.flow') }),
    ),
    drawsCard(draws),
    card(
      null,
      h('h2', null, t('lottery.elderly')),
      h('p', { class: 'small muted' }, t('lottery.elderly.intro', { min: pct(minBp) })),
      years.length
        ? years.map((y) => {
            const total = BigInt(y.elderly_share?.total ?? 0);
            const elderly = BigInt(y.elderly);
            const bp = total > 0n ? Number((elderly * 10000n) / total) : null;
            const pass = bp === null ? null : bp >= minBp;
            const server = y.elderly_share?.share?.verdict;
            const agreesServer = server === undefined || (pass === null ? server === 'not_applicable' : server === (pass ? 'pass' : 'fail'));
            return h(
              'div',
              { class: 'ratio', dataset: { testid: 'elderly-share', year: y.year, verdict: pass === null ? 'na' : pass ? 'pass' : 'fail' } },
              h('div', { class: 'ratio-head' }, h('span', null, t('lottery.elderly.year', { year: y.year })), h('b', null, bp === null ? '—' : pct(bp)), badge(pass ? 'ok' : pass === false ? 'bad' : 'muted', pass === null ? verdictLabel('not_applicable') : verdictLabel(pass ? 'pass' : 'fail'))),
              bar(bp === null ? 0 : bp / 10000, { threshold: minBp / 10000, kind: pass === false ? 'bad' : 'ok', label: t('lottery.elderly') }),
              h('div', { class: 'small muted' }, t('lottery.elderly.detail', { elderly: yuan(elderly), total: yuan(total), min: pct(minBp) }), agreesServer ? '' : h('span', { class: 'bad-text' }, ' ', t('lottery.elderly.server_differs'))),
            );
          })
        : h('p', { class: 'muted' }, t('empty')),
      years.length
        ? chart(
            ctx,
            {
              tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: (v) => yuan(Math.round(v * 100)) },
              legend: { top: 0 },
              grid: { left: 8, right: 16, top: 40, bottom: 8, containLabel: true },
              xAxis: { type: 'category', data: years.map((y) => String(y.year)) },
              yAxis: { type: 'value', axisLabel: { formatter: (v) => `¥${Number(v).toLocaleString()}` } },
              series: PURPOSES.map(([key, kind, color]) => ({ name: enumLabel('welfare', kind), type: 'bar', stack: 'a', barMaxWidth: 56, itemStyle: { color }, data: years.map((y) => yuanNumber(y[key] ?? 0)) })),
            },
            { height: 280, testid: 'chart-allocations', label: t('lottery.allocations') },
          )
        : null,
    ),
    card(
      null,
      h('h2', null, t('lottery.games')),
      table(
        [
          [t('lottery.game'), ({ g }) => `${g.name} (${g.id})`],
          [t('lottery.rule'), ({ g }) => `${pct(g.prize_bp)} / ${pct(g.issuance_fee_bp)} / ${pct(g.welfare_bp)} · ${t('lottery.central')} ${pct(g.central_bp)}`],
          [t('lottery.rule.genesis'), ({ same }) => (same ? badge('ok', `✓ ${t('lottery.rule.same')}`) : badge('bad', `✗ ${t('lottery.rule.differs')}`))],
          [t('lottery.sales'), ({ g }) => yuan(g.totals.sales), 'num'],
          [t('lottery.node.prize'), ({ g }) => yuan(g.totals.prize), 'num'],
          [t('lottery.node.fee'), ({ g }) => yuan(g.totals.issuance_fee), 'num'],
          [t('lottery.node.central'), ({ g }) => yuan(g.totals.welfare_central), 'num'],
          [t('lottery.node.local'), ({ g }) => yuan(g.totals.welfare_local), 'num'],
          [t('lottery.node.paid'), ({ g }) => yuan(g.totals.prizes_paid), 'num'],
          [t('lottery.recomputed'), ({ g }) => (!sales.complete ? t('lottery.recomputed.partial') : agrees(g) ? badge('ok', `✓ ${t('lottery.recomputed.ok', { n: recomputed.get(g.id)?.n ?? 0 })}`) : badge('bad', `✗ ${t('lottery.recomputed.bad')}`))],
        ],
        ruleRows,
        { testid: 'games' },
      ),
      h('p', { class: 'small muted' }, t('lottery.recomputed.note')),
      h('h3', null, t('lottery.pool')),
      h('div', { class: 'stats' }, money(t('money.raised'), lot.welfare_pool.raised), money(t('lottery.allocated'), lot.welfare_pool.spent), money(t('money.balance'), lot.welfare_pool.balance)),
    ),
    card(
      null,
      h('h2', null, t('lottery.reports')),
      table(
        [
          [t('block'), (s) => link(`/block/${s.height}`, `#${s.height}`)],
          [t('time'), (s) => utc(s.time)],
          [t('lottery.game'), (s) => s.payload.RecordLotterySales.game],
          [t('lottery.period'), (s) => s.payload.RecordLotterySales.period],
          [t('lottery.region'), (s) => s.payload.RecordLotterySales.region],
          [t('lottery.sales'), (s) => yuan(s.payload.RecordLotterySales.sales), 'num'],
          [
            t('lottery.node.local'),
            (s) => {
              const gg = gameOf(s.payload.RecordLotterySales.game);
              return gg ? yuan(lotterySplit(s.payload.RecordLotterySales.sales, gg).local) : '—';
            },
            'num',
          ],
          ['', (s) => link(`/record/${s.id}`, t('record.open'))],
        ],
        sales.items,
      ),
      h('h3', null, t('lottery.others')),
      table(
        [
          [t('block'), (s) => link(`/block/${s.height}`, `#${s.height}`)],
          [t('time'), (s) => utc(s.time)],
          [t('record.kind'), (s) => enumLabel('payload', s.kind)],
          [
            t('record.label'),
            (s) => {
              const a = s.payload.AllocateWelfareFund;
              if (a) return `${enumLabel('welfare', a.purpose)} — ${a.recipient.Project ? `${t('fund.project')} ${a.recipient.Project}` : a.recipient.Programme ?? ''}`;
              const p = s.payload.RecordPrizePayout;
              if (p) return `${p.game} ${p.period}`;
              return s.kind;
            },
          ],
          [t('amount'), (s) => yuan(s.payload.AllocateWelfareFund?.amount ?? s.payload.RecordPrizePayout?.amount ?? 0), 'num'],
          ['', (s) => link(`/record/${s.id}`, t('record.open'))],
        ],
        sales.others,
      ),
    ),
  );
}

