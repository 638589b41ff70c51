/**
 * The dashboard's Sign out button in Chromium against the real daemon: it
 * posts /_/api/v1/logout (as same-origin application/json, which the
 * daemon's CSRF check demands of cookie writes), the browser drops the
 * cookie, the sign-in screen shows, and the old session id no longer opens
 * the API. Writes from the page itself (the offline switch) still work.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildUi } from '../../renderer/build.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { launchChromium, waitUntil, type TestBrowser } from './chromium.js';

let daemon: TestDaemon;
let browser: TestBrowser;

describe('dashboard sign out in Chromium', { concurrency: false }, () => {
  before(async () => {
    await buildUi();
    daemon = await startTestDaemon({ remotes: { web: { type: 'http', url: 'http://127.0.0.1:9/' } } });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await daemon?.close();
  });

  it('a cookie write from the page passes the CSRF check; Sign out ends the session', async () => {
    const { page, context } = browser;
    await page.goto(daemon.loginLink());
    const toggle = page.locator('[data-testid=offline-toggle]');
    await toggle.waitFor();
    await toggle.click();
    await waitUntil(
      'offline mode on',
      () => toggle.getAttribute('aria-pressed'),
      (v) => v === 'true',
    );
    await toggle.click();
    await waitUntil(
      'offline mode off',
      () => toggle.getAttribute('aria-pressed'),
      (v) => v === 'false',
    );
    const session = (await context.cookies(daemon.url)).find((c) => c.name === 'larder_session');
    assert.ok(session, 'signed in');

    await page.locator('[data-testid=sign-out]').click();
    await page.getByText('Sign-in needed').waitFor();
    assert.equal((await context.cookies(daemon.url)).find((c) => c.name === 'larder_session')?.value ?? '', '');
    const res = await fetch(`${daemon.url}/_/api/v1/stats`, { headers: { cookie: `larder_session=${session.value}` } });
    await res.arrayBuffer();
    assert.equal(res.status, 401, 'the old session id is dead');
  });
});
