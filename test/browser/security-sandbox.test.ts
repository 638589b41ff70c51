/**
 * Mirrored content cannot act as the dashboard (issue 14, High): a hostile
 * HTML file and an SVG with script on a local `plain` upstream, opened in
 * Chromium through Larder at /files/<remote>/… by an operator logged in to
 * the dashboard, try to read the admin API and rotate the token with the
 * session cookie. Every request the page makes is watched: none under
 * /_/api/ may succeed, and the token must still work afterwards.
 *
 * A control runs the same script in a page of the daemon's own origin
 * (outside the sandbox): it does reach the API, so the harness would see
 * the attack if the sandbox were missing (as it was before: then the
 * hostile file's script read /config and rotated the token).
 */
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page, Request } from 'playwright-core';
import { adminToken, api } from '../helpers/admin-e2e.js';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { startStaticUpstream, type StaticUpstream } from '../helpers/files-fixture/server.js';
import { launchChromium, waitUntil, type TestBrowser } from './chromium.js';

/** The attack: runs at once, notes that it ran in the title, then reports what the API answered. */
const ATTACK = `
document.title = 'ran';
(async () => {
  const out = {};
  try {
    const r = await fetch('/_/api/v1/config', { credentials: 'include' });
    out.config = r.status;
  } catch (e) { out.config = 'blocked'; }
  try {
    const r = await fetch('/_/api/v1/token/rotate', {
      method: 'POST', credentials: 'include', headers: { 'content-type': 'application/json' }, body: '{}',
    });
    out.rotate = r.status;
  } catch (e) { out.rotate = 'blocked'; }
  document.title = 'result:' + JSON.stringify(out);
})();
`;

const HTML = `<!doctype html><html><head><title>hostile</title></head><body><p id="p">hostile page</p><script>${ATTACK}</script></body></html>`;
const SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><title>hostile</title><script>${ATTACK.replace(/</g, '&lt;')}</script><rect width="10" height="10"/></svg>`;

let root = '';
let up: StaticUpstream;
let daemon: TestDaemon;
let browser: TestBrowser;
/** Watches the requests a page makes under /_/api/, with the status each got. */
function watchApi(page: Page): Array<{ url: string; status: number | 'failed' }> {
  const calls: Array<{ url: string; status: number | 'failed' }> = [];
  const record = async (req: Request, failed: boolean): Promise<void> => {
    if (!new URL(req.url()).pathname.startsWith('/_/api/')) return;
    const res = failed ? null : await req.response();
    calls.push({ url: req.url(), status: res ? res.status() : 'failed' });
  };
  page.on('requestfinished', (r) => void record(r, false));
  page.on('requestfailed', (r) => void record(r, true));
  return calls;
}

describe('mirrored HTML and SVG cannot reach the admin API', { concurrency: false }, () => {
  before(async () => {
    root = await tempDir('larder-sandbox-');
    await mkdir(join(root, 'f'), { recursive: true });
    await writeFile(join(root, 'f', 'x.html'), HTML);
    await writeFile(join(root, 'f', 'x.svg'), SVG);
    up = await startStaticUpstream(root);
    up.headers = (p): Record<string, string> =>
      p.endsWith('.html') ? { 'content-type': 'text/html' } : p.endsWith('.svg') ? { 'content-type': 'image/svg+xml' } : {};
    daemon = await startTestDaemon({ remotes: { web: { type: 'http', url: `${up.url}/f/`, layout: 'plain', ttl: '1h' } } });
    browser = await launchChromium();
    // Log in: the session cookie is set for the daemon's origin.
    await browser.page.goto(daemon.loginLink());
    const cookies = await browser.context.cookies(daemon.url);
    assert.ok(cookies.length > 0, 'logged in: a session cookie is set');
  });

  after(async () => {
    await browser?.close();
    await daemon?.close();
    await up?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('control: the same script on the daemon’s own origin does read the admin API with the cookie', async () => {
    const { page } = browser;
    await page.goto(`${daemon.url}/_/api/v1/nothing-here`);
    const status = await page.evaluate(async () => (await fetch('/_/api/v1/config', { credentials: 'include' })).status);
    assert.equal(status, 200, 'a same-origin script with the session cookie reaches the API');
  });

  for (const file of ['x.html', 'x.svg']) {
    it(`${file} opened through /files/ runs without the dashboard's origin`, async () => {
      // A page of its own: only its requests are watched (the dashboard may be polling in another).
      const page = await browser.context.newPage();
      const apiCalls = watchApi(page);
      const tokenBefore = await adminToken(daemon.dataDir);
      const res = await page.goto(`${daemon.url}/files/web/${file}`);
      assert.ok(res, 'navigation answered');
      assert.equal(res.status(), 200);
      await page.waitForLoadState('load');
      // The script either never ran (title unchanged) or ran and reported; wait for one of those ends.
      const title = await waitUntil(
        'the page to settle',
        () => page.title(),
        (t) => t === 'hostile' || t.startsWith('result:'),
      );
      if (title.startsWith('result:')) {
        const out = JSON.parse(title.slice(7)) as { config: unknown; rotate: unknown };
        assert.notEqual(out.config, 200, `the page read the admin config: ${title}`);
        assert.notEqual(out.rotate, 200, `the page rotated the token: ${title}`);
      }
      const reached = apiCalls.filter((c) => typeof c.status === 'number' && c.status < 300);
      assert.deepEqual(reached, [], `admin API requests from the hostile page succeeded: ${JSON.stringify(apiCalls)}`);
      assert.equal(await adminToken(daemon.dataDir), tokenBefore, 'the admin token was not rotated');
      assert.equal((await api(daemon.url, tokenBefore, 'GET', '/config')).status, 200, 'the old token still works');
      const headers = res.headers();
      assert.equal(headers['content-security-policy'], 'sandbox');
      assert.equal(headers['x-content-type-options'], 'nosniff');
      await page.close();
    });
  }
});
