// (c) A server that flips a byte of a commit signature in every checkpoint it serves
// (`--tamper certificate`): the page refuses, naming the certificate step.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DEMO, checkPrerequisites, launchBrowser, lookUp, newContext, shot, startServer, steps, verdict, watchErrors } from './helpers.mjs';

let server;
let browser;

before(async () => {
  checkPrerequisites();
  server = await startServer({ tamper: 'certificate' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('(c) --tamper certificate: refused at the certificate step', async () => {
  const page = await (await newContext(browser)).newPage();
  const errors = watchErrors(page);
  await lookUp(page, server.url, DEMO.charity, DEMO.receipt);
  assert.equal(await verdict(page), 'failed');
  const byId = Object.fromEntries((await steps(page)).map((s) => [s.step, s]));
  // the donation's block certificate does not verify against the validator set from genesis
  assert.equal(byId['record.validators'].status, 'pass');
  assert.equal(byId['record.certificate'].status, 'fail');
  assert.equal(byId['record.certificate'].at, 'block');
  assert.match(byId['record.certificate'].code, /^certificate\./);
  for (const id of ['record.signature', 'record.inclusion', 'record.extension']) assert.equal(byId[id].status, 'skip', `${id} not reached`);
  // so do the trace proof's blocks and the server's newest checkpoint (the history check)
  assert.equal(byId['trace.blocks'].status, 'fail');
  assert.match(byId['trace.blocks'].code, /^certificate\./);
  assert.equal(byId.history.status, 'fail');
  assert.match(byId.history.code, /^certificate\./);
  await page.locator('[data-testid="history-invalid"]').waitFor();
  const text = await page.locator('[data-testid="verdict"]').innerText();
  assert.match(text, /验证失败/);
  assert.match(text, /certificate\.bad_signature/);
  assert.doesNotMatch(text, /已验证/);
  // nothing was remembered from a server whose checkpoints do not verify
  assert.equal(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('shanlian.checkpoint.')).length), 0);
  await shot(page, 'tamper-certificate');
  assert.deepEqual(errors, []);
});
