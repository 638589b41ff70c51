/**
 * The dashboard in Debian's Chromium against the real daemon and a local npm
 * upstream: log in through the one-time link, see the hit rate and counters
 * change live as traffic flows, add a pin (a bad reference shows the API's
 * message) and see it with its lag, pre-warm to 100 %, and see the offline
 * indicators when the upstream goes away and when offline mode is switched
 * on. Screenshots go to test/artifacts/.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Stats } from '../../daemon/admin/contract.js';
import { buildUi } from '../../renderer/build.js';
import { adminToken } from '../helpers/admin-e2e.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { setupFixture } from '../helpers/npm-e2e.js';
import { startNpmUpstream, type NpmUpstream } from '../helpers/npm-fixture/server.js';
import type { FixturePackage, RegistryFixture } from '../helpers/npm-fixture/types.js';
import { count, launchChromium, text, waitUntil, type TestBrowser } from './chromium.js';

let root = '';
let fixture: RegistryFixture;
let upstream: NpmUpstream;
let daemon: TestDaemon;
let browser: TestBrowser;
let pkgs: FixturePackage[];

/** Admin API call with the bearer token (to compare the page with the API). */
async function admin<T>(path: string): Promise<T> {
  const res = await fetch(`${daemon.url}/_/api/v1${path}`, { headers: { authorization: `Bearer ${await adminToken(daemon.dataDir)}` } });
  assert.equal(res.status, 200);
  return (await res.json()) as T;
}

async function get(path: string): Promise<number> {
  const res = await fetch(`${daemon.url}${path}`);
  await res.arrayBuffer();
  return res.status;
}

