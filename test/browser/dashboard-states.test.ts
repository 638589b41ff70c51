/**
 * The dashboard's designed states in Chromium, against the fake admin
 * server (test/helpers/fake-admin.ts) where failures can be injected: the
 * sign-in screen without a session, empty states, an API error with Retry,
 * deep links to a pin (what the tray opens), activity filtering, storage
 * actions, and the Electron bridge when the preload exposes `window.larder`.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildUi } from '../../renderer/build.js';
import { startFakeAdmin, type FakeAdmin } from '../helpers/fake-admin.js';
import { launchChromium, text, waitUntil, type TestBrowser } from './chromium.js';

let uiDir: string;
let fake: FakeAdmin;
let browser: TestBrowser;

describe('dashboard states against the fake admin API', { concurrency: false }, () => {
  before(async () => {
    uiDir = await mkdtemp(join(tmpdir(), 'larder-ui-build-'));
    await buildUi({ outDir: uiDir });
    fake = await startFakeAdmin({ uiDir, statsIntervalMs: 300, jobItemMs: 200 });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await fake?.close();
    await rm(uiDir, { recursive: true, force: true });
  });

  it('shows the sign-in screen without a session', async () => {
    const { page } = browser;
    await page.goto(`${fake.url}/_/ui/`);
    await page.getByRole('heading', { name: 'Sign-in needed' }).waitFor();
    assert.match(await text(page.locator('.signin')), /larder ui/);
  });

  it('shows designed empty states after login', async () => {
    const { page } = browser;
    await page.goto(fake.loginLink());
    await page.locator('[data-testid=hit-rate]').waitFor();
    assert.match(await text(page.locator('.panel')), /No traffic in the last hour/);
    await page.getByRole('tab', { name: 'Pins' }).click();
    await page.getByText('Nothing is pinned yet').waitFor();
    await page.getByRole('tab', { name: 'Pre-warm' }).click();
    await page.getByText('No pre-warm jobs yet').waitFor();
    await browser.screenshot('states-01-empty-prewarm');
  });

  it("shows LAN peers and today's share of misses they served, live, only when peers are on", async () => {
    const { page } = browser;
    await page.getByRole('tab', { name: 'Overview' }).click();
    await page.locator('[data-testid=hit-rate]').waitFor();
    assert.equal(await page.locator('[data-testid=peers]').count(), 0, 'no peers card while peers are off');
    fake.state.peers = { count: 3, healthy: 2, today: { misses: 34, fromPeers: 14 } };
    fake.state.pushStats();
    await page.locator('[data-testid=peers]').waitFor();
    assert.equal(await text(page.locator('[data-testid=peers-count]')), '3 peers');
    assert.equal(await text(page.locator('[data-testid=peers-share]')), "41 % of today's misses served by peers");
    assert.match(await text(page.locator('[data-testid=peers]')), /1 left out/);
    fake.state.peers = undefined;
    fake.state.pushStats();
    await page.locator('[data-testid=peers]').waitFor({ state: 'detached' });
  });

  it("shows the cluster card, this node's role and S3 trouble, only in cluster mode", async () => {
    const { page } = browser;
    assert.equal(await page.locator('[data-testid=cluster]').count(), 0, 'no cluster card for a single daemon');
    fake.state.cluster = { name: 'site-a', role: 'leader', nodes: 3, etcdUp: true, s3Up: true };
    fake.state.pushStats();
    await page.locator('[data-testid=cluster]').waitFor();
    assert.equal(await text(page.locator('[data-testid=cluster-nodes]')), '3 nodes');
    assert.equal(await text(page.locator('[data-testid=cluster-role]')), 'eviction leader');
    assert.match(await text(page.locator('[data-testid=cluster]')), /Cluster site-a/i);
    fake.state.cluster = { name: 'site-a', role: 'alone', nodes: 3, etcdUp: false, s3Up: false };
    fake.state.pushStats();
    await waitUntil(
      'the role to read alone',
      () => text(page.locator('[data-testid=cluster-role]')),
      (t) => /etcd unreachable/.test(t),
    );
    assert.match(await text(page.locator('[data-testid=cluster]')), /S3 unreachable/);
    fake.state.cluster = undefined;
    fake.state.pushStats();
    await page.locator('[data-testid=cluster]').waitFor({ state: 'detached' });
  });

  it('shows an API error with its code, and Retry recovers', async () => {
    const { page } = browser;
    fake.state.addPin('npm:left-pad@1.3.0');
    fake.failNext('/pins', 503, 'E_UPSTREAM', 'the pin table is busy');
    await page.goto(`${fake.url}/_/ui/#pins`);
    await page.reload();
    const alert = page.locator('.state-error');
    await alert.waitFor();
    assert.match(await text(alert), /Could not load pins\.\s+the pin table is busy E_UPSTREAM/);
    await browser.screenshot('states-02-error');
    await alert.getByRole('button', { name: 'Retry' }).click();
    await page.locator('[data-testid=pin-row]').first().waitFor();
    assert.equal(await page.locator('.state-error').count(), 0);
  });

  it('opens at a pin from a deep link (the tray pin submenu) and highlights it', async () => {
    const { page } = browser;
    const pin = fake.state.addPin('oci:docker.io/library/alpine:3.20');
    await page.goto(`${fake.url}/_/ui/#pins/${pin.id}`);
    const row = page.locator(`[data-pin-id="${pin.id}"]`);
    await row.waitFor();
    assert.match((await row.getAttribute('class')) ?? '', /row-focused/);
    assert.equal(await page.getByRole('tab', { name: 'Pins' }).getAttribute('aria-selected'), 'true');
    // Removal is two-step and updates the list live.
    await row.getByRole('button', { name: /Remove pin/ }).click();
    await row.getByRole('button', { name: 'Confirm remove' }).click();
    await row.waitFor({ state: 'detached' });
    assert.equal(
      fake.state.pins.some((p) => p.id === pin.id),
      false,
    );
  });

  it('filters activity by kind', async () => {
    const { page } = browser;
    fake.state.record('hit', 10, '/npm/a');
    fake.state.log({ kind: 'integrity', message: 'npm/x-1.0.0.tgz: sha512 mismatch, not stored' });
    await page.getByRole('tab', { name: 'Activity' }).click();
    await page.locator('[data-testid=activity-row][data-kind=integrity]').first().waitFor();
    await page.getByRole('button', { name: 'Integrity failures' }).click();
    await waitUntil(
      'only integrity rows',
      () => page.locator('[data-testid=activity-row]').evaluateAll((els) => els.map((e) => e.getAttribute('data-kind'))),
      (kinds) => kinds.length > 0 && kinds.every((k) => k === 'integrity'),
    );
    assert.equal(await page.getByRole('button', { name: 'Integrity failures' }).getAttribute('aria-pressed'), 'true');
    await page.getByRole('button', { name: 'Stale serves' }).click();
    await page.getByText('No stale serves recently').waitFor();
  });

  it('runs storage actions and shows their results', async () => {
    const { page } = browser;
    await page.getByRole('tab', { name: 'Storage' }).click();
    await page.getByRole('button', { name: 'Collect garbage' }).click();
    assert.equal(await text(page.locator('[data-testid=storage-result]')), 'Garbage collection removed 2 items (4.00 KiB).');
    await page.getByRole('button', { name: 'Run scrub' }).click();
    await waitUntil(
      'scrub result',
      () => text(page.locator('[data-testid=storage-result]')),
      (t) => t === 'Scrub started.',
    );
    await waitUntil(
      'scrub status',
      () => text(page.locator('[data-testid=scrub]')),
      (t) => /clean/.test(t) && /1,234 checked/.test(t),
    );
    await browser.screenshot('states-03-storage');
  });

  it('uses the Electron bridge when window.larder is present: native lockfile picker and navigation pushes', async () => {
    const page = await browser.context.newPage();
    // A string, not a function: tsx would inject helpers the page does not have.
    await page.addInitScript({
      content: `
        const listeners = [];
        window.__navigate = (route) => listeners.forEach((l) => l({ route }));
        window.larder = {
          getAppInfo: async () => ({ version: '0.1.0', platform: 'linux', daemonUrl: location.origin, managed: true }),
          openExternal: async () => true,
          pickLockfile: async () => [{ name: 'requirements.txt', content: 'requests==2.32.3\\nurllib3==2.2.2\\n' }],
          openDataFolder: async () => true,
          onNavigate: (l) => listeners.push(l),
        };`,
    });
    await page.goto(`${fake.url}/_/ui/#prewarm`);
    await page.getByRole('button', { name: 'Choose lockfile…' }).click();
    await page.getByText('requirements.txt').first().waitFor();
    await page.getByRole('button', { name: 'Start pre-warm' }).click();
    const job = page.locator('[data-testid=job]', { hasText: 'requirements.txt' });
    await waitUntil(
      'job from the picked file done',
      () => job.getAttribute('data-state'),
      (s) => s === 'done',
      20_000,
    );
    assert.equal(await text(job.locator('[data-testid=job-percent]')), '100%');
    await page.evaluate(() => (window as unknown as { __navigate(r: string): void }).__navigate('storage'));
    await waitUntil(
      'navigated by the app',
      async () => page.url(),
      (u) => u.endsWith('#storage'),
    );
    await page.close();
    assert.deepEqual(
      browser.errors.filter((e) => !/status of (401|503)/.test(e)),
      [],
    );
  });
});
