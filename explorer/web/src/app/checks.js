// Running the verifier (src/verify, unchanged) and reporting its result as the steps people see.
//
// verifyBundle and verifyTrace check in a fixed order and stop at the first failure, naming it
// (`code`, `at`). The page shows that order as steps: every step before the failing one passed
// (the verifier ran it), the failing one failed with the verifier's own code and step path, and
// the rest were not reached. Nothing here decides validity; it only maps the verifier's answer.

import { checkBundle, checkTrace, toHex } from '../verify/index.js';

/** The stages of a receipt bundle, in the verifier's order (§13.3). */
export const BUNDLE_STAGES = Object.freeze(['parse', 'validators', 'certificate', 'signature', 'inclusion', 'extension']);

/** Which stage a BundleError belongs to. */
export function bundleStage(err) {
  const at = err.at ?? '';
  if (err.code === 'bundle.malformed' || at === 'bundle') return 'parse';
  if (at.startsWith('extensions')) return 'extension';
  if (at.startsWith('validators')) return 'validators';
  if (at === 'block' || at.startsWith('block')) return 'certificate';
  if (at === 'record') return err.code === 'bundle.record_bytes' || err.code === 'bundle.record_signature' ? 'signature' : 'inclusion';
  return 'parse';
}

/** The stages of a trace proof, in the verifier's order (§10.7). */
export const TRACE_STAGES = Object.freeze(['parse', 'blocks', 'rows', 'records', 'subject', 'walk', 'outflows', 'unused']);

/** Which stage a TraceError belongs to. */
export function traceStage(err) {
  const at = err.at ?? '';
  if (err.code === 'trace.malformed' || at === 'proof') return 'parse';
  if (err.code === 'trace.unused') return 'unused';
  if (at.startsWith('validators') || at.startsWith('blocks')) return 'blocks';
  if (at.startsWith('rows')) return 'rows';
  if (at.startsWith('records')) return 'records';
  if (at === 'subject') return 'subject';
  if (at.startsWith('trace: outflow')) return 'outflows';
  if (at === 'trace') return 'walk';
  return 'parse';
}

/**
 * Verifies a bundle and marks `steps` (stage → step of ui.Steps, any may be missing):
 * passes every stage before the failing one, fails that one, leaves the rest "not reached".
 * Returns the checkBundle result.
 */
export function reportBundle(genesis, bundle, steps, { notReached = '', describe = () => '' } = {}) {
  const r = checkBundle(genesis, bundle);
  const failed = r.ok ? null : bundleStage(r.error);
  const hasExtension = extensionCount(bundle) > 0;
  let reached = true;
  for (const stage of BUNDLE_STAGES) {
    const step = steps[stage];
    if (stage === failed) {
      step?.fail(r.error.code, r.error.at, r.error.detail);
      reached = false;
    } else if (!reached) step?.skip(notReached);
    else step?.pass(r.ok ? describe(stage === 'extension' && !hasExtension ? 'no-extension' : stage, r.value) ?? '' : '');
  }
  return r;
}

/** How many extensions a bundle (JSON text, object or value) carries; 0 if it cannot tell. */
function extensionCount(bundle) {
  try {
    const obj = typeof bundle === 'string' ? JSON.parse(bundle) : bundle;
    return Array.isArray(obj?.extensions) ? obj.extensions.length : 0;
  } catch {
    return 0;
  }
}

/** Same for a trace proof (checkTrace). */
export function reportTrace(genesis, proof, steps, { notReached = '', describe = () => '' } = {}) {
  const r = checkTrace(genesis, proof);
  const failed = r.ok ? null : traceStage(r.error);
  let reached = true;
  for (const stage of TRACE_STAGES) {
    const step = steps[stage];
    if (stage === failed) {
      step?.fail(r.error.code, r.error.at, r.error.detail);
      reached = false;
    } else if (!reached) step?.skip(notReached);
    else step?.pass(r.ok ? describe(stage, r.value) ?? '' : '');
  }
  return r;
}

/**
 * A decoded value of the verifier (Uint8Array, BigInt, enums as { kind, … }) as plain JSON-like
 * data for display: bytes as hex, BigInt as a decimal string.
 */
export function plain(v) {
  if (v instanceof Uint8Array) return toHex(v);
  if (typeof v === 'bigint') return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

/**
 * The extension step: the same record's bundle extended to the newest checkpoint (`?to=latest`),
 * verified in full. Passes when it verifies and holds the same record (`expectId`, hex) in the
 * same block; fails with the verifier's code and step otherwise. Returns the checkBundle result.
 */
export function reportExtended(genesis, bundle, step, { expectId, expectHeight, describe = () => '' } = {}) {
  const r = checkBundle(genesis, bundle);
  if (!r.ok) step.fail(r.error.code, `?to=latest › ${r.error.at}`, r.error.detail);
  else if (expectId && toHex(r.value.id) !== expectId) step.fail('bundle.other_record', '?to=latest › record', '');
  else if (expectHeight !== undefined && r.value.height !== BigInt(expectHeight)) step.fail('bundle.other_block', '?to=latest › block', '');
  else step.pass(describe(r.value) ?? '');
  return r;
}
