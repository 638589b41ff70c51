/**
 * `larder policy status` and `larder policy explain` (and their admin API
 * routes) against a daemon whose npm upstream has young and old versions
 * and whose blocklist gains a MAL- record for a tarball already cached:
 * after a restart that tarball is quarantined and listed.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import type { PolicyExplanation, PolicyStatus } from '../../daemon/admin/contract.js';
import { adminClient, adminToken } from '../helpers/admin-e2e.js';
import { ROOT, startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { packFiles, type PackedTarball } from '../helpers/npm-fixture/tarball.js';
import { waitFor } from '../helpers/wait.js';

const run = promisify(execFile);
const DAY = 86_400_000;
const PACKAGES: Record<string, Record<string, number>> = {
  foo: { '1.0.0': 30 * DAY, '2.0.0': 2 * DAY },
  bar: { '1.0.0': 60 * DAY, '1.0.1': 40 * DAY },
};

let root = '';
let upstream: Server;
let daemon: TestDaemon;
const now = Date.now();
const tarballs = new Map<string, PackedTarball>();

async function startUpstream(): Promise<string> {
  for (const [name, versions] of Object.entries(PACKAGES))
    for (const v of Object.keys(versions))
      tarballs.set(
        `/${name}/-/${name}-${v}.tgz`,
        await packFiles(join(root, 'scratch'), { 'package.json': JSON.stringify({ name, version: v }) }),
      );
  upstream = createServer((req, res) => {
    const base = `http://${req.headers.host}`;
    const t = tarballs.get(req.url ?? '');
    const versions = PACKAGES[(req.url ?? '').slice(1)];
    if (t) return void res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(t.buffer);
    if (!versions) return void res.writeHead(404).end('{}');
    const name = (req.url ?? '').slice(1);
    const time: Record<string, string> = {};
    const out: Record<string, unknown> = {};
    for (const [v, age] of Object.entries(versions)) {
      const tb = tarballs.get(`/${name}/-/${name}-${v}.tgz`)!;
      time[v] = new Date(now - age).toISOString();
      out[v] = { name, version: v, dist: { tarball: `${base}/${name}/-/${name}-${v}.tgz`, integrity: tb.integrity, shasum: tb.shasum } };
    }
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ name, 'dist-tags': { latest: Object.keys(versions).at(-1) }, versions: out, time }));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
}

async function cli(args: string[]): Promise<{ code: number; stdout: string }> {
  const where = ['--listen', `127.0.0.1:${daemon.port}`, '--data-dir', daemon.dataDir];
  try {
    const r = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'daemon/cli.ts'), ...args, ...where], {
      cwd: ROOT,
      timeout: 60_000,
    });
    return { code: 0, stdout: r.stdout };
  } catch (err) {
    const e = err as { code?: number; stdout?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '' };
  }
}

before(async () => {
  root = await tempDir('larder-policy-explain-');
  const osv = join(root, 'osv');
  await mkdir(osv, { recursive: true });
  const url = await startUpstream();
  const config = { remotes: { local: { type: 'npm', url: `${url}/` } }, policy: { minAge: '7d', blocklist: { osv } } } as const;
  // First run: bar@1.0.1 is not listed yet and gets cached.
  const first = await startTestDaemon(config);
  const res = await fetch(`${first.url}/npm/bar/-/bar-1.0.1.tgz`);
  assert.equal(res.status, 200);
  await res.arrayBuffer();
  await first.close({ keepData: true });
  await writeFile(
    join(osv, 'MAL-2026-0002.json'),
    JSON.stringify({
      id: 'MAL-2026-0002',
      summary: 'Malicious code in bar (npm)',
      affected: [{ package: { ecosystem: 'npm', name: 'bar' }, versions: ['1.0.1'] }],
    }),
  );
  daemon = await startTestDaemon(config, { dataDir: first.dataDir });
});

after(async () => {
  await daemon?.close();
  await new Promise((resolve) => upstream?.close(resolve));
  if (root) await rm(root, { recursive: true, force: true });
});

test('a blocked tarball cached before the record was loaded is quarantined at start and listed by GET /policy', async () => {
  const admin = adminClient(daemon.url, await adminToken(daemon.dataDir));
  const status = await waitFor(
    async () => {
      const s = await admin.ok<PolicyStatus>('GET', '/policy');
      return s.quarantined.length > 0 && s;
    },
    10_000,
    'the quarantine sweep',
  );
  assert.deepEqual(
    status.quarantined.map((q) => [q.protocol, q.name, q.version, q.id, q.key]),
    [['npm', 'bar', '1.0.1', 'MAL-2026-0002', 'npm:local:tgz:bar/bar-1.0.1.tgz']],
  );
  assert.deepEqual(status.blocklist.records, [
    {
      id: 'MAL-2026-0002',
      summary: 'Malicious code in bar (npm)',
      affected: [{ ecosystem: 'npm', name: 'bar', versions: ['1.0.1'], ranges: 0 }],
    },
  ]);
  assert.equal(status.minAge, '7d');
  assert.equal((await readdir(join(daemon.dataDir, 'quarantine'))).length, 1, 'the blob was moved to the quarantine folder');
  assert.deepEqual(await admin.entries('bar-1.0.1'), [], 'its index entry is gone');
  assert.equal((await fetch(`${daemon.url}/npm/bar/-/bar-1.0.1.tgz`)).status, 403);
});

test('GET /policy/explain says held back until when, allowed, blocked by which record, and pinned', async () => {
  const admin = adminClient(daemon.url, await adminToken(daemon.dataDir));
  const explain = (ref: string) => admin.ok<PolicyExplanation>('GET', `/policy/explain?ref=${encodeURIComponent(ref)}`);
  const held = await explain('npm:foo@2.0.0');
  assert.equal(held.verdict, 'held');
  assert.equal(held.remote, 'local');
  assert.equal(held.minAge, '7d');
  assert.equal(held.published, new Date(now - 2 * DAY).toISOString());
  assert.equal(held.until, new Date(now + 5 * DAY).toISOString());
  assert.match(held.message, /foo@2\.0\.0 is held back by the Larder policy minAge 7d/);
  const old = await explain('npm:foo@1.0.0');
  assert.deepEqual([old.verdict, old.because], ['allowed', 'old-enough']);
  const blocked = await explain('npm:bar@1.0.1');
  assert.equal(blocked.verdict, 'blocked');
  assert.deepEqual(blocked.osv, { id: 'MAL-2026-0002', summary: 'Malicious code in bar (npm)' });
  assert.equal(blocked.quarantined.length, 1);
  await admin.ok('POST', '/pins', { ref: 'npm:foo@2.0.0' });
  const pinned = await explain('npm:foo@2.0.0');
  assert.deepEqual([pinned.verdict, pinned.because, pinned.pinned], ['allowed', 'pinned', true]);
  assert.equal((await admin.call('GET', '/policy/explain?ref=npm:foo@^1')).status, 400);
  assert.equal((await admin.call('GET', '/policy/explain?ref=npm:foo@9.9.9')).status, 404);
});

test('larder policy explain and status print the same answers', async () => {
  const held = await cli(['policy', 'explain', 'npm:bar@1.0.1']);
  assert.equal(held.code, 1, 'not allowed: exit 1');
  assert.match(held.stdout, /^blocked: bar@1\.0\.1 is blocked by the Larder policy blocklist: MAL-2026-0002/);
  const ok = await cli(['policy', 'explain', 'npm:foo@1.0.0', '--json']);
  assert.equal(ok.code, 0);
  assert.equal((JSON.parse(ok.stdout) as PolicyExplanation).verdict, 'allowed');
  const status = await cli(['policy', 'status']);
  assert.equal(status.code, 0);
  assert.match(status.stdout, /minAge 7d {2}onBlocked refuse/);
  assert.match(status.stdout, /MAL-2026-0002 {2}npm:bar@1\.0\.1/);
  assert.match(status.stdout, /quarantined 1\n {2}npm:bar@1\.0\.1 {2}MAL-2026-0002/);
});
