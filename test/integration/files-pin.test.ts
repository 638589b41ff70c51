/**
 * `url:<remote>/<path>` references of a generic HTTP remote are pinned and
 * pre-warmed through the same adapter and cache as a client's request: the
 * pinned file is stored and served as a HIT without asking the upstream,
 * a file the upstream changes is fetched again by its mutable pin (a HEAD
 * shows the new ETag), and a pin of a missing file reports E_NOT_FOUND.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Pin } from '../../daemon/admin/contract.js';
import { adminClient, adminToken } from '../helpers/admin-e2e.js';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { raw } from '../helpers/files-fixture/client.js';
import { startStaticUpstream, type StaticUpstream } from '../helpers/files-fixture/server.js';
import { waitFor } from '../helpers/wait.js';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

let dir: string;
let up: StaticUpstream;
let d: TestDaemon;

before(async () => {
  dir = await tempDir('larder-files-pin-');
  await mkdir(join(dir, 'root', 'f', 'tools'), { recursive: true });
  await writeFile(join(dir, 'root', 'f', 'tools', 'tool v1.bin'), randomBytes(300_000));
  up = await startStaticUpstream(join(dir, 'root'));
  up.headers = () => ({ 'cache-control': 'max-age=3600' });
  d = await startTestDaemon({
    remotes: { web: { type: 'http', url: `${up.url}/f/`, layout: 'plain', ttl: '1h' } },
    pins: { interval: '300ms' },
  });
});

after(async () => {
  await d.close();
  await up.stop();
  await rm(dir, { recursive: true, force: true });
});

test('a url: pin stores the file, serves it from the cache, and follows a change upstream', async () => {
  const admin = adminClient(d.url, await adminToken(d.dataDir));
  const ref = 'url:web/tools/tool v1.bin';
  const created = await admin.call<Pin>('POST', '/pins', { ref });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const pin = await waitFor(
    async () => (await admin.ok<Pin[]>('GET', '/pins')).find((p) => p.ref === ref && p.status === 'ok'),
    20_000,
    'the pin',
  );
  const first = pin.resolved;
  assert.ok(first, 'resolved to the upstream ETag');
  const entries = await admin.entries();
  assert.ok(
    entries.some((e) => e.key === 'files:web:tools/tool v1.bin' && e.pinned),
    JSON.stringify(entries.map((e) => e.key)),
  );

  // The pin's own HEAD checks (every 300 ms) may land meanwhile; what must not happen is a download.
  const gets = (): number => up.log.filter((l) => l.path === '/f/tools/tool v1.bin' && l.method === 'GET').length;
  const before = gets();
  assert.ok(before >= 1, 'the pin downloaded the file');
  const served = await raw(d.url, '/files/web/tools/tool%20v1.bin');
  assert.equal(served.status, 200);
  assert.equal(served.headers['x-larder-cache'], 'HIT');
  assert.equal(gets(), before, 'served without downloading from the upstream');

  const v2 = randomBytes(200_000);
  await writeFile(join(dir, 'root', 'f', 'tools', 'tool v1.bin'), v2);
  const moved = await waitFor(
    async () => (await admin.ok<Pin[]>('GET', '/pins')).find((p) => p.ref === ref && p.resolved !== first && p.status === 'ok'),
    20_000,
    'the pin to follow the new file',
  );
  assert.notEqual(moved.resolved, first);
  const after = await raw(d.url, '/files/web/tools/tool%20v1.bin');
  assert.equal(sha256(after.body), sha256(v2), 'the new bytes are what the cache serves');
});

test('a url: pin of a file the upstream does not have reports E_NOT_FOUND and holds nothing', async () => {
  const admin = adminClient(d.url, await adminToken(d.dataDir));
  const ref = 'url:web/tools/missing.bin';
  await admin.call<Pin>('POST', '/pins', { ref });
  const pin = await waitFor(
    async () => (await admin.ok<Pin[]>('GET', '/pins')).find((p) => p.ref === ref && p.status === 'error'),
    20_000,
    'the pin to fail',
  );
  assert.match(pin.error ?? '', /E_NOT_FOUND/);
  assert.equal(pin.items, 0);
});
