// Audits: auditors' attestations (a replay of the log up to a height, with a report hash) and
// findings about records.

import { h, replace, link, hexSpan } from '../dom.js';
import { t, enumLabel } from '../i18n.js';
import { api } from '../api.js';
import { utc } from '../format.js';
import { trust, genesisUsable } from '../trust.js';
import { reportBundle } from '../checks.js';
import { fromHex, ledgerMerkle, ProofError, toHex } from '../../verify/index.js';
import { card, kv, badge, sourceBadge, Steps } from '../ui.js';

/**
 * Checks one audit record in the browser: its receipt bundle (signed by the auditor, committed in
 * a certified block), and for an attestation, that the log it attests is a prefix of the log of
 * the checkpoint this browser verified (a consistency proof from the attested size).
 */
async function verifyAudit(rec, steps) {
  const sBundle = steps.add('audit.bundle', t('audits.step.bundle'));
  const sRole = steps.add('audit.role', t('audits.step.role'));
  const sLog = rec.kind === 'AuditAttestation' ? steps.add('audit.log', t('audits.step.log')) : null;
  await trust.ready;
  if (!genesisUsable()) {
    sBundle.fail('genesis.unavailable', 'genesis');
    sRole.skip(t('step.not_reached'));
    sLog?.skip(t('step.not_reached'));
    return;
  }
  let r;
  try {
    r = reportBundle(trust.genesis, await api(`/records/${rec.id}/bundle`), {});
  } catch (err) {
    sBundle.fail(err.code, 'GET bundle', err.message);
    sRole.skip(t('step.not_reached'));
    sLog?.skip(t('step.not_reached'));
    return;
  }
  if (!r.ok || toHex(r.value.id) !== rec.id) {
    if (r.ok) sBundle.fail('record.other_id', 'record');
    else sBundle.fail(r.error.code, r.error.at, r.error.detail);
    sRole.skip(t('step.not_reached'));
    sLog?.skip(t('step.not_reached'));
    return;
  }
  sBundle.pass(t('step.bundle.certificate.ok', { height: r.value.height, time: utc(r.value.time) }));
  if (r.value.signer?.role?.kind === 'Auditor') sRole.pass(r.value.signer.name);
  else sRole.fail('audit.not_auditor', 'signer', r.value.signer?.name ?? t('unknown'));
  if (!sLog) return;
  const p = r.value.record.body.payload; // the verified attestation
  const cp = ['first', 'consistent'].includes(trust.history.status) ? trust.history.verified : null;
  if (!cp) {
    sLog.skip(t('audits.step.log.no_checkpoint'));
    return;
  }
  const oldSize = BigInt(p.log_size);
  const newSize = BigInt(cp.log_size);
  try {
    if (oldSize > newSize) throw new ProofError('size', `attested log size ${oldSize} is above the checkpoint's ${newSize}`);
    const proof = oldSize === newSize ? { path: [] } : await api(`/proofs/consistency?from=${oldSize}&to=${newSize}`);
    if (oldSize === newSize) {
      if (toHex(p.log_root) !== cp.log_root) throw new ProofError('root_mismatch', 'two roots for one size');
    } else ledgerMerkle.verifyConsistency(oldSize, newSize, p.log_root, fromHex(cp.log_root), proof.path.map(fromHex));
    sLog.pass(t('audits.step.log.ok', { size: String(oldSize), height: cp.height }));
  } catch (err) {
    sLog.fail(err instanceof ProofError ? 'audit.log_inconsistent' : err.code ?? 'error', 'consistency', err.message);
  }
}

export async function auditsPage(ctx) {
  const items = [];
  let after = '';
  for (let i = 0; i < 10; i++) {
    const page = await api(`/audits?limit=200${after ? `&after=${encodeURIComponent(after)}` : ''}`);
    items.push(...page.items);
    if (!page.next) break;
    after = page.next;
  }
  if (!ctx.alive()) return;
  const attestations = items.filter((r) => r.kind === 'AuditAttestation');
  const findings = items.filter((r) => r.kind === 'Finding');
  const targets = new Map();
  await Promise.all(
    [...new Set(findings.map((f) => f.payload.Finding.target))].map(async (id) => {
      try {
        targets.set(id, await api(`/records/${id}`));
      } catch {
        /* shown as an id */
      }
    }),
  );
  if (!ctx.alive()) return;
  replace(
    ctx.main,
    h('nav', { class: 'crumbs' }, link('/', t('nav.home')), ' › ', t('nav.audits')),
    h('h1', null, t('audits.title')),
    h('p', { class: 'muted' }, t('audits.intro'), ' ', sourceBadge(false)),
    h('h2', null, t('audits.attestations', { n: attestations.length })),
    attestations.length === 0
      ? h('p', { class: 'muted' }, t('empty'))
      : h(
          'div',
          { class: 'cards', dataset: { testid: 'attestations' } },
          attestations.map((a) => {
            const p = a.payload.AuditAttestation;
            return card(
              { class: 'audit-card' },
              h('header', { class: 'card-head' }, h('h3', null, a.signer?.name ?? '—'), badge('ok', t('audits.attestation'))),
              h('p', null, p.scope),
              kv([
                [t('audits.covers'), h('span', null, link(`/block/${p.height}`, `#${p.height}`), ` · ${t('audits.log_size', { n: p.log_size })}`)],
                [t('block.log_root'), hexSpan(p.log_root, { full: true })],
                [t('audits.findings_n'), String(p.findings)],
                [t('audits.report'), hexSpan(p.report, { full: true })],
                [t('audits.signed'), h('span', null, link(`/block/${a.height}`, `#${a.height}`), ` · ${utc(a.time)}`)],
                ['', link(`/record/${a.id}`, t('audits.verify'))],
              ]),
              auditSteps(a),
            );
          }),
        ),
    h('h2', null, t('audits.findings', { n: findings.length })),
    findings.length === 0
      ? h('p', { class: 'muted' }, t('empty'))
      : h(
          'div',
          { class: 'cards', dataset: { testid: 'findings' } },
          findings.map((f) => {
            const p = f.payload.Finding;
            const target = targets.get(p.target);
            const sev = p.severity;
            return card(
              { class: `finding-card sev-${String(sev).toLowerCase()}` },
              h('header', { class: 'card-head' }, h('h3', null, f.signer?.name ?? '—'), badge({ Info: 'muted', Minor: 'warn', Major: 'bad', Critical: 'bad' }[sev] ?? 'muted', enumLabel('severity', sev))),
              h('p', null, p.text),
              kv([
                [t('audits.target'), h('span', null, target ? `${enumLabel('payload', target.kind)} · ` : '', link(`/record/${p.target}`, hexSpan(p.target)))],
                [t('audits.signed'), h('span', null, link(`/block/${f.height}`, `#${f.height}`), ` · ${utc(f.time)}`)],
                ['', link(`/record/${f.id}`, t('audits.verify'))],
              ]),
              auditSteps(f),
            );
          }),
        ),
  );
}

function auditSteps(rec) {
  const steps = new Steps({ class: 'steps compact', dataset: { testid: 'audit-steps' } });
  verifyAudit(rec, steps);
  return h('div', { class: 'audit-verify' }, h('div', { class: 'group-label' }, t('audits.verified_here')), steps.el);
}
