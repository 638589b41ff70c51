/**
 * The dashboard's Policy view in Chromium against the real daemon (a Go
 * module proxy upstream): under `minAge: 7d` a young version refused to a
 * client is listed as held back with the time it will be allowed; a MAL-
 * record dropped into the watched blocklist folder blocks a version whose
 * zip was cached, the refusal is listed with the record's id, and the cached
 * zip is listed as quarantined. Read as the text the page shows.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildUi } from '../../renderer/build.js';
import { adminClient, adminToken } from '../helpers/admin-e2e.js';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { waitFor } from '../helpers/wait.js';
import { launchChromium, text, waitUntil, type TestBrowser } from './chromium.js';

const DAY = 86_400_000;
const AGES: Record<string, Record<string, number>> = {
  'example.com/foo': { 'v1.0.0': 30 * DAY, 'v1.2.0': 0 },
  'example.com/bar': { 'v1.0.0': 60 * DAY, 'v1.0.1': 40 * DAY },
};

describe('dashboard policy view, in Chromium', { concurrency: false }, () => {
  let work: string;
  let upstream: Server;
  let daemon: TestDaemon;
  let browser: TestBrowser;

  before(async () => {
    await buildUi();
    work = await tempDir('larder-ui-policy-');
    const now = Date.now();
    upstream = createServer((req, res) => {
      const m = /^\/(.+)\/@v\/(v[^/]+)\.(info|mod|zip)$/.exec(req.url ?? '');
      const age = m ? AGES[m[1]!]?.[m[2]!] : undefined;
      if (!m || age === undefined) return void res.writeHead(404).end('not found\n');
      if (m[3] === 'info') return void res.writeHead(200).end(JSON.stringify({ Version: m[2], Time: new Date(now - age).toISOString() }));
      res.writeHead(200).end(m[3] === 'mod' ? `module ${m[1]}\n` : `zip of ${m[1]}@${m[2]}`);
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const osv = join(work, 'osv');
    await mkdir(osv, { recursive: true });
    daemon = await startTestDaemon({
      remotes: { gomain: { type: 'go', url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/` } },
      policy: { minAge: '7d', blocklist: { osv } },
    });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await daemon?.close();
    await new Promise((r) => upstream?.close(r));
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('lists held-back and blocked versions, the record and the quarantined artifact', async () => {
    const go = `${daemon.url}/go`;
    assert.equal((await fetch(`${go}/example.com/foo/@v/v1.2.0.zip`)).status, 403);
    assert.equal((await fetch(`${go}/example.com/bar/@v/v1.0.1.zip`)).status, 200, 'cached before the record arrives');
    const admin = adminClient(daemon.url, await adminToken(daemon.dataDir));
    // The fill commits after the answer: the record must find the zip in the index.
    await waitFor(
      async () => (await admin.entries('bar')).some((e) => e.key === 'go:gomain:zip:example.com/bar@v1.0.1'),
      10_000,
      'the zip to be committed',
    );
    await writeFile(
      join(work, 'osv', 'MAL-2026-0400.json'),
      JSON.stringify({
        id: 'MAL-2026-0400',
        summary: 'Malicious code in bar',
        affected: [{ package: { ecosystem: 'Go', name: 'example.com/bar' }, versions: ['1.0.1'] }],
      }),
    );
    await waitFor(
      async () => (await admin.ok<{ quarantined: unknown[] }>('GET', '/policy')).quarantined.length > 0,
      10_000,
      'the cached zip of the blocked version to be quarantined',
    );
    assert.equal((await fetch(`${go}/example.com/bar/@v/v1.0.1.zip`)).status, 403);

    const { page } = browser;
    await page.goto(daemon.loginLink());
    await page.locator('#tab-policy').click();
    const held = await waitUntil(
      'the held-back list',
      () => text(page.locator('[data-testid=policy-held]')),
      (t) => t.includes('example.com/foo'),
    );
    assert.match(held, /example\.com\/foo@v1\.2\.0\s+gomain\s+\S/);
    const until = new Date(Date.now() + 7 * DAY);
    assert.ok(held.includes(String(until.getFullYear())), `the allowed-from time is shown: ${held}`);
    assert.equal(await text(page.locator('[data-testid=policy-min-age] .stat-value')), '7d');
    const blocked = await text(page.locator('[data-testid=policy-blocked]'));
    assert.match(blocked, /example\.com\/bar@v1\.0\.1\s+gomain\s+MAL-2026-0400/);
    assert.match(await text(page.locator('[data-testid=policy-quarantine]')), /go:example\.com\/bar@v1\.0\.1\s+MAL-2026-0400/);
    assert.match(
      await text(page.locator('[data-testid=policy-records]')),
      /MAL-2026-0400 Malicious code in bar\s+Go:example\.com\/bar@1\.0\.1/,
    );
    assert.match(await text(page.locator('[data-testid=policy-signatures]')), /None since the daemon started/);
    assert.deepEqual(browser.errors, []);
  });
});
