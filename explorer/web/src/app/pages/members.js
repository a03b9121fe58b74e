// Members of the network and the validators in force.

import { h, replace, link, hexSpan } from '../dom.js';
import { t, enumLabel } from '../i18n.js';
import { api } from '../api.js';
import { card, table, badge, sourceBadge } from '../ui.js';

export async function membersPage(ctx) {
  const [members, status] = await Promise.all([api('/members'), api('/status')]);
  if (!ctx.alive()) return;
  const total = status.validators.reduce((n, v) => n + Number(v.power), 0);
  replace(
    ctx.main,
    h('nav', { class: 'crumbs' }, link('/', t('nav.home')), ' › ', t('nav.members')),
    h('h1', null, t('members.title')),
    h('p', { class: 'small muted' }, t('server.data_note'), ' ', sourceBadge(false)),
    card(
      null,
      h('h2', null, t('members.validators', { height: Number(status.height) + 1 })),
      table(
        [
          [t('members.name'), (v) => v.member.name ?? '—'],
          [t('members.role'), (v) => enumLabel('role', v.member.role)],
          [t('members.power'), (v) => `${v.power} (${((Number(v.power) / total) * 100).toFixed(1)}%)`, 'num'],
          [t('members.key'), (v) => hexSpan(v.public_key)],
        ],
        status.validators,
      ),
      h('p', { class: 'small muted' }, t('members.quorum')),
    ),
    card(
      null,
      h('h2', null, t('members.all')),
      table(
        [
          [t('members.name'), (m) => (m.role === 'charity' ? link(`/charity/${m.address}`, m.name) : m.name)],
          [t('members.role'), (m) => enumLabel('role', m.role)],
          ['USCC', (m) => m.uscc],
          [t('members.power'), (m) => String(m.power), 'num'],
          [t('members.status'), (m) => (m.suspended ? badge('bad', t('member.suspended')) : badge('ok', t('members.active')))],
          [t('members.admitted'), (m) => (m.admitted_height === 0 ? t('members.genesis') : link(`/block/${m.admitted_height}`, `#${m.admitted_height}`))],
          [t('member.address'), (m) => hexSpan(m.address)],
        ],
        members,
      ),
    ),
  );
}
