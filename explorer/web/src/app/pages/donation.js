// The donation page (#/donation/<charity>/<receipt>[?g=<genesis hash>&id=<record id>]):
// what the donation is, where its money went (a Sankey of the *verified* trace proof), and a
// verification panel that runs every check in this browser, showing each one as it passes or
// fails. Whatever the browser did not verify is labelled as the server's claim.

import QRCode from 'qrcode';
import { h, replace, link, hexSpan, tick, download, short } from '../dom.js';
import { t, enumLabel } from '../i18n.js';
import { api, ApiError } from '../api.js';
import { yuan, utc, fundOf } from '../format.js';
import { trust, genesisUsable } from '../trust.js';
import { reportBundle, reportExtended, reportTrace, plain } from '../checks.js';
import { scanForDonation } from '../lookup.js';
import { chart, sankeyOption, mergeLinks, COLORS } from '../charts.js';
import { card, kv, sourceBadge, badge, Steps, errorBox, memberLink } from '../ui.js';
import { blake3, commitment, fromHex, toHex, traceResultToJson, equalBytes } from '../../verify/index.js';

const HEX40 = /^[0-9a-fA-F]{40}$/;
const HEX64 = /^[0-9a-fA-F]{64}$/;

export async function donationPage(ctx) {
  const charity = String(ctx.params.charity).toLowerCase();
  const receipt = ctx.params.receipt;
  const linkG = ctx.query.get('g')?.toLowerCase() ?? null;
  const linkId = ctx.query.get('id')?.toLowerCase() ?? null;
  if (!HEX40.test(charity)) throw new ApiError(400, 'request.bad_address', t('donation.bad_address'));

  // ---- the skeleton ----
  const verdict = h('div', { class: 'verdict running', dataset: { testid: 'verdict', verdict: 'running' }, role: 'status', 'aria-live': 'polite' }, h('span', { class: 'verdict-icon' }, '⟳'), h('div', null, h('strong', null, t('verdict.running')), h('p', null, t('verdict.running.body'))));
  const details = card({ class: 'details' }, h('h2', null, t('donation.details')), h('p', { class: 'loading' }, t('loading')));
  const annotations = card({ class: 'annotations', dataset: { testid: 'annotations' } }, h('h2', null, t('donation.annotations')), h('p', { class: 'loading' }, t('loading')));
  const steps = new Steps({ dataset: { testid: 'steps' } });
  const verifyCard = card({ class: 'verify-card', dataset: { testid: 'verify-panel' } }, h('h2', null, t('verify.panel')), h('p', { class: 'muted small' }, t('verify.panel.intro')), steps.el);
  const qrCard = card({ class: 'qr-card' }, h('h2', null, t('qr.title')), h('p', { class: 'loading' }, t('loading')));
  const flowCard = card({ class: 'flow-card', dataset: { testid: 'flow' } }, h('h2', null, t('flow.title')), h('p', { class: 'loading' }, t('flow.waiting')));
  const outflowCard = card({ class: 'outflows-card' }, h('h2', null, t('outflows.title')), h('p', { class: 'loading' }, t('flow.waiting')));
  const donorCard = card({ class: 'donor-card', dataset: { testid: 'donor-check' } });
  const serverCard = h('details', { class: 'card server-summary' }, h('summary', null, t('server.summary')));
  const title = h('h1', null, t('donation.title'), ' ', h('span', { class: 'receipt-no' }, receipt));
  replace(
    ctx.main,
    h('nav', { class: 'crumbs' }, link('/', t('nav.home')), ' › ', t('donation.crumb')),
    title,
    verdict,
    h('div', { class: 'grid2' }, h('div', { class: 'col' }, details, annotations, qrCard, donorCard), h('div', { class: 'col' }, verifyCard)),
    flowCard,
    outflowCard,
    serverCard,
  );

  // ---- the steps, all listed up front ----
  const root = steps.group(t('group.trust'), 'trust');
  const sGenesis = root.add('genesis', t('step.genesis'));
  const sHistory = root.add('history', t('step.history'));
  const rec = steps.group(t('group.record'), 'record');
  const recSteps = {
    parse: rec.add('record.parse', t('step.bundle.parse')),
    validators: rec.add('record.validators', t('step.bundle.validators')),
    certificate: rec.add('record.certificate', t('step.bundle.certificate')),
    signature: rec.add('record.signature', t('step.bundle.signature')),
    inclusion: rec.add('record.inclusion', t('step.bundle.inclusion')),
    extension: rec.add('record.extension', t('step.bundle.extension')),
  };
  const sMatches = rec.add('record.matches', t('step.record.matches'));
  const tr = steps.group(t('group.trace'), 'trace');
  const traceSteps = {
    parse: tr.add('trace.parse', t('step.trace.parse')),
    blocks: tr.add('trace.blocks', t('step.trace.blocks')),
    rows: tr.add('trace.rows', t('step.trace.rows')),
    records: tr.add('trace.records', t('step.trace.records')),
    subject: tr.add('trace.subject', t('step.trace.subject')),
    walk: tr.add('trace.walk', t('step.trace.walk')),
    outflows: tr.add('trace.outflows', t('step.trace.outflows')),
    unused: tr.add('trace.unused', t('step.trace.unused')),
  };
  const sSameSubject = tr.add('trace.same', t('step.trace.same'));
  const outGroup = steps.group(t('group.outflows'), 'outflows');
  const annGroup = steps.group(t('group.annotations'), 'annotations');

  const finish = () => {
    const v = steps.verdict();
    verdict.dataset.verdict = v;
    verdict.className = `verdict ${v === 'verified' ? 'ok' : 'bad'}`;
    const fail = steps.firstFailure();
    const failures = steps.all.filter((x) => x.status() === 'fail').length;
    replace(
      verdict,
      h('span', { class: 'verdict-icon' }, v === 'verified' ? '✓' : '✗'),
      h(
        'div',
        null,
        h('strong', null, v === 'verified' ? t('verdict.verified') : t('verdict.failed')),
        v === 'verified'
          ? h('p', null, t('verdict.verified.body', { height: state.asOf ?? '?', record: state.height ?? '?' }))
          : h(
              'p',
              null,
              t('verdict.failed.body'),
              ' ',
              fail ? h('span', null, h('b', null, stepLabel(fail.id)), ' — ', h('code', { dataset: { testid: 'verdict-code' } }, failText(fail.id))) : null,
              failures > 1 ? h('span', { class: 'muted' }, ' ', t('verdict.failed.more', { n: failures - 1 })) : null,
            ),
      ),
    );
  };
  const failText = (id) => {
    const li = steps.el.querySelector(`[data-step="${CSS.escape(id)}"]`);
    return li ? `${li.dataset.at ? `${li.dataset.at}: ` : ''}${li.dataset.code ?? ''}` : id;
  };
  const stepLabel = (id) => steps.el.querySelector(`[data-step="${CSS.escape(id)}"] .step-label`)?.textContent ?? id;
  const state = { asOf: null, height: null };
  const notReached = t('step.not_reached');
  const skipAll = (list, why) => Object.values(list).forEach((s) => s.skip(why));

  // ---- the trust root ----
  await trust.ready;
  if (!ctx.alive()) return;
  sGenesis.run();
  await tick();
  const g = trust.genesisHash;
  const pinCode = { changed: 'genesis.changed', 'link-mismatch': 'genesis.link_mismatch' }[trust.pin.status] ?? 'genesis.unavailable';
  if (!genesisUsable()) sGenesis.fail(pinCode, 'genesis', t(`pin.${trust.pin.status}`));
  else if (linkG !== null && linkG !== g) sGenesis.fail('genesis.link_mismatch', 'g=', t('step.genesis.link_mismatch', { link: short(linkG), served: short(g) }));
  else sGenesis.pass(h('span', null, h('code', { class: 'hex', title: g }, short(g, 12, 6)), ' · ', t(`pin.${trust.pin.status}`), linkG ? ` · ${t('step.genesis.link_ok')}` : ''));

  const hs = trust.history;
  const histText = {
    first: () => sHistory.pass(t('step.history.first', { height: hs.verified?.height })),
    consistent: () => sHistory.pass(t('step.history.consistent', { from: hs.remembered?.height, to: hs.verified?.height })),
    fork: () => sHistory.fail('history.fork', 'checkpoints/proof: old', t('step.history.fork', { height: hs.remembered?.height })),
    invalid: () => sHistory.fail(hs.error?.code ?? 'history.invalid', `checkpoints/proof: ${hs.error?.at ?? ''}`, hs.error?.detail),
    behind: () => sHistory.warn(t('step.history.behind', { remembered: hs.remembered?.height, server: hs.serverHeight })),
    error: () => sHistory.warn(t('step.history.error', { code: hs.error?.code ?? '' })),
    empty: () => sHistory.warn(t('history.empty')),
    skipped: () => sHistory.fail('genesis.unavailable', 'genesis', t('step.history.skipped')),
  };
  (histText[hs.status] ?? (() => sHistory.warn(hs.status)))();

  // ---- the server's view of the donation (a convenience; nothing in it is trusted) ----
  let view = null;
  let viewError = null;
  try {
    view = await api(`/donations/${charity}/${encodeURIComponent(receipt)}`);
  } catch (err) {
    viewError = err;
  }
  if (!ctx.alive()) return;
  if (viewError && viewError.status === 404) {
    replace(ctx.main, card({ dataset: { testid: 'not-found' } }, h('h1', null, t('donation.notfound')), h('p', null, t('donation.notfound.body', { receipt })), h('p', null, h('code', null, viewError.code), ' ', viewError.message), h('p', null, link('/', t('nav.home')))));
    return;
  }

  // ---- the record id ----
  let recordId = view?.record?.id?.toLowerCase() ?? null;
  if (linkId && !HEX64.test(linkId)) {
    sMatches.fail('request.bad_id', 'id=', linkId);
  }
  if (recordId === null && linkId && HEX64.test(linkId)) recordId = linkId;
  if (recordId === null && viewError) {
    replace(details, h('h2', null, t('donation.details')), errorBox(viewError, t('donation.view_failed')), h('p', { class: 'muted', dataset: { testid: 'scan-note' } }, t('donation.scanning')));
    try {
      recordId = await scanForDonation(charity, receipt, (hgt) => {
        const n = details.querySelector('[data-testid="scan-note"]');
        if (n) n.textContent = t('donation.scanning.at', { height: hgt });
      });
    } catch (err) {
      viewError = err;
    }
    if (!ctx.alive()) return;
  }
  if (recordId === null) {
    replace(details, h('h2', null, t('donation.details')), errorBox(viewError, t('donation.view_failed')), h('p', null, t('donation.not_located')));
    for (const s of steps.all) if (s.status() === 'pending') s.skip(t('step.no_record'));
    finish();
    return;
  }

  // ---- the donation's receipt bundle (as issued: its block), then extended to the newest checkpoint ----
  let bundleText = null;
  let latestText = null;
  let bundleResult = null;
  const canVerify = genesisUsable();
  if (!canVerify) {
    skipAll(recSteps, t('step.no_genesis'));
    sMatches.skip(t('step.no_genesis'));
  } else {
    recSteps.parse.run();
    await tick();
    try {
      bundleText = await api(`/records/${recordId}/bundle`, { text: true });
    } catch (err) {
      recSteps.parse.fail(err.code, 'GET bundle', err.message);
      Object.entries(recSteps).forEach(([k, s]) => k !== 'parse' && s.skip(notReached));
    }
    if (!ctx.alive()) return;
    if (bundleText !== null) {
      const { extension, ...inBlock } = recSteps;
      bundleResult = reportBundle(trust.genesis, bundleText, inBlock, {
        notReached,
        describe: (stage, v) => describeBundle(stage, v),
      });
      await tick();
      if (bundleResult.ok) {
        const v = bundleResult.value;
        state.height = Number(v.height);
        extension.run();
        await tick();
        try {
          latestText = await api(`/records/${recordId}/bundle?to=latest`, { text: true });
          const ext = reportExtended(trust.genesis, latestText, extension, {
            expectId: toHex(v.id),
            expectHeight: v.height,
            describe: (x) => (x.checkpoint.height === v.height ? describeBundle('no-extension', x) : describeBundle('extension', x)),
          });
          if (ext.ok) state.checkpoint = Number(ext.value.checkpoint.height);
        } catch (err) {
          extension.fail(err.code, 'GET bundle?to=latest', err.message);
        }
        const p = v.record.body.payload;
        const problems = [];
        if (p.kind !== 'RecordDonation') problems.push(t('match.kind', { kind: p.kind }));
        else if (p.receipt !== receipt) problems.push(t('match.receipt', { got: p.receipt }));
        if (!v.signer || toHex(v.signer.address) !== charity) problems.push(t('match.signer'));
        if (linkId && HEX64.test(linkId) && toHex(v.id) !== linkId) problems.push(t('match.link_id'));
        if (toHex(v.id) !== recordId) problems.push(t('match.id'));
        if (problems.length) sMatches.fail('record.mismatch', 'record', problems.join('; '));
        else if (sMatches.status() !== 'fail') sMatches.pass(t('step.record.matches.ok', { receipt, name: v.signer.name }));
      } else {
        extension.skip(notReached);
        sMatches.skip(notReached);
      }
    }
  }
  // Without a verified bundle and without the server's summary, show the server's record (a claim).
  let claim = view?.record ?? null;
  if (!claim && !bundleResult?.ok) {
    try {
      claim = await api(`/records/${recordId}`);
    } catch {
      claim = null;
    }
    if (!ctx.alive()) return;
  }
  renderDetails(details, { view, claim, viewError, bundle: bundleResult?.ok ? bundleResult.value : null, receipt, charity, recordId });
  renderQr(qrCard, { charity, receipt, recordId, genesisHash: trust.genesisHash, bundleText, verified: bundleResult?.ok === true, ctx });

  // ---- the trace proof: where the money went ----
  let traceResult = null;
  if (!canVerify) {
    skipAll(traceSteps, t('step.no_genesis'));
    sSameSubject.skip(t('step.no_genesis'));
  } else {
    traceSteps.parse.run();
    await tick();
    let traceText = null;
    try {
      traceText = await api(`/records/${recordId}/trace?direction=forward`, { text: true });
    } catch (err) {
      traceSteps.parse.fail(err.code, 'GET trace', err.message);
      Object.entries(traceSteps).forEach(([k, s]) => k !== 'parse' && s.skip(notReached));
    }
    if (!ctx.alive()) return;
    if (traceText !== null) {
      traceResult = reportTrace(trust.genesis, traceText, traceSteps, { notReached, describe: describeTrace });
      await tick();
      if (traceResult.ok) {
        state.asOf = Number(traceResult.value.asOf);
        const same = bundleResult?.ok && equalBytes(traceResult.value.subject, bundleResult.value.id);
        if (same) sSameSubject.pass(t('step.trace.same.ok'));
        else if (!bundleResult?.ok) sSameSubject.skip(t('step.trace.same.nobundle'));
        else sSameSubject.fail('trace.other_subject', 'subject', t('step.trace.same.bad'));
      } else sSameSubject.skip(notReached);
    }
  }
  const traced = traceResult?.ok ? traceResult.value : null;
  renderFlow(flowCard, ctx, traced, view);
  const outflows = outflowsOf(traced);

  // ---- each outflow's own receipt bundle ----
  const outflowChecks = new Map();
  if (!traced) {
    outGroup.add('outflow.none', t('step.outflows.unknown')).skip(t('step.outflows.need_trace'));
  } else if (outflows.length === 0) {
    outGroup.add('outflow.none', t('step.outflows.none')).pass(t('step.outflows.none.body'));
  } else {
    for (const o of outflows) {
      const op = o.record.body.payload;
      const what = op.kind === 'RecordDisbursement' || op.kind === 'TransferGrant' ? op.purpose : op.kind === 'AllocateWelfareFund' ? enumLabel('welfare', op.purpose.kind) : '';
      const s = outGroup.add(`outflow.${o.idHex}`, t('step.outflow', { kind: enumLabel('payload', op.kind), id: short(o.idHex, 8, 4), what: clip(what, 30) }));
      s.run();
      await tick();
      let b = view?.outflows?.find((x) => x.record?.id === o.idHex)?.bundle ?? null;
      if (b === null) {
        try {
          b = await api(`/records/${o.idHex}/bundle`);
        } catch (err) {
          s.fail(err.code, 'GET bundle', err.message);
          outflowChecks.set(o.idHex, false);
          continue;
        }
      }
      const r = reportBundle(trust.genesis, b, {});
      if (!r.ok) s.fail(r.error.code, `outflow ${short(o.idHex, 8, 4)} › ${r.error.at}`, r.error.detail);
      else if (toHex(r.value.id) !== o.idHex) s.fail('outflow.other_record', 'record', t('step.outflow.other'));
      else s.pass(t('step.outflow.ok', { height: r.value.height, time: utc(r.value.time) }));
      outflowChecks.set(o.idHex, r.ok && toHex(r.value.id) === o.idHex);
    }
  }
  renderOutflows(outflowCard, outflows, outflowChecks, traced);

  // ---- corrections and findings naming the donation ----
  let ann = view?.annotations ?? null;
  if (ann === null) {
    try {
      ann = await api(`/records/${recordId}/annotations`);
    } catch {
      ann = null;
    }
  }
  const annList = ann ? [...(ann.corrections ?? []), ...(ann.findings ?? [])] : null;
  const annVerified = new Map();
  if (annList === null) annGroup.add('annotations.none', t('step.annotations')).warn(t('step.annotations.unavailable'));
  else if (annList.length === 0) annGroup.add('annotations.none', t('step.annotations')).pass(t('step.annotations.none'));
  else if (!canVerify) annGroup.add('annotations.none', t('step.annotations')).skip(t('step.no_genesis'));
  else
    for (const a of annList) {
      const s = annGroup.add(`annotation.${a.id}`, t('step.annotation', { kind: enumLabel('payload', a.kind), id: short(a.id, 8, 4) }));
      s.run();
      await tick();
      try {
        const b = await api(`/records/${a.id}/bundle`);
        const r = reportBundle(trust.genesis, b, {});
        const target = r.ok ? r.value.record.body.payload.target : null;
        if (!r.ok) s.fail(r.error.code, `annotation ${short(a.id, 8, 4)} › ${r.error.at}`, r.error.detail);
        else if (toHex(r.value.id) !== a.id || !target || toHex(target) !== recordId) s.fail('annotation.other_target', 'record', t('step.annotation.other'));
        else {
          s.pass(t('step.annotation.ok', { height: r.value.height }));
          annVerified.set(a.id, r.value);
        }
      } catch (err) {
        s.fail(err.code ?? 'error', 'GET bundle', err.message);
      }
    }
  renderAnnotations(annotations, annList, annVerified);
  renderDonor(donorCard, bundleResult?.ok ? bundleResult.value.record.body.payload : claim?.payload?.RecordDonation ?? null, bundleResult?.ok === true, recordId);
  renderServerSummary(serverCard, view, traced);
  if (!ctx.alive()) return;
  finish();
}

