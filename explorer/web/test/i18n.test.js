// The page's strings (src/app/i18n.js): every key the page uses exists in Chinese and English, and
// every placeholder of one language is in the other.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { STRINGS, ENUMS, t, enumLabel, setLang } from '../src/app/i18n.js';

const APP = fileURLToPath(new URL('../src/app/', import.meta.url));
const files = (dir) => readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : f.endsWith('.js') ? [join(dir, f)] : []));
const sources = files(APP).map((f) => [f, readFileSync(f, 'utf8')]);

// keys built at run time from these parts
const DYNAMIC = [
  ...['pending', 'first-use', 'match', 'changed', 'link-mismatch', 'error'].map((s) => `pin.${s}`),
  ...['pending', 'first', 'consistent', 'fork', 'invalid', 'behind', 'error', 'skipped', 'empty'].map((s) => `history.${s}`),
  ...['pass', 'fail', 'not_applicable'].map((s) => `verdict.${s}`),
  ...['charity', 'status', 'category'].map((s) => `filter.${s}.all`),
  ...['donations', 'grants_in', 'charitable_activity', 'management', 'fundraising', 'grants_out', 'refunds'].map((s) => `totals.${s}`),
  ...['parse', 'blocks', 'rows', 'records', 'subject', 'walk', 'outflows', 'unused'].map((s) => `step.trace.${s}`),
  ...['parse', 'validators', 'certificate', 'signature', 'inclusion', 'extension'].map((s) => `step.bundle.${s}`),
  ...['p1', 'p2', 'p3', 'p4', 'p5', 'n1', 'n2', 'n3', 'n4'].map((s) => `model.${s}`),
];

test('i18n: every key used by the page has both languages', () => {
  const used = new Set(DYNAMIC);
  for (const [, src] of sources) for (const m of src.matchAll(/\bt\('([^']+)'/g)) used.add(m[1]);
  assert.ok(used.size > 300, `found ${used.size} keys`);
  for (const key of used) {
    const entry = STRINGS[key];
    assert.ok(entry, `missing string ${key}`);
    assert.equal(entry.length, 2, key);
    assert.ok(entry[0] && entry[1], `empty string ${key}`);
  }
});

test('i18n: placeholders agree between the languages', () => {
  for (const [key, [zh, en]] of Object.entries(STRINGS)) {
    const names = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    assert.deepEqual(names(zh), names(en), key);
  }
});

test('i18n: every enum family used exists, with both languages', () => {
  for (const [, src] of sources) for (const m of src.matchAll(/enumLabel\('([a-zA-Z]+)'/g)) assert.ok(ENUMS[m[1]], `enum family ${m[1]}`);
  for (const [family, values] of Object.entries(ENUMS))
    for (const [v, pair] of Object.entries(values)) assert.ok(pair.length === 2 && pair[0] && pair[1], `${family}.${v}`);
});

test('i18n: t() fills placeholders and switches language', () => {
  setLang('zh');
  assert.equal(t('block.title', { height: 7 }), '区块 #7');
  assert.equal(enumLabel('welfare', 'Elderly'), '扶老');
  setLang('en');
  assert.equal(t('block.title', { height: 7 }), 'Block #7');
  assert.equal(enumLabel('welfare', 'Orphans'), 'Orphans');
  assert.equal(enumLabel('welfare', 'Unknown'), 'Unknown');
  setLang('zh');
});
