// What this browser trusts: the pinned genesis (shown in full, downloadable) and the remembered
// checkpoint, with the history check's result; and what the page can and cannot prove.

import { h, replace, link, download } from '../dom.js';
import { t, enumLabel } from '../i18n.js';
import { utc, pct } from '../format.js';
import { trust, onTrustChange, checkHistory, forgetCheckpoint, rememberedCheckpoint } from '../trust.js';
import { toHex, addressOf } from '../../verify/index.js';
import { card, kv, table, badge } from '../ui.js';

export function downloadEvidence() {
  const ev = trust.history.evidence;
  if (!ev) return;
  download(`shanlian-fork-evidence-${trust.history.remembered?.height ?? ''}.json`, JSON.stringify({ genesis_hash: trust.genesisHash, ...ev }, null, 2));
}

export async function trustPage(ctx) {
  const slot = h('div');
  replace(ctx.main, h('h1', null, t('trust.title')), slot);
  const render = () => {
    if (!ctx.alive()) return;
    const g = trust.genesis;
    const hs = trust.history;
    const rem = rememberedCheckpoint();
    replace(
      slot,
      card(
        { dataset: { testid: 'trust-genesis' } },
        h('h2', null, t('trust.genesis.title')),
        h('p', { class: 'small muted' }, t('trust.genesis.intro')),
        kv([
          [t('trust.genesis.hash'), h('code', { class: 'hex wrap', dataset: { testid: 'genesis-hash' } }, trust.genesisHash ?? '—')],
          [t('trust.genesis.status'), h('span', null, badge(['first-use', 'match'].includes(trust.pin.status) ? 'ok' : 'bad', t(`pin.${trust.pin.status}`)))],
          [t('trust.pinned'), trust.pin.pinned ? h('code', { class: 'hex wrap' }, trust.pin.pinned) : '—'],
          trust.pin.since ? [t('trust.since'), new Date(trust.pin.since).toISOString().replace('T', ' ').slice(0, 19) + ' UTC'] : null,
          [t('trust.chain'), g?.chain_id ?? '—'],
          [t('trust.genesis_time'), g ? utc(g.time) : '—'],
        ]),
        trust.toml ? h('button', { type: 'button', class: 'btn', onclick: () => download(`genesis-${trust.genesisHash.slice(0, 16)}.toml`, trust.toml, 'text/plain') }, t('trust.download_genesis')) : null,
      ),
      g
        ? card(
            null,
            h('h2', null, t('trust.members')),
            table(
              [
                [t('members.name'), (m) => m.name],
                [t('members.role'), (m) => enumLabel('role', m.role.kind)],
                ['USCC', (m) => m.uscc],
                [t('members.power'), (m) => String(m.power), 'num'],
                [t('member.address'), (m) => h('code', { class: 'hex' }, toHex(addressOf(m.public_key)))],
              ],
              g.members,
            ),
            h('h3', null, t('trust.params')),
            kv([
              [t('trust.param.elderly'), pct(g.params.elderly_min_share_bp)],
              [t('trust.param.activity'), pct(g.params.charity_activity_min_bp)],
              [t('trust.param.management'), pct(g.params.charity_management_max_bp)],
              [t('trust.param.delay'), String(g.params.validator_change_delay)],
              [t('trust.param.max_record'), String(g.params.max_record_bytes)],
            ]),
            h('h3', null, t('trust.games')),
            table(
              [
                [t('lottery.game'), (x) => `${x.name} (${x.id})`],
                [t('lottery.rule'), (x) => `${pct(x.prize_bp)} / ${pct(x.issuance_fee_bp)} / ${pct(x.welfare_bp)} · ${t('lottery.central')} ${pct(x.central_bp)}`],
              ],
              g.games,
            ),
          )
        : null,
      card(
        { dataset: { testid: 'trust-history' } },
        h('h2', null, t('trust.history.title')),
        h('p', { class: 'small muted' }, t('trust.history.intro')),
        kv([
          [t('trust.history.status'), badge({ first: 'ok', consistent: 'ok', fork: 'bad', invalid: 'bad' }[hs.status] ?? 'warn', t(`history.${hs.status}`))],
          [t('trust.history.remembered'), rem ? `#${rem.height} · ${utc(rem.time)} · ${rem.header_hash}` : t('none')],
          hs.error ? [t('trust.history.error'), h('code', null, `${hs.error.at}: ${hs.error.code}`)] : null,
        ]),
        h(
          'div',
          { class: 'btns' },
          h('button', { type: 'button', class: 'btn', onclick: () => checkHistory() }, t('trust.recheck')),
          hs.evidence ? h('button', { type: 'button', class: 'btn', onclick: downloadEvidence }, t('banner.fork.evidence')) : null,
          rem ? h('button', { type: 'button', class: 'btn danger', onclick: () => confirm(t('banner.fork.confirm')) && forgetCheckpoint() }, t('trust.forget')) : null,
        ),
      ),
      card(
        { class: 'model' },
        h('h2', null, t('model.title')),
        h('h3', null, t('model.proves')),
        h('ul', null, ['model.p1', 'model.p2', 'model.p3', 'model.p4', 'model.p5'].map((k) => h('li', null, t(k)))),
        h('h3', null, t('model.not')),
        h('ul', null, ['model.n1', 'model.n2', 'model.n3', 'model.n4'].map((k) => h('li', null, t(k)))),
        h('p', { class: 'small' }, link('/verify', t('nav.verify'))),
      ),
    );
  };
  render();
  ctx.cleanup.push(onTrustChange(render));
}
