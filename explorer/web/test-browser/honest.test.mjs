// (a) An honest server: the demo donor looks up receipt SZ-DEMO-2026-000000 through the form, sees
// every check pass and "verified", the Sankey drawn from the verified trace, and the donor check
// pass with the demo identity and salt. Then the other pages, screenshotted, the offline check of
// a downloaded bundle, and the English page.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ARTIFACTS, DEMO, checkPrerequisites, launchBrowser, lookUp, newContext, shot, startServer, steps, verdict, watchErrors } from './helpers.mjs';

let server;
let browser;
let context;
let page;
let errors;
const external = [];

before(async () => {
  checkPrerequisites();
  server = await startServer();
  browser = await launchBrowser();
  context = await newContext(browser);
  // every asset is local: nothing may be asked of another origin
  context.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(server.url) && !u.startsWith('data:') && !u.startsWith('blob:') && u !== 'about:blank') external.push(u);
  });
  page = await context.newPage();
  errors = watchErrors(page);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('home: overview, search, lookup form, live blocks', async () => {
  await page.goto(`${server.url}/#/`);
  await page.locator('[data-testid="ov-donations"]').waitFor();
  assert.match(await page.locator('[data-testid="ov-donations"]').innerText(), /¥[\d,]+\.\d\d/);
  await page.locator('[data-testid="feed"] li').first().waitFor();
  // the genesis is pinned on first use and a checkpoint remembered
  await page.locator('[data-testid="genesis-chip"][data-status="first-use"]').waitFor();
  await page.locator('[data-testid="history-chip"][data-status="first"]').waitFor({ timeout: 30_000 });
  const pinned = await page.evaluate(() => JSON.parse(localStorage.getItem('shanlian.genesis.pin')));
  const served = await (await fetch(`${server.url}/api/v1/genesis`)).json();
  assert.equal(pinned.hash, served.hash);
  // a live block arrives over SSE
  const first = await page.locator('[data-testid="feed"] li').first().getAttribute('data-height');
  await page.waitForFunction((h) => Number(document.querySelector('[data-testid="feed"] li')?.dataset.height) > Number(h), first, { timeout: 15_000 });
  await shot(page, 'home');
});

test('(a) the demo donation: every step passes, verified, Sankey, donor check', async () => {
  await lookUp(page, server.url, DEMO.charity, DEMO.receipt);
  assert.equal(await verdict(page), 'verified');
  const all = await steps(page);
  assert.ok(all.length >= 20, `expected the full list of steps, got ${all.length}`);
  for (const s of all) assert.equal(s.status, 'pass', `step ${s.step} is ${s.status} (${s.at}: ${s.code})`);
  for (const id of ['genesis', 'history', 'record.signature', 'record.inclusion', 'record.certificate', 'record.extension', 'record.matches', 'trace.walk', 'trace.records', 'trace.outflows'])
    assert.ok(all.some((s) => s.step === id), `step ${id} is listed`);
  assert.ok(all.some((s) => s.step.startsWith('outflow.')), 'each outflow bundle is a step');
  assert.match(await page.locator('[data-testid="verdict"]').innerText(), /已验证/);

  // the Sankey: an SVG with drawn paths and the donation's node
  const sankey = page.locator('[data-testid="sankey"] svg');
  await sankey.waitFor();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="sankey"] svg path').length >= 3);
  assert.match(await page.locator('[data-testid="sankey"]').innerText(), /本笔捐赠/);
  // the outflow's details come from the verified record: purpose and evidence hashes
  const outflow = page.locator('[data-testid="outflow"]').first();
  assert.match(await outflow.innerText(), /meal subsidies/);
  assert.match(await outflow.innerText(), /[0-9a-f]{64}/);
  // the correction is shown beside the record, and was verified
  assert.match(await page.locator('[data-testid="annotations"]').innerText(), /Bank/);
  // the QR code, with g= in its link
  assert.match(await page.locator('[data-testid="qr"]').getAttribute('src'), /^data:image\/png;base64,/);
  assert.match(await page.locator('.qr-url a').getAttribute('href'), /[?&]g=[0-9a-f]{64}/);

  // the donor's own check: identity and salt stay in the browser
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  await page.locator('[data-testid="donor-identity"]').fill(DEMO.identity);
  await page.locator('[data-testid="donor-salt"]').fill(DEMO.salt);
  await page.locator('[data-testid="donor-submit"]').click();
  await page.locator('[data-testid="donor-result"][data-result="match"]').waitFor();
  await page.locator('[data-testid="donor-others"] li').first().waitFor();
  assert.ok(requests.every((u) => !u.includes(DEMO.identity) && !u.includes(DEMO.salt)), 'identity and salt never leave the browser');
  // a wrong salt does not match
  await page.locator('[data-testid="donor-salt"]').fill(DEMO.salt.replace(/.$/, '0'));
  await page.locator('[data-testid="donor-submit"]').click();
  await page.locator('[data-testid="donor-result"][data-result="mismatch"]').waitFor();
  await page.locator('[data-testid="donor-salt"]').fill(DEMO.salt);
  await page.locator('[data-testid="donor-submit"]').click();
  await page.locator('[data-testid="donor-result"][data-result="match"]').waitFor();
  await shot(page, 'donation');
});

