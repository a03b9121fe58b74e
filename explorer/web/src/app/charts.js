// Apache ECharts, bundled (only the parts used), rendered as SVG.

import * as echarts from 'echarts/core';
import { SankeyChart, BarChart, PieChart } from 'echarts/charts';
import { TooltipComponent, GridComponent, LegendComponent, MarkLineComponent, TitleComponent } from 'echarts/components';
import { SVGRenderer } from 'echarts/renderers';
import { h, esc } from './dom.js';
import { yuan } from './format.js';

echarts.use([SankeyChart, BarChart, PieChart, TooltipComponent, GridComponent, LegendComponent, MarkLineComponent, TitleComponent, SVGRenderer]);

export const COLORS = {
  donation: '#0f6cbd',
  activity: '#1a7f5a',
  management: '#b7791f',
  fundraising: '#8e5bd0',
  grant: '#2b8fd6',
  refunded: '#8a8f98',
  unspent: '#c7ced8',
  prize: '#d08c2b',
  fee: '#8a8f98',
  welfare: '#d4372c',
  central: '#a23b2a',
  local: '#e0663f',
  elderly: '#c2410c',
  disabled: '#0f766e',
  orphans: '#6d28d9',
  poverty: '#1d4ed8',
  other: '#64748b',
};

export const FONT = '"Noto Sans CJK SC", "Noto Sans SC", "PingFang SC", "Microsoft YaHei", system-ui, sans-serif';

const resizers = new Set();
if (typeof window !== 'undefined')
  window.addEventListener('resize', () => {
    for (const c of resizers) c.resize();
  });

/**
 * A chart in a new element of the given height; kept in ctx.charts so the router disposes it.
 * `option` is an ECharts option, or a function of the element's width giving one.
 * Returns the element (the chart renders into it once it is in the page).
 */
export function chart(ctx, option, { height = 360, testid, label } = {}) {
  const el = h('div', { class: 'chart', style: { height: `${height}px` }, dataset: { testid }, role: 'img', 'aria-label': label ?? '' });
  // Rendered once attached: ECharts needs the element's size.
  let frames = 0;
  const render = () => {
    if (!ctx.alive()) return;
    if (!el.isConnected) {
      if (++frames < 600) requestAnimationFrame(render);
      return;
    }
    const c = echarts.init(el, null, { renderer: 'svg' });
    const opt = typeof option === 'function' ? option(el.clientWidth) : option;
    // No animation: a chart about money should show its numbers at once (and print as shown).
    c.setOption({ textStyle: { fontFamily: FONT }, animation: false, ...opt });
    ctx.charts.push(c);
    resizers.add(c);
  };
  requestAnimationFrame(render);
  return el;
}

export function disposeCharts(ctx) {
  for (const c of ctx.charts) {
    resizers.delete(c);
    c.dispose();
  }
  ctx.charts = [];
}

/**
 * A Sankey option from nodes [{ id, label, color }] and links [{ source, target, value (fen) }].
 * Node names are ids; labels and tooltips show the labels and ¥ amounts (escaped: they may hold
 * text from records).
 */
export function sankeyOption(nodes, links, { nodeWidth = 14, orient = 'horizontal', singleLine = false, nodeGap = 14, right = 200, width = 1000 } = {}) {
  // On narrow screens the last column's labels get a third of the width, in a smaller font.
  const narrow = width < 640;
  if (narrow) right = Math.round(width * 0.34);
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const totals = new Map();
  for (const l of links) {
    totals.set(l.target, (totals.get(l.target) ?? 0n) + BigInt(l.value));
    if (!totals.has(l.source)) totals.set(l.source, 0n);
  }
  // a source node's total is what flows out of it
  const outs = new Map();
  for (const l of links) outs.set(l.source, (outs.get(l.source) ?? 0n) + BigInt(l.value));
  const amount = (id) => {
    const i = totals.get(id) ?? 0n;
    const o = outs.get(id) ?? 0n;
    return i > o ? i : o;
  };
  return {
    tooltip: {
      trigger: 'item',
      confine: true,
      formatter: (p) => {
        if (p.dataType === 'edge')
          return `${esc(byId.get(p.data.source)?.label ?? '')} → ${esc(byId.get(p.data.target)?.label ?? '')}<br><b>${esc(yuan(p.data.fen))}</b>`;
        return `${esc(byId.get(p.name)?.label ?? p.name)}<br><b>${esc(yuan(amount(p.name)))}</b>`;
      },
    },
    series: [
      {
        type: 'sankey',
        orient,
        left: 8,
        right: orient === 'horizontal' ? right : 8,
        top: 12,
        bottom: 12,
        nodeWidth,
        nodeGap,
        nodeAlign: 'left',
        layoutIterations: 64,
        emphasis: { focus: 'adjacency' },
        draggable: false,
        label: {
          fontFamily: FONT,
          color: '#1f2933',
          width: right - 16,
          overflow: 'break',
          fontSize: narrow ? 10 : 12,
          formatter: (p) => `${byId.get(p.name)?.label ?? p.name}${singleLine ? ' ' : '\n'}${yuan(amount(p.name))}`,
        },
        lineStyle: { color: 'gradient', curveness: 0.5, opacity: 0.35 },
        data: nodes.map((n) => ({ name: n.id, itemStyle: { color: n.color ?? COLORS.donation, borderColor: n.color ?? COLORS.donation } })),
        // values in yuan for layout (Numbers); the exact fen for labels
        links: links.map((l) => ({ source: l.source, target: l.target, value: Number(l.value) / 100, fen: String(l.value) })),
      },
    ],
  };
}

/** Merges links with the same source and target, summing (BigInt) values. */
export function mergeLinks(links) {
  const m = new Map();
  for (const l of links) {
    const k = `${l.source}\u0000${l.target}`;
    const prev = m.get(k);
    if (prev) prev.value = BigInt(prev.value) + BigInt(l.value);
    else m.set(k, { ...l, value: BigInt(l.value) });
  }
  return [...m.values()].filter((l) => l.value > 0n);
}