// ---------------------------------------------------------------------------------------------
// Step details

function describeBundle(stage, v) {
  switch (stage) {
    case 'parse':
      return t('step.bundle.parse.ok');
    case 'validators':
      return t('step.bundle.validators.ok');
    case 'certificate':
      return t('step.bundle.certificate.ok', { height: v.height, time: utc(v.time) });
    case 'signature':
      return v.signer ? t('step.bundle.signature.ok', { name: v.signer.name }) : t('step.bundle.signature.unknown');
    case 'inclusion':
      return t('step.bundle.inclusion.ok', { index: v.logIndex, height: v.height });
    case 'extension':
      return t('step.bundle.extension.ok', { height: v.checkpoint.height, size: v.checkpoint.log_size });
    case 'no-extension':
      return t('step.bundle.extension.none');
    default:
      return '';
  }
}

function describeTrace(stage, v) {
  const outflows = new Set(v.steps.filter((s) => s.what.kind === 'spent').map((s) => toHex(s.what.outflow))).size;
  switch (stage) {
    case 'parse':
      return t('step.trace.parse.ok');
    case 'blocks':
      return t('step.trace.blocks.ok', { height: v.asOf });
    case 'rows':
      return t('step.trace.rows.ok');
    case 'records':
      return t('step.trace.records.ok', { n: v.records.length });
    case 'subject':
      return t('step.trace.subject.ok', { amount: yuan(v.amount) });
    case 'walk':
      return t('step.trace.walk.ok', { n: v.steps.length });
    case 'outflows':
      return t('step.trace.outflows.ok', { n: outflows });
    case 'unused':
      return t('step.trace.unused.ok');
    default:
      return '';
  }
}