test('a donation that reaches another charity through a grant: two-level Sankey', async () => {
  await page.goto(`${server.url}/#/donation/${DEMO.charity}/${DEMO.grantReceipt}`);
  assert.equal(await verdict(page), 'verified');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="sankey"] svg path').length >= 6);
  const text = await page.locator('[data-testid="sankey"]').innerText();
  assert.match(text, /SZRC-2026-AID/);
  assert.match(text, /未显示支出/);
  await shot(page, 'donation-grant');
});

test('a link whose g= names another genesis is refused', async () => {
  const wrong = 'ab'.repeat(32);
  await page.goto(`${server.url}/#/donation/${DEMO.charity}/${DEMO.receipt}?g=${wrong}`);
  assert.equal(await verdict(page), 'failed');
  const all = await steps(page);
  assert.deepEqual(all.find((s) => s.step === 'genesis'), { step: 'genesis', status: 'fail', code: 'genesis.link_mismatch', at: 'g=' });
});

test('first use through a link naming another genesis: nothing pinned, nothing verified', async () => {
  const fresh = await newContext(browser);
  const p = await fresh.newPage();
  await p.goto(`${server.url}/#/donation/${DEMO.charity}/${DEMO.receipt}?g=${'cd'.repeat(32)}`);
  await p.locator('[data-testid="genesis-link-mismatch"]').waitFor();
  assert.equal(await verdict(p), 'failed');
  const genesis = (await steps(p)).find((s) => s.step === 'genesis');
  assert.equal(genesis.code, 'genesis.link_mismatch');
  assert.equal(await p.evaluate(() => localStorage.getItem('shanlian.genesis.pin')), null);
  await fresh.close();
});

test('a pinned genesis that changes is refused loudly until the user decides', async () => {
  const fresh = await newContext(browser);
  const p = await fresh.newPage();
  await p.goto(`${server.url}/#/`);
  await p.locator('[data-testid="genesis-chip"][data-status="first-use"]').waitFor();
  // as if this browser had pinned another chain's genesis before
  await p.evaluate(() => localStorage.setItem('shanlian.genesis.pin', JSON.stringify({ hash: 'ef'.repeat(32), chain_id: 'other', since: 0 })));
  await p.goto(`${server.url}/#/donation/${DEMO.charity}/${DEMO.receipt}`);
  await p.reload();
  await p.locator('[data-testid="genesis-changed"]').waitFor();
  assert.equal(await verdict(p), 'failed');
  const all = await steps(p);
  assert.equal(all.find((s) => s.step === 'genesis').code, 'genesis.changed');
  assert.ok(all.filter((s) => s.step.startsWith('record.') || s.step.startsWith('trace.')).every((s) => s.status === 'skip'), 'nothing is verified against an unpinned genesis');
  await shot(p, 'genesis-changed');
  await fresh.close();
});

