/**
 * What a new user sees first, in Chromium against the real daemon (fresh data
 * directory, the local npm fixture upstream): the overview always shows the tray's
 * three numbers (hit rate, pinned artifacts with their lagging count, worst
 * replication lag) with zero pins and nothing to lag, and the "last hour"
 * charts span the last hour while the history holds a single 10 s bucket
 * (uPlot alone stretches one point to 1000 days). The axis is read from the
 * chart box's data attributes, which mirror the ticks and labels the page
 * hands uPlot.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildUi } from '../../renderer/build.js';
import { adminToken } from '../helpers/admin-e2e.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { setupFixture } from '../helpers/npm-e2e.js';
import { startNpmUpstream, type NpmUpstream } from '../helpers/npm-fixture/server.js';
import type { FixturePackage } from '../helpers/npm-fixture/types.js';
import { launchChromium, text, waitUntil, type TestBrowser } from './chromium.js';

let root = '';
let upstream: NpmUpstream;
let daemon: TestDaemon;
let browser: TestBrowser;
let pkg: FixturePackage;

/** Local "HH:MM" of an epoch-seconds time, as the page labels its ticks. */
function hhmm(seconds: number): string {
  const d = new Date(seconds * 1000);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

async function get(path: string): Promise<number> {
  const res = await fetch(`${daemon.url}${path}`);
  await res.arrayBuffer();
  return res.status;
}

describe('dashboard overview for a new user, in Chromium', { concurrency: false }, () => {
  before(async () => {
    await buildUi();
    const made = await setupFixture('larder-overview-');
    root = made.root;
    upstream = await startNpmUpstream(made.fixture);
    pkg = made.fixture.packages.find((p) => !p.name.startsWith('@') && p.name !== made.fixture.bigPackage && p.tarballs.length > 0)!;
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await daemon?.close();
    await upstream?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('spans the last hour on the time axis while the history holds one 10 s bucket', async () => {
    const { page } = browser;
    // The daemon starts at the beginning of a 10 s bucket, and the traffic and
    // the page's first history fetch fall into that same bucket: the history
    // holds a single point (the daemon closes a bucket only once it is over).
    await sleep(10_000 - (Date.now() % 10_000) + 100);
    const remotes = { npmjs: { type: 'npm' as const, url: upstream.url, timeout: '2s' } };
    daemon = await startTestDaemon({ remotes, npm: { default: 'npmjs' }, pins: { interval: '1s' } });
    const tarball = `/npm${pkg.tarballs[0]!.urlPath}`;
    assert.equal(await get(tarball), 200);
    assert.equal(await get(tarball), 200);
    await page.goto(daemon.loginLink());
    const chart = page.locator('.chart').first();
    await chart.locator('canvas').waitFor();
    const axis = await waitUntil(
      'the time axis drawn',
      () => chart.evaluate((el: HTMLElement) => ({ ...el.dataset })),
      (d) => Boolean(d.xTicks),
    );
    const now = Date.now() / 1000;
    const [min, max] = [Number(axis.xMin), Number(axis.xMax)];
    assert.equal(max - min, 3600, `the axis spans one hour (${JSON.stringify(axis)})`);
    assert.ok(Math.abs(max - now) < 60, `the axis ends now: ${new Date(max * 1000).toISOString()}`);
    const ticks = axis.xTicks!.split(',').map(Number);
    const labels = axis.xLabels!.split(',');
    assert.ok(ticks.length >= 2, `several ticks: ${axis.xLabels}`);
    assert.equal(labels.length, ticks.length);
    ticks.forEach((t, i) => {
      assert.ok(t >= min && t <= max && t > now - 3660 && t < now + 60, `tick ${new Date(t * 1000).toISOString()} within the last hour`);
      assert.match(labels[i]!, /^\d\d:\d\d$/, 'a tick is labelled with a time of day');
      assert.equal(labels[i], hhmm(t));
    });
    // Both charts share the window.
    assert.equal(await page.locator('.chart').count(), 2);
    assert.equal(await page.locator('.chart').nth(1).getAttribute('data-x-max'), axis.xMax);
  });

  it('shows the hit rate, 0 pins, 0 lagging and no lag on a fresh daemon', async () => {
    const { page } = browser;
    assert.match(await text(page.locator('[data-testid=hit-rate] .stat-value')), /^\d+\.\d%$/);
    assert.equal(await text(page.locator('[data-testid=pins-count]')), '0 pins');
    assert.equal(await text(page.locator('[data-testid=pins-lagging]')), '0 lagging');
    assert.equal(await text(page.locator('[data-testid=lag-value]')), '—');
    assert.match(await text(page.locator('[data-testid=lag]')), /Replication lag/i);
  });

  it('shows a pin and a lag of 0 s once something is pinned', async () => {
    const { page } = browser;
    const res = await fetch(`${daemon.url}/_/api/v1/pins`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await adminToken(daemon.dataDir)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ref: `npm:${pkg.name}@${pkg.versions[0]}` }),
    });
    assert.equal(res.status, 201, await res.text());
    await waitUntil(
      'the pin on the overview',
      () => text(page.locator('[data-testid=pins-count]')),
      (t) => t === '1 pin',
    );
    assert.equal(await text(page.locator('[data-testid=pins-lagging]')), '0 lagging');
    await waitUntil(
      'lag 0s',
      () => text(page.locator('[data-testid=lag-value]')),
      (t) => t === '0s',
    );
    assert.deepEqual(
      browser.errors.filter((e) => !/status of 40[01]/.test(e)),
      [],
      'no page errors',
    );
    await browser.screenshot('overview-new-user');
  });
});
