// (d) A fork: the page first visits an honest server and remembers its checkpoint; then a server
// of the same genesis but another history (`--tamper fork`) answers on the same origin (same port,
// same browser context, so the same localStorage). The page must say that this server shows a
// different history.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DEMO, checkPrerequisites, freePort, launchBrowser, newContext, shot, startServer, steps, verdict, watchErrors } from './helpers.mjs';

let browser;
let server;

before(async () => {
  checkPrerequisites();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('(d) a server showing another history of the same genesis: fork warning', async () => {
  const port = await freePort();
  const context = await newContext(browser);
  const page = await context.newPage();
  const errors = watchErrors(page);

  // 1. the honest server: the page pins the genesis and remembers a verified checkpoint
  server = await startServer({ port });
  await page.goto(`${server.url}/#/`);
  await page.locator('[data-testid="history-chip"][data-status="first"]').waitFor({ timeout: 30_000 });
  const key = await page.evaluate(() => Object.keys(localStorage).find((k) => k.startsWith('shanlian.checkpoint.')));
  const remembered = await page.evaluate((k) => JSON.parse(localStorage.getItem(k)), key);
  assert.ok(remembered.height >= 1 && /^[0-9a-f]{64}$/.test(remembered.header_hash));
  // a later visit to the same honest server is consistent and moves the checkpoint on
  await page.waitForTimeout(2500);
  await page.reload();
  await page.locator('[data-testid="history-chip"][data-status="consistent"]').waitFor({ timeout: 30_000 });
  const moved = await page.evaluate((k) => JSON.parse(localStorage.getItem(k)), key);
  assert.ok(moved.height >= remembered.height);
  await page.goto('about:blank');
  await server.stop();

  // 2. the fork, on the same origin; wait until it has reached the remembered height
  server = await startServer({ port, tamper: 'fork' });
  const deadline = Date.now() + 60_000;
  while ((await server.status()).height < moved.height) {
    assert.ok(Date.now() < deadline, 'the fork server reaches the remembered height');
    await new Promise((r) => setTimeout(r, 500));
  }
  await page.goto(`${server.url}/#/`);
  await page.locator('[data-testid="fork-warning"]').waitFor({ timeout: 30_000 });
  assert.equal(await page.locator('[data-testid="history-chip"]').getAttribute('data-status'), 'fork');
  const warning = await page.locator('[data-testid="fork-warning"]').innerText();
  assert.match(warning, /分叉/);
  assert.match(warning, new RegExp(moved.header_hash));
  // the same genesis: the pin still matches; the remembered checkpoint is kept, not replaced
  assert.equal(await page.locator('[data-testid="genesis-chip"]').getAttribute('data-status'), 'match');
  assert.deepEqual(await page.evaluate((k) => JSON.parse(localStorage.getItem(k)).header_hash, key), moved.header_hash);
  await shot(page, 'fork-warning');

  // a donation looked up on the fork is not "verified": the history step fails
  await page.goto(`${server.url}/#/donation/${DEMO.charity}/${DEMO.receipt}`);
  assert.equal(await verdict(page), 'failed');
  const history = (await steps(page)).find((s) => s.step === 'history');
  assert.equal(history.status, 'fail');
  assert.equal(history.code, 'history.fork');
  assert.match(await page.locator('[data-testid="verdict"]').innerText(), /history\.fork/);
  await page.locator('[data-testid="fork-warning"]').waitFor();
  await shot(page, 'fork-donation');
  assert.deepEqual(errors, []);
  await context.close();
});