test('offline: a downloaded receipt bundle verifies from a file with the cached genesis', async () => {
  const id = (await (await fetch(`${server.url}/api/v1/donations/${DEMO.charity}/${DEMO.receipt}`)).json()).record.id;
  const bundle = await (await fetch(`${server.url}/api/v1/records/${id}/bundle?to=latest`)).text();
  const good = join(ARTIFACTS, 'receipt-bundle.json');
  writeFileSync(good, bundle);
  const bad = JSON.parse(bundle);
  bad.record.proof.path[0] = (bad.record.proof.path[0][0] === '0' ? '1' : '0') + bad.record.proof.path[0].slice(1);
  await page.goto(`${server.url}/#/verify`);
  await page.locator('[data-testid="offline-genesis"] code').waitFor();
  // nothing is fetched while verifying
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  await page.locator('[data-testid="file-input"]').setInputFiles([
    { name: 'receipt-bundle.json', mimeType: 'application/json', buffer: readFileSync(good) },
  ]);
  await page.locator('[data-testid="offline-result"][data-verdict="verified"]').waitFor();
  await page.locator('[data-testid="file-input"]').setInputFiles([{ name: 'tampered.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(bad)) }]);
  await page.locator('[data-testid="offline-result"][data-verdict="failed"]').waitFor();
  const failed = await steps(page, '[data-testid="offline-result"][data-verdict="failed"]');
  assert.deepEqual(failed.find((s) => s.status === 'fail'), { step: 'record.inclusion', status: 'fail', code: 'bundle.inclusion', at: 'record' });
  assert.deepEqual(requests, []);
  await shot(page, 'verify-offline');
});

test('charity, project, lottery, blocks, block, audits, record, trust pages', async () => {
  await page.goto(`${server.url}/#/charity/${DEMO.charity}`);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="chart-years"] svg path').length > 3);
  await page.locator('[data-testid="chart-art60"] svg').waitFor();
  assert.match(await page.locator('main').innerText(), /慈善法第六十条/);
  await shot(page, 'charity');

  await page.goto(`${server.url}/#/project/SZCF-2026-ELDER`);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="chart-project"] svg path').length > 2);
  assert.match(await page.locator('[data-testid="project-raised"]').innerText(), /¥/);
  await shot(page, 'project');

  await page.goto(`${server.url}/#/lottery`);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="sankey-lottery"] svg path').length > 8);
  const share = page.locator('[data-testid="elderly-share"]').first();
  assert.equal(await share.getAttribute('data-verdict'), 'pass');
  assert.match(await page.locator('[data-testid="sankey-lottery"]').innerText(), /扶老/);
  assert.match(await page.locator('[data-testid="games"]').innerText(), /一致/);
  // The whole path: allocations to projects followed by their verified trace proofs.
  assert.match(await page.locator('[data-testid="lottery-path"]').innerText(), /1 笔拨付中 1 笔/);
  assert.match(await page.locator('[data-testid="sankey-lottery"]').innerText(), /SZCF-2026-ELDER/);
  await shot(page, 'lottery');

  await page.goto(`${server.url}/#/blocks`);
  await page.locator('[data-testid="blocks"] tbody tr').first().waitFor();
  await shot(page, 'blocks');

  await page.goto(`${server.url}/#/block/5`);
  await page.locator('[data-testid="block-steps"] [data-step="block.records"][data-status="pass"]').waitFor();
  assert.ok((await steps(page, '[data-testid="block-steps"]')).every((s) => s.status === 'pass'));
  await shot(page, 'block');

  await page.goto(`${server.url}/#/audits`);
  await page.locator('[data-testid="audit-steps"] [data-step="audit.log"][data-status="pass"]').waitFor({ timeout: 30_000 });
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="audit-steps"] li.step')].every((s) => s.dataset.status === 'pass'));
  await shot(page, 'audits');

  const id = (await (await fetch(`${server.url}/api/v1/donations/${DEMO.charity}/${DEMO.receipt}`)).json()).record.id;
  await page.goto(`${server.url}/#/record/${id}`);
  await page.locator('[data-testid="record-steps"] [data-step="record.id"][data-status="pass"]').waitFor();
  assert.ok((await steps(page, '[data-testid="record-steps"]')).every((s) => s.status === 'pass'));
  await shot(page, 'record');

  await page.goto(`${server.url}/#/trust`);
  await page.locator('[data-testid="genesis-hash"]').waitFor();
  assert.match(await page.locator('[data-testid="genesis-hash"]').innerText(), /^[0-9a-f]{64}$/);
  await shot(page, 'trust');
});

