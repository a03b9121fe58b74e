// Small pieces shared by the pages: cards, key/value lists, badges, the verification step list.

import { h, replace, link, hexSpan } from './dom.js';
import { t } from './i18n.js';
import { yuan } from './format.js';

export const card = (props, ...children) => h('section', { ...(props ?? {}), class: ['card', props?.class].filter(Boolean).join(' ') }, ...children);

/** A definition list from [[label, value], …] (rows with a null value are left out). */
export function kv(rows, props = {}) {
  return h(
    'dl',
    { class: ['kv', props.class].filter(Boolean).join(' ') },
    rows.filter((r) => r && r[1] !== null && r[1] !== undefined).map(([k, v, extra]) => [h('dt', null, k), h('dd', extra ?? null, v)]),
  );
}

/** A badge saying where a value comes from. */
export function sourceBadge(verified) {
  return verified
    ? h('span', { class: 'badge ok', title: t('badge.verified.title') }, '✓ ', t('badge.verified'))
    : h('span', { class: 'badge warn', title: t('badge.unverified.title') }, t('badge.unverified'));
}

export function badge(kind, text, title) {
  return h('span', { class: `badge ${kind}`, title }, text);
}

/** A stat tile: label and a big value. */
export function stat(label, value, sub, testid) {
  return h('div', { class: 'stat', dataset: { testid } }, h('div', { class: 'stat-label' }, label), h('div', { class: 'stat-value' }, value), sub ? h('div', { class: 'stat-sub' }, sub) : null);
}

/** A money stat tile. */
export const money = (label, fen, sub, testid) => stat(label, yuan(fen), sub, testid);

/** A member reference ({ address, name, role }) as a link (charities get their page). */
export function memberLink(m) {
  if (!m) return '—';
  const name = m.name ?? hexSpan(m.address);
  if (m.role === 'charity' || m.role === 'Charity') return link(`/charity/${m.address}`, name);
  return h('span', { title: m.address }, name);
}

/** A simple table: columns [[header, (row) => cell, className?]], rows. */
export function table(columns, rows, { empty, testid, rowProps } = {}) {
  if (!rows.length) return h('p', { class: 'muted' }, empty ?? t('empty'));
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'tbl', dataset: { testid } },
      h('thead', null, h('tr', null, columns.map(([head, , cls]) => h('th', { class: cls }, head)))),
      h('tbody', null, rows.map((r) => h('tr', rowProps ? rowProps(r) : null, columns.map(([, cell, cls]) => h('td', { class: cls }, cell(r)))))),
    ),
  );
}

/** An error box for a failed request. */
export function errorBox(err, what) {
  return h('div', { class: 'banner bad inline', role: 'alert' }, h('strong', null, what ?? t('error.title')), ' ', h('code', null, err?.code ?? 'error'), ' ', err?.detail ?? err?.message ?? '');
}

/** A progress bar (value / max) with an optional threshold tick (ratio 0..1). */
export function bar(ratio, { threshold, kind = 'ok', label } = {}) {
  const w = Math.max(0, Math.min(1, ratio));
  return h(
    'div',
    { class: 'bar', role: 'progressbar', 'aria-valuenow': Math.round(w * 100), 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-label': label ?? '' },
    h('div', { class: `bar-fill ${kind}`, style: { width: `${(w * 100).toFixed(1)}%` } }),
    threshold !== undefined ? h('div', { class: 'bar-tick', style: { left: `${(Math.min(1, threshold) * 100).toFixed(1)}%` } }) : null,
  );
}

// ---------------------------------------------------------------------------------------------
// The verification step list

const ICON = { pending: '…', running: '⟳', pass: '✓', fail: '✗', skip: '–', warn: '!' };

/**
 * A list of checks, each shown as it runs, passes or fails. add(id, label) → step with
 * run() / pass(detail) / fail(code, at, detail) / skip(reason) / warn(detail).
 * Each <li> carries data-step and data-status for tests and for people using the inspector.
 */
export class Steps {
  constructor(props = {}) {
    this.el = h('ol', { class: 'steps', ...props });
    this.all = [];
  }

  group(label, id) {
    const li = h('li', { class: 'step-group', dataset: { group: id } }, h('div', { class: 'group-label' }, label));
    const sub = h('ol', { class: 'substeps' });
    li.appendChild(sub);
    this.el.appendChild(li);
    return { add: (sid, slabel, opts) => this.add(sid, slabel, { ...opts, parent: sub }) };
  }

  add(id, label, { parent, optional = false } = {}) {
    const icon = h('span', { class: 'step-icon', 'aria-hidden': 'true' }, ICON.pending);
    const detail = h('div', { class: 'step-detail' });
    const li = h('li', { class: 'step', dataset: { step: id, status: 'pending' } }, icon, h('div', { class: 'step-body' }, h('div', { class: 'step-label' }, label), detail));
    (parent ?? this.el).appendChild(li);
    const set = (status, ...content) => {
      li.dataset.status = status;
      icon.textContent = ICON[status];
      replace(detail, ...content);
    };
    const step = {
      id,
      optional,
      status: () => li.dataset.status,
      run: (...c) => set('running', ...c),
      pass: (...c) => set('pass', ...c),
      warn: (...c) => set('warn', ...c),
      skip: (...c) => set('skip', ...c),
      fail: (code, at, detailText) => {
        li.dataset.code = code;
        li.dataset.at = at ?? '';
        set('fail', h('code', { class: 'fail-code', dataset: { testid: 'fail-code' } }, at ? `${at}: ${code}` : code), detailText ? h('span', { class: 'muted' }, ' — ', detailText) : null);
      },
    };
    this.all.push(step);
    return step;
  }

  /** 'verified' when every required step passed (warnings allowed), else 'failed'. */
  verdict() {
    return this.all.every((s) => s.optional || s.status() === 'pass' || s.status() === 'warn') ? 'verified' : 'failed';
  }

  firstFailure() {
    return this.all.find((s) => s.status() === 'fail') ?? null;
  }
}
