// A verifiable draw (docs/SPEC.md §15), recomputed in the browser from certified parts: the opening
// and each seed commitment by their receipt bundles, the beacon block's header by a checkpoint proof
// from the pinned genesis, each revealed seed against its commitment, and the winners against the
// settling record's. An entrant checks its own entry with its salt, index and path.

import { h, replace, link, hexSpan } from '../dom.js';
import { t } from '../i18n.js';
import { api } from '../api.js';
import { trust, genesisUsable } from '../trust.js';
import {
  checkBundle,
  checkCheckpointProof,
  drawBeacon,
  drawEntryCommitment,
  drawEntryIncluded,
  drawSeedCommitment,
  drawWinners,
  equalBytes,
  fromHex,
  headerHash,
  toHex,
} from '../../verify/index.js';
import { card, kv, memberLink, table, Steps, badge } from '../ui.js';

const STATUS = { committing: 'draw.status.committing', revealing: 'draw.status.revealing', ready: 'draw.status.ready', settled: 'draw.status.settled' };

/** The lottery page's list of draws. */
export function drawsCard(draws) {
  return card(
    { dataset: { testid: 'draws' } },
    h('h2', null, t('draw.list')),
    h('p', { class: 'small muted' }, t('draw.list.intro')),
    table(
      [
        [t('draw.id'), (d) => link(`/draw/${encodeURIComponent(d.draw)}`, d.draw)],
        [t('draw.title'), (d) => d.title],
        [t('draw.entries'), (d) => String(d.entries), 'num'],
        [t('draw.winners'), (d) => String(d.winners), 'num'],
        [t('draw.status'), (d) => t(STATUS[d.status] ?? d.status)],
      ],
      draws,
      { empty: t('draw.none') },
    ),
  );
}

