/**
 * The real CLI in a child process: `kill -9` in the middle of a slow tarball
 * download, then a restart on the same data directory (temp swept, nothing
 * partial served, the tarball downloads and verifies); and SIGTERM during a
 * download (exit 0, a store that reopens cleanly).
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { spawnDaemon, type ChildDaemon } from '../helpers/daemon.js';
import { startNpmUpstream, type NpmUpstream } from '../helpers/npm-fixture/server.js';
import type { FixtureTarball, RegistryFixture } from '../helpers/npm-fixture/types.js';
import { blobsOnDisk, get, setupFixture, sha256hex, sri512, tempFiles } from '../helpers/npm-e2e.js';
import { waitFor } from '../helpers/wait.js';

let root = '';
let fixture: RegistryFixture;
let upstream: NpmUpstream;
const children: ChildDaemon[] = [];

before(async () => {
  ({ root, fixture } = await setupFixture('larder-npm-crash-'));
  upstream = await startNpmUpstream(fixture);
});

after(async () => {
  for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) await c.kill('SIGKILL');
  await upstream?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

const config = () => ({ log: { level: 'info' as const }, remotes: { local: { type: 'npm' as const, url: upstream.url } } });

async function spawn(dataDir: string): Promise<ChildDaemon> {
  const d = await spawnDaemon(config(), dataDir);
  children.push(d);
  return d;
}

interface Download {
  /** Resolves when at least `bytes` arrived. */
  reached: Promise<void>;
  /** Resolves when the response ends or fails. */
  settled: Promise<{ status: number; body: Buffer; error?: Error }>;
}

/** Starts a download and reports progress. */
function startDownload(url: string, bytes: number): Download {
  let reach!: () => void;
  const reached = new Promise<void>((r) => (reach = r));
  const settled = new Promise<{ status: number; body: Buffer; error?: Error }>((resolve) => {
    const chunks: Buffer[] = [];
    let n = 0;
    const req = request(url, { agent: false }, (res) => {
      const done = (error?: Error) => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), error });
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        n += c.length;
        if (n >= bytes) reach();
      });
      res.on('end', () => done());
      res.on('error', (e) => done(e));
      res.on('aborted', () => done(new Error('aborted')));
    });
    req.on('error', (e) => resolve({ status: 0, body: Buffer.concat(chunks), error: e }));
    req.end();
  });
  return { reached, settled };
}

/** The recovery report the daemon logged at start ("store reconciled"). */
async function recoveryOf(d: ChildDaemon): Promise<Record<string, number>> {
  let rec: Record<string, number> | undefined;
  await waitFor(
    () => {
      for (const line of d.output().split('\n')) {
        if (!line.includes('"store reconciled"')) continue;
        const o = JSON.parse(line.slice(line.indexOf('{'))) as Record<string, unknown>;
        rec = o as Record<string, number>;
      }
      return rec !== undefined;
    },
    5_000,
    'the recovery report',
  );
  assert.ok(rec, `no recovery report in:\n${d.output()}`);
  return rec;
}

const bigTarball = (i: number): FixtureTarball => fixture.packages.find((p) => p.name === fixture.bigPackage)!.tarballs[i]!;

test('kill -9 mid-download: after restart the temp file is swept and nothing partial is served', async () => {
  const dataDir = join(root, 'data-kill');
  const t = bigTarball(0);
  const first = await spawn(dataDir);
  upstream.resetHits();
  upstream.setDelay(40, 64 * 1024);
  try {
    const dl = startDownload(`${first.url}/npm${t.urlPath}`, 1024 * 1024);
    await dl.reached;
    assert.equal((await tempFiles(dataDir)).length, 1, 'a fill is in progress');
    assert.equal(await first.kill('SIGKILL'), null);
    const cut = await dl.settled;
    assert.ok(cut.error && cut.body.length < t.size, 'the client saw a failed transfer');
    assert.equal((await blobsOnDisk(dataDir)).has(sha256hex(await get(`${upstream.url}${t.urlPath.slice(1)}`).then((r) => r.body))), false);
  } finally {
    upstream.setDelay(0);
  }
  const second = await spawn(dataDir);
  const rec = await recoveryOf(second);
  assert.equal(rec.tempSwept, 1);
  assert.deepEqual(await tempFiles(dataDir), []);
  const hitsBefore = upstream.hits(t.urlPath);
  const res = await get(`${second.url}/npm${t.urlPath}`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-larder-cache'), 'MISS', 'fetched again, not served from a partial file');
  assert.equal(res.body.length, t.size);
  assert.equal(sri512(res.body), t.integrity);
  assert.equal(upstream.hits(t.urlPath), hitsBefore + 1);
  await waitFor(
    async () => (await get(`${second.url}/npm${t.urlPath}`)).headers.get('x-larder-cache') === 'HIT',
    10_000,
    'the tarball to be a HIT',
  );
  assert.equal(await second.kill('SIGTERM'), 0);
});

test('SIGTERM during a download exits 0 and leaves a store that reopens cleanly', async () => {
  const dataDir = join(root, 'data-term');
  const t = bigTarball(1);
  const first = await spawn(dataDir);
  upstream.resetHits();
  upstream.setDelay(10, 64 * 1024);
  let code: number | null;
  let result: Awaited<Download['settled']>;
  try {
    const dl = startDownload(`${first.url}/npm${t.urlPath}`, 512 * 1024);
    await dl.reached;
    const started = Date.now();
    code = await first.kill('SIGTERM');
    assert.ok(Date.now() - started < 20_000, 'shut down within the grace period');
    result = await dl.settled;
  } finally {
    upstream.setDelay(0);
  }
  assert.equal(code, 0);
  assert.equal(result.error, undefined, 'the in-flight download was allowed to finish');
  assert.equal(sri512(result.body), t.integrity);
  assert.deepEqual(await tempFiles(dataDir), []);

  const second = await spawn(dataDir);
  const rec = await recoveryOf(second);
  assert.deepEqual(
    {
      tempSwept: rec.tempSwept,
      entriesDropped: rec.entriesDropped,
      blobRowsDropped: rec.blobRowsDropped,
      strayBlobsDeleted: rec.strayBlobsDeleted,
    },
    { tempSwept: 0, entriesDropped: 0, blobRowsDropped: 0, strayBlobsDeleted: 0 },
  );
  const res = await get(`${second.url}/npm${t.urlPath}`);
  assert.equal(res.headers.get('x-larder-cache'), 'HIT', 'the fill finished and was committed before exit');
  assert.equal(sri512(res.body), t.integrity);
  assert.equal(upstream.hits(t.urlPath), 1);
  assert.equal(await second.kill('SIGTERM'), 0);
});