describe('dashboard in Chromium against the real daemon', { concurrency: false }, () => {
  before(async () => {
    await buildUi();
    ({ root, fixture } = await setupFixture('larder-ui-'));
    upstream = await startNpmUpstream(fixture);
    daemon = await startTestDaemon({
      remotes: { npmjs: { type: 'npm', url: upstream.url, timeout: '2s', ttl: '1s' } },
      npm: { default: 'npmjs' },
      pins: { interval: '1s' },
    });
    pkgs = fixture.packages.filter((p) => !p.name.startsWith('@') && p.name !== fixture.bigPackage && p.tarballs.length > 0).slice(0, 9);
    assert.ok(pkgs.length >= 9, 'fixture has enough small packages');
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await daemon?.close();
    await upstream?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('logs in through the one-time link; the link works only once and the cookie is HttpOnly', async () => {
    const { page, context } = browser;
    const link = daemon.loginLink();
    await page.goto(link);
    assert.match(page.url(), /\/_\/ui\/(#.*)?$/);
    await page.locator('[data-testid=hit-rate]').waitFor();
    await waitUntil(
      'live stream',
      () => page.locator('[data-testid=live]').getAttribute('data-live'),
      (v) => v === 'open',
    );
    const cookies = await context.cookies(daemon.url);
    const session = cookies.find((c) => c.name === 'larder_session');
    assert.ok(session, 'session cookie set');
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
    assert.equal(await page.evaluate(() => document.cookie), '', 'the cookie is not readable from JavaScript');
    assert.equal(await page.evaluate(() => JSON.stringify({ ...localStorage }).includes('larder_session')), false);
    const again = await fetch(link, { redirect: 'manual' });
    assert.equal(again.status, 401, 'a used link is refused');
    await again.arrayBuffer();
    await browser.screenshot('dashboard-01-empty');
  });

  it('shows the hit rate and the request and byte counters change live with traffic', async () => {
    const { page } = browser;
    const hitRate = page.locator('[data-testid=hit-rate] .stat-value');
    const cached = page.locator('[data-testid=requests-cache]');
    const upstreamCount = page.locator('[data-testid=requests-upstream]');
    assert.equal(await text(hitRate), '0.0%');
    assert.equal(count(await text(page.locator('[data-testid=requests] .stat-value'))), 0);
    // Two packages: packument and tarball each fetched three times (first a miss, then from cache).
    for (let round = 0; round < 3; round++) {
      for (const p of pkgs.slice(0, 2)) {
        assert.equal(await get(`/npm/${p.name}`), 200);
        assert.equal(await get(`/npm${p.tarballs[0]!.urlPath}`), 200);
      }
      await sleep(300);
    }
    await waitUntil(
      '12 requests on the page',
      () => text(page.locator('[data-testid=requests] .stat-value')),
      (t) => count(t) === 12,
    );
    // The page shows what the API says, and the rate is computed from the counters shown.
    const stats = await admin<Stats>('/stats');
    assert.equal(stats.requests.total, 12);
    const c1 = count(await text(cached));
    const u1 = count(await text(upstreamCount));
    assert.equal(c1, stats.requests.hit + stats.requests.revalidated + stats.requests.stale);
    assert.equal(u1, stats.requests.miss);
    assert.ok(u1 >= 4 && c1 >= 4, `4 misses at least, and hits (cache ${c1}, upstream ${u1})`);
    assert.equal(await text(hitRate), `${((c1 / (c1 + u1)) * 100).toFixed(1)}%`);
    assert.match(await text(page.locator('[data-testid=bytes-cache]')), /\d+(\.\d+)? (KiB|MiB)/);
    assert.notEqual(await text(page.locator('[data-testid=bytes-saved] .stat-value')), '0 B');
    // More hits move the rate again without a reload.
    for (let i = 0; i < 4; i++) assert.equal(await get(`/npm${pkgs[0]!.tarballs[0]!.urlPath}`), 200);
    const expected = `${(((c1 + 4) / (c1 + 4 + u1)) * 100).toFixed(1)}%`;
    await waitUntil(
      `hit rate ${expected} after 4 more hits`,
      () => text(hitRate),
      (t) => t === expected,
    );
    assert.equal(count(await text(cached)), c1 + 4);
    assert.equal(upstream.hits(pkgs[0]!.tarballs[0]!.urlPath), 1, 'the tarball came from upstream once');
    await page.locator('.chart canvas').first().waitFor();
    assert.equal(await page.locator('[data-testid=remote-npmjs]').getAttribute('data-health'), 'ok');
    await browser.screenshot('dashboard-02-overview-traffic');
  });

  it('adds a pin (showing the API message for a bad reference) and lists it with its digest and lag', async () => {
    const { page } = browser;
    await page.getByRole('tab', { name: 'Pins' }).click();
    assert.match(page.url(), /#pins$/);
    await page.locator('#pin-ref').fill('npm:');
    await page.locator('#pin-ref').press('Enter');
    const err = page.locator('[data-testid=pin-error]');
    await err.waitFor();
    assert.ok((await text(err)).length > 5, 'the API message is shown');
    assert.equal(await page.locator('#pin-ref').getAttribute('aria-invalid'), 'true');
    const p = pkgs[2]!;
    const version = p.versions[p.versions.length - 1]!;
    await page.locator('#pin-ref').fill(`npm:${p.name}@${version}`);
    await page.getByRole('button', { name: 'Pin', exact: true }).click();
    const row = page.locator('[data-testid=pin-row]', { hasText: `npm:${p.name}@${version}` });
    await row.waitFor();
    await waitUntil(
      'pin resolved',
      () => row.getAttribute('data-status'),
      (s) => s === 'ok',
    );
    assert.equal(await row.locator('[data-testid=pin-lag]').getAttribute('data-level'), 'ok');
    assert.equal(await text(row.locator('[data-testid=pin-lag]')), 'up to date');
    assert.notEqual(await text(row.locator('[data-testid=pin-digest]')), '—');
    await browser.screenshot('dashboard-03-pins');
  });

  it('shows a mutable pin lagging behind a moved upstream, with ticking lag, until it is mirrored', async () => {
    const { page } = browser;
    const p = pkgs[8]!;
    const ref = `npm:${p.name}@latest`;
    await page.locator('#pin-ref').fill(ref);
    await page.getByRole('button', { name: 'Pin', exact: true }).click();
    const row = page.locator('[data-testid=pin-row]', { hasText: ref });
    await waitUntil(
      'mutable pin resolved',
      () => row.getAttribute('data-status'),
      (s) => s === 'ok',
    );
    const before = await text(row.locator('[data-testid=pin-digest]'));
    // The upstream moves to 9.0.0, but its tarball arrives corrupt: the pin cannot be mirrored.
    upstream.setCorrupt((path) => path.endsWith('-9.0.0.tgz'));
    await upstream.publish(p.name, '9.0.0');
    await waitUntil(
      'pin lagging',
      () => row.getAttribute('data-status'),
      (s) => s === 'lagging',
    );
    const lag = row.locator('[data-testid=pin-lag]');
    assert.equal(await lag.getAttribute('data-level'), 'warn', 'below the 15 min threshold: amber');
    assert.match(await text(lag), /\d+s behind/);
    const s1 = Number(await lag.getAttribute('data-seconds'));
    await waitUntil(
      'lag ticking',
      async () => Number(await lag.getAttribute('data-seconds')),
      (s) => s >= s1 + 2,
    );
    assert.equal(await text(row.locator('[data-testid=pin-digest]')), before, 'still holds the old closure');
    await page.getByRole('tab', { name: 'Pins' }).click();
    await browser.screenshot('dashboard-03b-pin-lagging');
    // The upstream heals: the next check mirrors 9.0.0 and the lag goes away.
    upstream.setCorrupt(null);
    await waitUntil(
      'pin mirrored',
      () => row.getAttribute('data-status'),
      (s) => s === 'ok',
      30_000,
    );
    assert.equal(await text(lag), 'up to date');
    assert.equal(await text(row.locator('[data-testid=pin-digest]')), '9.0.0');
  });

  it('starts a pre-warm and shows its progress reaching 100%', async () => {
    const { page } = browser;
    await page.getByRole('tab', { name: 'Pre-warm' }).click();
    const refs = pkgs.slice(3, 6).map((p) => `npm:${p.name}@${p.versions[0]}`);
    await page.locator('#prewarm-refs').fill(refs.join('\n'));
    await page.getByRole('button', { name: 'Start pre-warm' }).click();
    const job = page.locator('[data-testid=job]').first();
    await job.waitFor();
    await waitUntil(
      'job done',
      () => job.getAttribute('data-state'),
      (s) => s === 'done',
      60_000,
    );
    assert.equal(await text(job.locator('[data-testid=job-percent]')), '100%');
    const items = job.locator('[data-testid=job-item]');
    assert.ok((await items.count()) >= refs.length);
    for (const s of await items.evaluateAll((els) => els.map((e) => e.getAttribute('data-state'))))
      assert.ok(s === 'done' || s === 'cached', `item state ${s}`);
    await browser.screenshot('dashboard-04-prewarm');
  });

  it('shows the upstream as unreachable when it goes down, and offline mode when switched on', async () => {
    const { page } = browser;
    await page.getByRole('tab', { name: 'Overview' }).click();
    upstream.setDown(true, 'refuse');
    // Uncached packages need the upstream: each failure counts against its health.
    for (const p of pkgs.slice(6, 8)) await get(`/npm/${p.name}`);
    for (let i = 0; i < 3; i++) await get(`/npm/${pkgs[7]!.name}-missing-${i}`);
    await page.locator('[data-testid=upstream-banner]').waitFor({ timeout: 20_000 });
    assert.match(await text(page.locator('[data-testid=upstream-banner]')), /npmjs.*unreachable/);
    assert.equal(await page.locator('[data-testid=remote-npmjs]').getAttribute('data-health'), 'down');
    assert.match(await text(page.locator('[data-testid=status-badge]')), /Upstream unreachable/);
    await browser.screenshot('dashboard-05-upstream-down');
    await page.locator('[data-testid=offline-toggle]').click();
    await page.locator('[data-testid=offline-banner]').waitFor();
    assert.equal(await text(page.locator('[data-testid=offline-toggle]')), 'Go online');
    await browser.screenshot('dashboard-06-offline-mode');
    await page.locator('[data-testid=offline-toggle]').click();
    await page.locator('[data-testid=offline-banner]').waitFor({ state: 'detached' });
    upstream.setDown(false);
  });

  it('is keyboard usable: arrow keys move between tabs and focus is visible', async () => {
    const { page } = browser;
    await page.getByRole('tab', { name: 'Overview' }).focus();
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent?.startsWith('Pins')), true);
    assert.match(page.url(), /#pins$/);
    await page.keyboard.press('End');
    assert.match(page.url(), /#storage$/);
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    assert.equal(outline, 'solid');
    await page.locator('[data-testid=scrub]').waitFor();
    assert.deepEqual(
      browser.errors.filter((e) => !/status of 40[01]/.test(e)),
      [],
      'no page errors',
    );
    await browser.screenshot('dashboard-07-storage');
  });
});