export async function drawPage(ctx) {
  const id = String(ctx.params.id);
  const d = await api(`/lottery/draws/${encodeURIComponent(id)}`);
  if (!ctx.alive()) return;
  const steps = new Steps({ dataset: { testid: 'draw-steps' } });
  const sOpen = steps.add('draw.open', t('draw.step.open'));
  const sBeacon = steps.add('draw.beacon', t('draw.step.beacon'));
  const sReveals = steps.add('draw.reveals', t('draw.step.reveals'));
  const sOutcome = steps.add('draw.outcome', t('draw.step.outcome'));
  const verdict = h('div', { dataset: { testid: 'draw-verdict' } });
  const entrySlot = h('div', { dataset: { testid: 'entry-result' } });
  const field = (name, placeholder) => h('input', { name, placeholder, class: 'input', autocomplete: 'off', spellcheck: 'false' });
  const fEntry = field('entry', t('draw.check.entry'));
  const fSalt = field('salt', t('draw.check.salt'));
  const fIndex = field('index', t('draw.check.index'));
  const fPath = field('path', t('draw.check.path'));
  let computedWinners = null;

  replace(
    ctx.main,
    h('nav', { class: 'crumbs' }, link('/', t('nav.home')), ' › ', link('/lottery', t('nav.lottery')), ' › ', d.draw),
    h('h1', null, d.title),
    h(
      'div',
      { class: 'grid2' },
      h(
        'div',
        { class: 'col' },
        card(
          null,
          h('h2', null, t('draw.facts')),
          kv([
            [t('draw.id'), d.draw],
            [t('draw.kind'), t(d.kind === 'reward' ? 'draw.kind.reward' : 'draw.kind.game')],
            [t('draw.owner'), memberLink(d.owner)],
            [t('draw.entries'), String(d.entries)],
            [t('draw.winners'), String(d.winners)],
            [t('draw.root'), hexSpan(d.entries_root)],
            [t('draw.heights'), t('draw.heights.value', { opened: d.opened, closes: d.closes, beacon: d.closes + 1, reveal_by: d.reveal_by })],
            [t('draw.status'), h('span', { dataset: { testid: 'draw-status' } }, t(STATUS[d.status] ?? d.status))],
          ]),
          h('h3', null, t('draw.seeds')),
          table(
            [
              [t('draw.committer'), (s) => memberLink(s.member)],
              [t('draw.commitment'), (s) => hexSpan(s.commitment)],
              [t('draw.seed'), (s) => (s.seed ? hexSpan(s.seed) : badge('warn', t('draw.not_revealed')))],
              ['', (s) => link(`/record/${s.record}`, t('record.open'))],
            ],
            d.seeds,
          ),
          d.outcome
            ? h(
                'div',
                null,
                h('h3', null, t('draw.outcome')),
                h('p', { dataset: { testid: 'draw-winners' } }, t('draw.outcome.winners', { list: d.outcome.winners.join(', ') })),
                d.outcome.withheld.length ? h('p', { class: 'bad-text' }, t('draw.withheld', { list: d.outcome.withheld.map((m) => m.name ?? m.address).join(', ') })) : null,
                h('p', null, link(`/record/${d.outcome.record}`, t('record.open'))),
              )
            : null,
        ),
        card(
          null,
          h('h2', null, t('draw.check')),
          h('p', { class: 'small muted' }, t('draw.check.intro')),
          h('div', { class: 'form-col' }, fEntry, fSalt, fIndex, fPath),
          h('button', { class: 'btn primary', dataset: { testid: 'entry-check' }, onclick: () => checkEntry() }, t('draw.check.button')),
          entrySlot,
        ),
      ),
      h('div', { class: 'col' }, card({ class: 'verify-card' }, h('h2', null, t('draw.verify')), h('p', { class: 'small muted' }, t('draw.verify.intro')), steps.el, verdict)),
    ),
  );

  function checkEntry() {
    try {
      const c = drawEntryCommitment(fEntry.value.trim(), fromHex(fSalt.value.trim()));
      const index = BigInt(fIndex.value.trim());
      const path = fPath.value.split(';').map((x) => x.trim()).filter(Boolean).map(fromHex);
      if (!drawEntryIncluded(c, index, BigInt(d.entries), path, fromHex(d.entries_root))) {
        replace(entrySlot, h('p', { class: 'bad-text' }, '✗ ', t('draw.check.not_in')));
        return;
      }
      const won = computedWinners ? computedWinners.findIndex((w) => w === index) : -1;
      replace(
        entrySlot,
        h('p', { class: 'ok-text' }, '✓ ', t('draw.check.in', { index: String(index) })),
        computedWinners == null ? h('p', null, t('draw.check.unsettled')) : h('p', null, won >= 0 ? t('draw.check.won', { place: won + 1 }) : t('draw.check.lost')),
      );
    } catch (err) {
      replace(entrySlot, h('p', { class: 'bad-text' }, '✗ ', err.message));
    }
  }

  await trust.ready;
  if (!ctx.alive()) return;
  const fail = (step, code, at, detail, rest) => {
    step.fail(code, at, detail);
    for (const s of rest) s.skip(t('step.not_reached'));
    replace(verdict, h('p', { class: 'bad-text' }, '✗ ', t('draw.verdict.bad')));
  };
  if (!genesisUsable()) return fail(sOpen, 'genesis.unavailable', 'genesis', t(`pin.${trust.pin.status}`), [sBeacon, sReveals, sOutcome]);
  // 1. The opening and every commitment, certified by their bundles.
  sOpen.run();
  let open = null;
  const commitments = [];
  for (const [i, s] of d.seeds.entries()) {
    const r = checkBundle(trust.genesis, await api(`/records/${s.record}/bundle`));
    if (!ctx.alive()) return;
    if (!r.ok) return fail(sOpen, r.error.code, `seeds[${i}] › ${r.error.at}`, r.error.detail, [sBeacon, sReveals, sOutcome]);
    const p = r.value.record.body.payload;
    const signer = r.value.signer?.address ?? null;
    if (i === 0 && p.kind === 'OpenDraw' && p.draw === d.draw) open = p;
    else if (!(i > 0 && p.kind === 'CommitDrawSeed' && p.draw === d.draw)) return fail(sOpen, 'draw.other_record', `seeds[${i}]`, '', [sBeacon, sReveals, sOutcome]);
    if (toHex(p.seed_commitment) !== s.commitment) return fail(sOpen, 'draw.commitment_differs', `seeds[${i}]`, '', [sBeacon, sReveals, sOutcome]);
    commitments.push({ member: signer ?? fromHex(s.member.address), commitment: p.seed_commitment });
  }
  if (toHex(open.entries_root) !== d.entries_root || open.entries !== BigInt(d.entries) || open.winners !== d.winners || open.closes !== BigInt(d.closes))
    return fail(sOpen, 'draw.opening_differs', 'seeds[0]', t('draw.opening_differs'), [sBeacon, sReveals, sOutcome]);
  sOpen.pass(t('draw.step.open.ok', { n: d.seeds.length }));
  // 2. The beacon block's header, certified from genesis.
  if (!d.beacon_block) {
    sBeacon.skip(t('draw.not_decided'));
    sReveals.skip(t('step.not_reached'));
    sOutcome.skip(t('step.not_reached'));
    replace(verdict, h('p', null, t('draw.verdict.open')));
    return;
  }
  sBeacon.run();
  const cp = checkCheckpointProof(trust.genesis, await api(`/checkpoints/proof?from=${d.closes + 1}&to=${d.closes + 1}`));
  if (!ctx.alive()) return;
  if (!cp.ok) return fail(sBeacon, cp.error.code, cp.error.at, cp.error.detail, [sReveals, sOutcome]);
  const blockHash = headerHash(cp.value.newSigned.header);
  sBeacon.pass(t('draw.step.beacon.ok', { height: d.closes + 1, hash: toHex(blockHash).slice(0, 16) }));
  // 3. Each revealed seed against its certified commitment.
  const revealed = [];
  for (const [i, s] of d.seeds.entries()) {
    if (!s.seed) continue;
    const seed = fromHex(s.seed);
    if (!equalBytes(drawSeedCommitment(d.draw, seed), commitments[i].commitment)) return fail(sReveals, 'draw.reveal_mismatch', `seeds[${i}]`, '', [sOutcome]);
    revealed.push({ member: commitments[i].member, seed });
  }
  sReveals.pass(t('draw.step.reveals.ok', { n: revealed.length, of: d.seeds.length }));
  // 4. The outcome, recomputed here, against the settling record.
  const beacon = drawBeacon({ draw: d.draw, entriesRoot: open.entries_root, entries: open.entries, winners: open.winners, blockHash, revealed });
  computedWinners = drawWinners(beacon, open.entries, open.winners);
  if (!d.outcome) {
    sOutcome.skip(t('draw.not_settled', { list: computedWinners.join(', ') }));
    replace(verdict, h('p', null, t('draw.verdict.open')));
    return;
  }
  const r = checkBundle(trust.genesis, await api(`/records/${d.outcome.record}/bundle`));
  if (!ctx.alive()) return;
  if (!r.ok) return fail(sOutcome, r.error.code, `outcome › ${r.error.at}`, r.error.detail, []);
  const settle = r.value.record.body.payload;
  const stated = settle.kind === 'SettleDraw' && settle.draw === d.draw ? settle.winners : null;
  const same = stated && stated.length === computedWinners.length && stated.every((w, i) => w === computedWinners[i]);
  if (!same) return fail(sOutcome, 'draw.outcome_differs', 'outcome', t('draw.outcome_differs', { list: computedWinners.join(', ') }), []);
  sOutcome.pass(t('draw.step.outcome.ok', { list: computedWinners.join(', ') }));
  replace(verdict, h('p', { class: 'ok-text', dataset: { testid: 'draw-verified' } }, '✓ ', t('draw.verdict.ok')));
}