// ---------------------------------------------------------------------------------------------
// The donation's details

function fundView(fund) {
  const f = fundOf(fund);
  if (f.kind === 'Project') return h('span', null, t('fund.project'), ' ', link(`/project/${encodeURIComponent(f.id)}`, f.id));
  if (f.kind === 'General') return h('span', null, t('fund.general'), ' ', link(`/charity/${f.id}`, hexSpan(f.id)));
  if (f.kind === 'WelfarePool') return t('fund.welfare');
  return '—';
}

function channelView(ch) {
  const kind = typeof ch === 'string' ? ch : ch?.kind ?? Object.keys(ch ?? {})[0];
  const inKind = ch?.kind === 'InKind' ? ch : ch?.InKind;
  if (kind === 'InKind' && inKind)
    return h('span', null, enumLabel('channel', 'InKind'), ' — ', inKind.description, h('br'), h('span', { class: 'muted small' }, t('channel.valuation'), ' '), hexSpan(typeof inKind.valuation_evidence === 'string' ? inKind.valuation_evidence : toHex(inKind.valuation_evidence)));
  return enumLabel('channel', kind);
}

function renderDetails(el, { view, claim, viewError, bundle, receipt, charity, recordId }) {
  let rows;
  if (bundle) {
    const p = bundle.record.body.payload;
    rows = [
      [t('d.amount'), h('span', { class: 'amount', dataset: { testid: 'amount' } }, yuan(p.amount))],
      [t('d.receipt'), p.receipt],
      [t('d.charity'), h('span', null, link(`/charity/${charity}`, bundle.signer?.name ?? charity), bundle.signer?.uscc ? h('span', { class: 'muted small' }, ` USCC ${bundle.signer.uscc}`) : null)],
      [t('d.date'), utc(bundle.time)],
      [t('d.channel'), channelView(p.channel)],
      [t('d.fund'), fundView(p.fund)],
      [t('d.restricted'), p.restricted ? t('yes.restricted') : t('no.unrestricted')],
      [t('d.pledge'), p.pledge ?? t('none')],
      [t('d.donor'), hexSpan(toHex(p.donor), { full: true })],
      [t('d.block'), h('span', null, link(`/block/${bundle.height}`, `#${bundle.height}`), ` · ${t('d.log_index')} ${bundle.logIndex}`)],
      [t('d.record_id'), link(`/record/${toHex(bundle.id)}`, hexSpan(toHex(bundle.id), { full: true }))],
      [t('d.created'), utc(bundle.record.body.created)],
    ];
  } else if (claim?.payload?.RecordDonation) {
    const p = claim.payload.RecordDonation;
    rows = [
      [t('d.amount'), h('span', { class: 'amount', dataset: { testid: 'amount' } }, yuan(p.amount))],
      [t('d.receipt'), p.receipt],
      [t('d.charity'), memberLink(claim.signer)],
      [t('d.date'), utc(claim.time)],
      [t('d.channel'), channelView(p.channel)],
      [t('d.fund'), fundView(p.fund)],
      [t('d.restricted'), p.restricted ? t('yes.restricted') : t('no.unrestricted')],
      [t('d.pledge'), p.pledge ?? t('none')],
      [t('d.donor'), hexSpan(p.donor, { full: true })],
      [t('d.block'), link(`/block/${claim.height}`, `#${claim.height}`)],
      [t('d.record_id'), link(`/record/${claim.id}`, hexSpan(claim.id, { full: true }))],
    ];
  } else {
    rows = [
      [t('d.receipt'), receipt],
      [t('d.charity'), link(`/charity/${charity}`, hexSpan(charity))],
      [t('d.record_id'), link(`/record/${recordId}`, hexSpan(recordId, { full: true }))],
    ];
  }
  replace(
    el,
    h('div', { class: 'card-head' }, h('h2', null, t('donation.details')), sourceBadge(!!bundle)),
    bundle ? null : h('p', { class: 'muted small' }, t('donation.details.unverified')),
    viewError ? errorBox(viewError, t('donation.view_failed')) : null,
    viewError && !view ? h('p', { class: 'muted small' }, t('donation.located_by_scan')) : null,
    kv(rows),
    view && view.refunded > 0 ? h('p', { class: 'muted small' }, t('donation.refunded.server', { amount: yuan(view.refunded) })) : null,
  );
}