test('the demo reward draw: recomputed in the browser; the demo donor checks its entry', async () => {
  const { blake3, drawEntryCommitment, ledgerMerkle, toHex } = await import('../src/verify/index.js');
  const utf8 = (x) => new TextEncoder().encode(x);
  // The demo's 200 entrants (ledger/src/demo.rs draw_entrants): donor identities, salts from a label.
  const salts = Array.from({ length: 200 }, (_, i) => blake3(utf8(`shanlian demo draw entry ${i}`)));
  const commits = salts.map((s, i) => drawEntryCommitment(`4403011990${String(i).padStart(8, '0')}`, s));
  await page.goto(`${server.url}/#/lottery`);
  await page.locator('[data-testid="draws"] a').first().click();
  await page.locator('[data-testid="draw-verified"]').waitFor({ timeout: 60_000 });
  assert.ok((await steps(page, '[data-testid="draw-steps"]')).every((s) => s.status === 'pass'));
  const winners = (await page.locator('[data-testid="draw-winners"]').innerText()).match(/[0-9]+/g).map(Number);
  assert.equal(winners.length, 5);
  const check = async (i, entry) => {
    await page.fill('input[name=entry]', entry);
    await page.fill('input[name=salt]', toHex(salts[i]));
    await page.fill('input[name=index]', String(i));
    await page.fill('input[name=path]', ledgerMerkle.inclusionPath(commits, i).map(toHex).join(';'));
    await page.locator('[data-testid="entry-check"]').click();
    return page.locator('[data-testid="entry-result"]').innerText();
  };
  const mine = await check(0, DEMO.identity);
  assert.match(mine, /第 0 条/);
  assert.match(mine, winners.includes(0) ? /中奖/ : /未中奖/);
  const w = winners[0];
  assert.match(await check(w, `4403011990${String(w).padStart(8, '0')}`), /中奖！第 1 位/);
  assert.match(await check(0, 'someone else'), /不在/);
  await shot(page, 'draw');
});

test('English, remembered across visits', async () => {
  await page.goto(`${server.url}/#/`);
  await page.locator('[data-testid="lang"]').click();
  await page.locator('h1', { hasText: 'Check every donation yourself' }).waitFor();
  assert.equal(await page.evaluate(() => localStorage.getItem('shanlian.lang')), 'en');
  await page.goto(`${server.url}/#/donation/${DEMO.charity}/${DEMO.grantReceipt}`);
  assert.equal(await verdict(page), 'verified');
  assert.match(await page.locator('[data-testid="verdict"]').innerText(), /Verified/);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="sankey"] svg path').length >= 6);
  await shot(page, 'donation-en');
  // back to Chinese for anything after
  await page.locator('[data-testid="lang"]').click();
  await page.locator('[data-testid="verdict"]').waitFor();
});

test('a phone-sized screen', async () => {
  const phone = await newContext(browser, { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  const p = await phone.newPage();
  await p.goto(`${server.url}/#/donation/${DEMO.charity}/${DEMO.receipt}`);
  assert.equal(await verdict(p), 'verified');
  const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `the page scrolls sideways by ${overflow}px`);
  await p.waitForTimeout(700);
  await p.screenshot({ path: join(ARTIFACTS, 'donation-mobile.png'), fullPage: false });
  await phone.close();
});

test('the API documentation page (swagger-ui-dist) loads /api/openapi.json', async () => {
  await page.goto(`${server.url}/api/docs/`);
  await page.locator('.info .title', { hasText: 'Shanlian explorer API' }).waitFor({ timeout: 30_000 });
  await page.locator('.opblock-summary-path', { hasText: '/api/v1/records/{id}/trace' }).first().waitFor();
  await shot(page, 'api-docs');
});

test('no uncaught errors on any page, no request to another origin', () => {
  assert.deepEqual(errors, []);
  assert.deepEqual(external, []);
});
