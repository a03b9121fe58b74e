// Shared by the browser tests: the dev server (a prebuilt Rust example; path from
// SHANLIAN_DEV_SERVER, default ../../target/debug/examples/dev_server), Debian's Chromium through
// playwright-core (no browser download), screenshots into test-artifacts/.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const WEB = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DIST = join(WEB, 'dist');
export const ARTIFACTS = join(WEB, 'test-artifacts');
export const SERVER = resolve(WEB, process.env.SHANLIAN_DEV_SERVER ?? '../../target/debug/examples/dev_server');
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** The demo donor of the dev chain (the server prints them without --quiet). */
export const DEMO = {
  charity: '044e841d424ae89c843cb412b9dbf768372b485b',
  charityName: '深圳市慈善会 (demo)',
  receipt: 'SZ-DEMO-2026-000000',
  identity: '440301199000000000',
  salt: '0000000000000000be5867a2ebc164671076511bd9261c6161832ac304ae375d',
  // a donation of the general fund that reaches another charity's project through a grant
  grantReceipt: 'SZ-DEMO-2026-000003',
};

export function checkPrerequisites() {
  const missing = [];
  if (!existsSync(join(DIST, 'index.html'))) missing.push(`${DIST}/index.html (run npm run build)`);
  if (!existsSync(SERVER)) missing.push(`${SERVER} (set SHANLIAN_DEV_SERVER)`);
  if (!existsSync(CHROMIUM)) missing.push(`${CHROMIUM} (Debian's chromium)`);
  if (missing.length) throw new Error(`browser tests need: ${missing.join(', ')}`);
  mkdirSync(ARTIFACTS, { recursive: true });
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.unref();
    s.on('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts the dev server on `port` (with `--tamper <tamper>` if given); resolves when it answers
 * /api/v1/status. Returns { url, port, status(), stop() }.
 */
export async function startServer({ port, tamper } = {}) {
  port ??= await freePort();
  const args = ['--port', String(port), '--web', DIST, '--quiet'];
  if (tamper) args.push('--tamper', tamper);
  let child;
  let lastErr;
  for (let attempt = 0; attempt < 5; attempt++) {
    child = spawn(SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise((r) => child.once('exit', (code) => r(code)));
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 60_000;
    let up = false;
    while (Date.now() < deadline) {
      const code = await Promise.race([exited, sleep(150).then(() => 'running')]);
      if (code !== 'running') {
        lastErr = new Error(`dev server exited (${code}): ${stderr}`);
        break;
      }
      try {
        const r = await fetch(`${url}/api/v1/status`);
        if (r.ok) {
          up = true;
          break;
        }
      } catch {
        /* not yet */
      }
    }
    if (up) {
      const status = async () => (await fetch(`${url}/api/v1/status`)).json();
      const stop = async () => {
        if (child.exitCode !== null) return;
        child.kill('SIGTERM');
        await Promise.race([exited, sleep(5000).then(() => child.kill('SIGKILL'))]);
      };
      return { url, port, status, stop, tamper };
    }
    child.kill('SIGKILL');
    await sleep(500); // the port may still be held by the previous server
  }
  throw lastErr ?? new Error('dev server did not start');
}

/** Chromium, headless, no sandbox (containers), from the system. */
export function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'], headless: true });
}

/** A browser context in Chinese (the page's default) with a desktop viewport. */
export function newContext(browser, opts = {}) {
  return browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai', ...opts });
}

/** Collects page errors (uncaught exceptions) so tests can assert there were none. */
export function watchErrors(page) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return errors;
}

/** A full-page screenshot into test-artifacts/<name>.png, after the charts have drawn. */
export async function shot(page, name) {
  await page.waitForTimeout(700); // chart animations
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** Looks a donation up through the home page's receipt form. */
export async function lookUp(page, url, charity, receipt) {
  await page.goto(`${url}/#/`);
  const select = page.locator('[data-testid="lookup-charity"]');
  await select.locator(`option[value="${charity}"]`).waitFor({ state: 'attached', timeout: 30_000 });
  await select.selectOption(charity);
  await page.locator('[data-testid="lookup-receipt"]').fill(receipt);
  await page.locator('[data-testid="lookup-submit"]').click();
  await page.waitForURL(/#\/donation\//);
}

/** Waits until the donation page's verdict is no longer running; returns it. */
export async function verdict(page, timeout = 90_000) {
  const v = page.locator('[data-testid="verdict"]:not([data-verdict="running"])');
  await v.waitFor({ timeout });
  return v.getAttribute('data-verdict');
}

/** The verification steps as [{ step, status, code, at }]. */
export function steps(page, scope = '[data-testid="verify-panel"]') {
  return page.$$eval(`${scope} li.step`, (els) => els.map((e) => ({ step: e.dataset.step, status: e.dataset.status, code: e.dataset.code ?? null, at: e.dataset.at ?? null })));
}