// ---------------------------------------------------------------------------------------------
// QR code, print, download

function pageUrl({ charity, receipt, recordId, genesisHash }) {
  const base = `${location.origin}${location.pathname}`;
  const q = new URLSearchParams();
  if (genesisHash) q.set('g', genesisHash);
  if (recordId) q.set('id', recordId);
  return `${base}#/donation/${charity}/${encodeURIComponent(receipt)}?${q}`;
}

async function renderQr(el, { charity, receipt, recordId, genesisHash, bundleText, verified, ctx }) {
  const url = pageUrl({ charity, receipt, recordId, genesisHash });
  const img = h('img', { class: 'qr', alt: t('qr.alt'), width: 200, height: 200, dataset: { testid: 'qr' } });
  try {
    img.src = await QRCode.toDataURL(url, { errorCorrectionLevel: 'M', margin: 1, width: 400, color: { dark: '#0f2537', light: '#ffffff' } });
  } catch {
    /* a URL too long for a QR code: the link below still works */
  }
  if (!ctx.alive()) return;
  replace(
    el,
    h('h2', null, t('qr.title')),
    h('div', { class: 'qr-row' }, img, h('div', null, h('p', { class: 'small' }, t('qr.body')), h('p', { class: 'small muted' }, t('qr.g'), ' ', h('code', null, short(genesisHash ?? '', 12, 6))))),
    h('p', { class: 'qr-url small' }, h('a', { href: url, class: 'mono' }, url)),
    h(
      'div',
      { class: 'btns' },
      h('button', { type: 'button', class: 'btn', onclick: () => window.print() }, t('qr.print')),
      h('button', { type: 'button', class: 'btn', onclick: () => navigator.clipboard?.writeText(url) }, t('qr.copy')),
      bundleText
        ? h('button', { type: 'button', class: 'btn', title: verified ? '' : t('bundle.download.unverified'), onclick: () => download(`shanlian-receipt-${receipt}.json`, bundleText) }, t('bundle.download'))
        : null,
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// The fund flow (verified trace only)

/** The distinct outflows of the verified steps, in the order first named. */
function outflowsOf(traced) {
  if (!traced) return [];
  const recs = new Map(traced.records.map((r) => [toHex(r.id), r]));
  const out = new Map();
  for (const s of traced.steps) {
    if (s.what.kind !== 'spent') continue;
    const idHex = toHex(s.what.outflow);
    if (!out.has(idHex)) out.set(idHex, { idHex, ...recs.get(idHex), fromDonation: 0n, funds: new Set() });
    const o = out.get(idHex);
    o.fromDonation += s.amount;
    o.funds.add(JSON.stringify(plain(s.fund)));
    o.kind = s.what.outflowKind;
    o.to = s.what.to;
    o.followed = s.what.followed;
  }
  return [...out.values()];
}

function fundText(fund) {
  const f = fundOf(fund);
  if (f.kind === 'Project') return `${t('fund.project')} ${f.id}`;
  if (f.kind === 'General') return t('fund.general');
  return t('fund.welfare');
}

const CATEGORY_COLOR = { CharitableActivity: COLORS.activity, Management: COLORS.management, Fundraising: COLORS.fundraising };

const clip = (s, n = 40) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** Nodes and links of the Sankey from the verified steps (see the page's legend). */
export function flowGraph(traced) {
  const recs = new Map(traced.records.map((r) => [toHex(r.id), r]));
  const nodes = new Map();
  const links = [];
  const node = (id, label, color) => {
    if (!nodes.has(id)) nodes.set(id, { id, label, color });
    return id;
  };
  const root = node('donation', t('flow.node.donation'), COLORS.donation);
  const parents = [root];
  for (const s of traced.steps) {
    const parent = parents[s.depth] ?? root;
    const w = s.what;
    if (w.kind === 'spent') {
      const idHex = toHex(w.outflow);
      const r = recs.get(idHex);
      const p = r?.record.body.payload;
      if (w.outflowKind === 'Disbursement' && p) {
        const cat = p.category.kind;
        const c = node(`${parent}/cat/${cat}`, enumLabel('category', cat), CATEGORY_COLOR[cat]);
        links.push({ source: parent, target: c, value: s.amount });
        const rn = node(`rec/${idHex}`, clip(p.purpose), CATEGORY_COLOR[cat]);
        links.push({ source: c, target: rn, value: s.amount });
      } else if (w.to !== null) {
        const hop = node(`hop/${idHex}`, `${enumLabel('payload', p?.kind ?? w.outflowKind)} → ${w.to}${w.followed ? '' : ` (${t('flow.not_followed')})`}`, COLORS.grant);
        links.push({ source: parent, target: hop, value: s.amount });
        if (w.followed) parents[s.depth + 1] = hop;
      } else {
        const label = p?.kind === 'AllocateWelfareFund' ? `${enumLabel('welfare', p.purpose.kind)} — ${p.recipient.name ?? p.recipient.project ?? ''}` : enumLabel('payload', p?.kind ?? w.outflowKind);
        const rn = node(`rec/${idHex}`, clip(label), COLORS.grant);
        links.push({ source: parent, target: rn, value: s.amount });
      }
    } else if (w.kind === 'refunded') {
      links.push({ source: parent, target: node(`${parent}/refunded`, t('flow.node.refunded'), COLORS.refunded), value: s.amount });
    } else {
      const where = s.depth === 0 ? '' : ` (${fundText(s.fund)})`;
      links.push({ source: parent, target: node(`${parent}/nss`, `${t('flow.node.nss', { height: traced.asOf })}${where}`, COLORS.unspent), value: s.amount });
    }
  }
  return { nodes: [...nodes.values()], links: mergeLinks(links) };
}

function renderFlow(el, ctx, traced, view) {
  if (!traced) {
    replace(
      el,
      h('h2', null, t('flow.title')),
      h('div', { class: 'banner bad inline', dataset: { testid: 'flow-refused' } }, t('flow.refused')),
      view?.flow ? h('p', { class: 'muted small' }, t('flow.refused.server')) : null,
    );
    return;
  }
  const { nodes, links } = flowGraph(traced);
  // Where each fen ended: hops (grants followed into a project) are not ends; their steps are.
  const ends = traced.steps.filter((s) => !(s.what.kind === 'spent' && s.what.followed));
  const sum = (kind) => ends.filter((s) => s.what.kind === kind).reduce((n, s) => n + s.amount, 0n);
  const depth = Math.max(...traced.steps.map((s) => s.depth)) + 1;
  const height = Math.max(260, Math.min(640, 90 + nodes.length * 34));
  replace(
    el,
    h('div', { class: 'card-head' }, h('h2', null, t('flow.title')), sourceBadge(true)),
    h('p', { class: 'small' }, t('flow.intro', { height: traced.asOf })),
    h(
      'div',
      { class: 'flow-totals' },
      h('span', { class: 'pill spent' }, t('flow.spent'), ' ', yuan(sum('spent'))),
      h('span', { class: 'pill refunded' }, t('flow.refunded'), ' ', yuan(sum('refunded'))),
      h('span', { class: 'pill nss' }, t('flow.nss', { height: traced.asOf }), ' ', yuan(sum('not_shown_spent'))),
      depth > 1 ? h('span', { class: 'pill' }, t('flow.hops', { n: depth - 1 })) : null,
    ),
    chart(ctx, (width) => sankeyOption(nodes, links, { width }), { height, testid: 'sankey', label: t('flow.title') }),
    h('p', { class: 'muted small' }, t('flow.nss.explain', { height: traced.asOf })),
  );
}

// ---------------------------------------------------------------------------------------------
// The outflows, from the verified trace's own records

function recipientView(p) {
  switch (p.kind) {
    case 'RecordDisbursement':
      if (p.recipient.kind === 'Person') return h('span', null, t('recipient.person'), ' ', hexSpan(toHex(p.recipient.commitment)));
      return h('span', null, p.recipient.name, p.recipient.uscc ? h('span', { class: 'muted small' }, ` USCC ${p.recipient.uscc}`) : null);
    case 'TransferGrant':
      return h('span', null, t('fund.project'), ' ', link(`/project/${encodeURIComponent(p.to)}`, p.to));
    case 'AllocateWelfareFund':
      return p.recipient.kind === 'Project'
        ? h('span', null, t('fund.project'), ' ', link(`/project/${encodeURIComponent(p.recipient.project)}`, p.recipient.project))
        : h('span', null, t('recipient.programme'), ' ', p.recipient.name);
    default:
      return '—';
  }
}

function renderOutflows(el, outflows, checks, traced) {
  if (!traced) {
    replace(el, h('h2', null, t('outflows.title')), h('p', { class: 'muted' }, t('outflows.need_trace')));
    return;
  }
  const evidenceIndex = new Map(); // evidence hash hex → [outflow id, kind]
  const rows = outflows.map((o) => {
    const p = o.record.body.payload;
    const ev = p.kind === 'RecordDisbursement' ? p.evidence : [];
    for (const e of ev) evidenceIndex.set(toHex(e.hash), { id: o.idHex, kind: e.kind.kind });
    const ok = checks.get(o.idHex);
    return h(
      'article',
      { class: 'outflow', dataset: { testid: 'outflow', id: o.idHex } },
      h(
        'header',
        null,
        h('span', { class: 'outflow-kind' }, p.kind === 'RecordDisbursement' ? enumLabel('category', p.category.kind) : enumLabel('payload', p.kind)),
        h('span', { class: 'outflow-amount' }, t('outflow.from_donation', { amount: yuan(o.fromDonation) })),
        ok === true ? badge('ok', `✓ ${t('outflow.bundle_ok')}`) : ok === false ? badge('bad', `✗ ${t('outflow.bundle_bad')}`) : badge('warn', t('outflow.bundle_unchecked')),
      ),
      kv([
        [t('o.purpose'), p.kind === 'AllocateWelfareFund' ? enumLabel('welfare', p.purpose.kind) : p.purpose ?? '—'],
        [t('o.recipient'), recipientView(p)],
        [t('o.total'), yuan(p.amount)],
        [t('o.from'), [...o.funds].map((f) => fundText(JSON.parse(f))).join(', ')],
        p.milestone ? [t('o.milestone'), p.milestone] : null,
        [t('o.block'), h('span', null, link(`/block/${o.height}`, `#${o.height}`), ` · ${utc(o.time)}`)],
        [t('o.signer'), o.signer?.name ?? t('unknown')],
        [
          t('o.evidence'),
          ev.length
            ? h('ul', { class: 'evidence' }, ev.map((e) => h('li', null, h('span', { class: 'ev-kind' }, enumLabel('evidence', e.kind.kind)), ' ', hexSpan(toHex(e.hash), { full: true }))))
            : t('o.no_evidence'),
        ],
        [t('o.record'), link(`/record/${o.idHex}`, hexSpan(o.idHex))],
      ]),
    );
  });
  // A document the donor has: does its blake3 match an evidence hash above? (Computed here.)
  const result = h('p', { class: 'small', dataset: { testid: 'evidence-result' } });
  const picker = h('input', {
    type: 'file',
    onchange: async (e) => {
      const f = e.target.files?.[0];
      if (!f) return;
      const hash = toHex(blake3(new Uint8Array(await f.arrayBuffer())));
      const hit = evidenceIndex.get(hash);
      replace(
        result,
        hit
          ? h('span', { class: 'ok-text' }, '✓ ', t('evidence.match', { name: f.name, kind: enumLabel('evidence', hit.kind), id: short(hit.id, 8, 4) }))
          : h('span', { class: 'bad-text' }, '✗ ', t('evidence.nomatch', { name: f.name })),
        h('br'),
        h('span', { class: 'muted' }, 'blake3 '),
        hexSpan(hash, { full: true }),
      );
    },
  });
  replace(
    el,
    h('div', { class: 'card-head' }, h('h2', null, t('outflows.title')), sourceBadge(true)),
    h('p', { class: 'small muted' }, t('outflows.intro')),
    rows.length ? h('div', { class: 'outflow-list' }, rows) : h('p', { class: 'muted' }, t('outflows.none')),
    rows.length && evidenceIndex.size ? h('div', { class: 'evidence-check' }, h('label', null, t('evidence.check'), ' ', picker), result) : null,
  );
}

// ---------------------------------------------------------------------------------------------
// Corrections and findings

function renderAnnotations(el, list, verified) {
  if (list === null) {
    replace(el, h('h2', null, t('donation.annotations')), h('p', { class: 'muted' }, t('annotations.unavailable')));
    return;
  }
  replace(
    el,
    h('h2', null, t('donation.annotations')),
    list.length === 0
      ? h('p', { class: 'muted' }, t('annotations.none'))
      : list.map((a) => {
          const v = verified.get(a.id);
          const p = v ? plain(v.record.body.payload) : a.payload[a.kind];
          const body =
            a.kind === 'Correction'
              ? h('p', null, t('annotation.correction', { field: p.field, corrected: p.corrected }), h('br'), h('span', { class: 'muted' }, p.reason))
              : h('p', null, badge(String(p.severity?.kind ?? p.severity).toLowerCase(), enumLabel('severity', p.severity?.kind ?? p.severity)), ' ', p.text);
          return h(
            'article',
            { class: `annotation ${a.kind.toLowerCase()}`, dataset: { testid: 'annotation' } },
            h('header', null, h('b', null, enumLabel('payload', a.kind)), ' · ', a.signer?.name ?? '', ' · ', utc(a.time), ' ', sourceBadge(!!v)),
            body,
            h('p', { class: 'small' }, link(`/record/${a.id}`, t('annotation.open'))),
          );
        }),
  );
}

// ---------------------------------------------------------------------------------------------
// The donor's own check (identity and salt never leave the browser)

function renderDonor(el, payload, verified, recordId) {
  const idInput = h('input', { type: 'text', name: 'identity', autocomplete: 'off', spellcheck: 'false', placeholder: t('donor.identity.ph'), dataset: { testid: 'donor-identity' } });
  const saltInput = h('input', { type: 'text', name: 'salt', autocomplete: 'off', spellcheck: 'false', class: 'mono', placeholder: t('donor.salt.ph'), dataset: { testid: 'donor-salt' } });
  const out = h('div', { class: 'donor-result', dataset: { testid: 'donor-result' }, 'aria-live': 'polite' });
  const others = h('div', { class: 'donor-others' });
  const form = h(
    'form',
    {
      class: 'donor-form',
      onsubmit: async (e) => {
        e.preventDefault();
        const identity = idInput.value.trim();
        const saltHex = saltInput.value.replace(/\s+/g, '').toLowerCase();
        replace(others);
        if (!identity || !HEX64.test(saltHex)) {
          out.dataset.result = 'invalid';
          replace(out, h('p', { class: 'bad-text' }, t('donor.invalid')));
          return;
        }
        const mine = toHex(commitment(identity, fromHex(saltHex)));
        const donor = payload ? (typeof payload.donor === 'string' ? payload.donor : toHex(payload.donor)) : null;
        const match = donor !== null && mine === donor.toLowerCase();
        out.dataset.result = match ? 'match' : 'mismatch';
        replace(
          out,
          h('p', { class: match ? 'ok-text' : 'bad-text' }, match ? '✓ ' : '✗ ', match ? t('donor.match') : t('donor.mismatch')),
          match && !verified ? h('p', { class: 'small muted' }, t('donor.match.unverified')) : null,
          h('p', { class: 'small muted' }, t('donor.commitment'), ' ', hexSpan(mine, { full: true })),
        );
        // The commitment is public (it is in every donation record); only it is sent.
        try {
          const list = await api(`/donors/${mine}/donations?limit=50`);
          replace(
            others,
            h('h3', null, t('donor.others'), ' ', sourceBadge(false)),
            list.items.length === 0
              ? h('p', { class: 'muted' }, t('donor.others.none'))
              : h(
                  'ul',
                  { class: 'plain-list', dataset: { testid: 'donor-others' } },
                  list.items.map((d) =>
                    h(
                      'li',
                      null,
                      link(`/donation/${d.charity.address}/${encodeURIComponent(d.receipt)}`, d.receipt),
                      ' · ',
                      d.charity.name ?? '',
                      ' · ',
                      yuan(d.amount),
                      ' · ',
                      utc(d.time),
                      d.record.id === recordId ? h('span', { class: 'muted' }, ` (${t('donor.this')})`) : null,
                    ),
                  ),
                ),
            h('p', { class: 'small muted' }, t('donor.others.note')),
          );
        } catch (err) {
          replace(others, errorBox(err, t('donor.others.failed')));
        }
      },
    },
    h('label', null, t('donor.identity'), idInput),
    h('label', null, t('donor.salt'), saltInput),
    h('button', { type: 'submit', class: 'btn primary', dataset: { testid: 'donor-submit' } }, t('donor.check')),
  );
  replace(el, h('h2', null, t('donor.title')), h('p', { class: 'small muted' }, t('donor.intro')), form, out, others);
}

// ---------------------------------------------------------------------------------------------
// The server's own summary, for comparison (never trusted)

function renderServerSummary(el, view, traced) {
  const children = [h('summary', null, t('server.summary'), ' ', sourceBadge(false))];
  if (!view) children.push(h('p', { class: 'muted' }, t('server.summary.none')));
  else {
    const mine = traced ? JSON.stringify(traceResultToJson(traced).steps.map(norm)) : null;
    const theirs = JSON.stringify((view.flow ?? []).map(norm));
    children.push(
      h('p', null, mine === null ? t('server.summary.unchecked') : mine === theirs ? h('span', { class: 'ok-text' }, '✓ ', t('server.summary.agrees')) : h('span', { class: 'bad-text' }, '✗ ', t('server.summary.differs'))),
      kv([
        [t('server.amount'), yuan(view.amount)],
        [t('server.refunded'), yuan(view.refunded)],
        [t('server.position'), String(view.position)],
      ]),
      h('pre', { class: 'json small' }, JSON.stringify(view.flow, null, 2)),
    );
  }
  replace(el, ...children);
}

/** A step with its keys sorted, for comparing the server's JSON with the verifier's. */
function norm(step) {
  const sort = (o) => (o && typeof o === 'object' && !Array.isArray(o) ? Object.fromEntries(Object.keys(o).sort().map((k) => [k, sort(o[k])])) : o);
  return sort(step);
}
