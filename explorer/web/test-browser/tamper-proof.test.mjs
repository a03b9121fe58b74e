// (b) A server that flips a byte in every inclusion proof it serves (`--tamper proof`): the page
// refuses the donation and names the failed step, the record's inclusion proof.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DEMO, checkPrerequisites, launchBrowser, lookUp, newContext, shot, startServer, steps, verdict, watchErrors } from './helpers.mjs';

let server;
let browser;

before(async () => {
  checkPrerequisites();
  server = await startServer({ tamper: 'proof' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('(b) --tamper proof: refused at record: bundle.inclusion', async () => {
  const page = await (await newContext(browser)).newPage();
  const errors = watchErrors(page);
  await lookUp(page, server.url, DEMO.charity, DEMO.receipt);
  assert.equal(await verdict(page), 'failed');
  const all = await steps(page);
  // the record's own bundle: everything up to the inclusion proof passes, the inclusion proof fails
  const byId = Object.fromEntries(all.map((s) => [s.step, s]));
  for (const id of ['genesis', 'record.parse', 'record.validators', 'record.certificate', 'record.signature'])
    assert.equal(byId[id].status, 'pass', `${id} passes`);
  assert.deepEqual(byId['record.inclusion'], { step: 'record.inclusion', status: 'fail', code: 'bundle.inclusion', at: 'record' });
  assert.equal(byId['record.extension'].status, 'skip');
  // the trace proof's rows are tampered too: refused, no Sankey drawn from it
  assert.equal(byId['trace.rows'].status, 'fail');
  assert.equal(byId['trace.rows'].code, 'trace.write_set');
  await page.locator('[data-testid="flow-refused"]').waitFor();
  assert.equal(await page.locator('[data-testid="sankey"]').count(), 0);
  // the verdict names the step and its code, and never says verified
  const text = await page.locator('[data-testid="verdict"]').innerText();
  assert.match(text, /验证失败/);
  assert.match(text, /record: bundle\.inclusion/);
  assert.match(text, /收录证明/);
  assert.doesNotMatch(text, /已验证/);
  // what is shown of the donation is labelled as the server's claim
  assert.match(await page.locator('.details').innerText(), /未验证/);
  await shot(page, 'tamper-proof');
  assert.deepEqual(errors, []);
});
