/**
 * The watched OSV blocklist: a MAL- record dropped into the daemon's
 * `policy.blocklist.osv` folder blocks its version without a restart (the
 * Go `@v/list` leaves it out, its `.zip` is refused 403), and removing the
 * record lets it through again; a blocklist given as a `.zip` is read at
 * start and re-read when the zip is replaced. The daemon's cached copy of a
 * newly blocked version is quarantined.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { adminClient, adminToken } from '../helpers/admin-e2e.js';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { waitFor } from '../helpers/wait.js';

const VERSIONS = ['v1.0.0', 'v1.1.0'];
const record = (id: string) =>
  JSON.stringify({
    id,
    summary: 'Malicious code',
    affected: [{ package: { ecosystem: 'Go', name: 'example.com/baz' }, versions: ['1.1.0'] }],
  });

function zipOf(path: string, files: Record<string, string>): void {
  const script =
    'import json,sys,zipfile\nwith zipfile.ZipFile(sys.argv[1],"w",zipfile.ZIP_DEFLATED) as z:\n' +
    '  [z.writestr(n,t) for n,t in json.loads(sys.argv[2]).items()]\n';
  execFileSync('python3', ['-c', script, path, JSON.stringify(files)]);
}

describe('the watched OSV blocklist', () => {
  let work: string;
  let upstream: Server;
  let remoteUrl: string;

  before(async () => {
    work = await tempDir('larder-osv-watch-');
    upstream = createServer((req, res) => {
      const m = /^\/example\.com\/baz\/@v\/(list|(v[^/]+)\.(info|mod|zip))$/.exec(req.url ?? '');
      if (!m) return void res.writeHead(404).end('not found\n');
      if (m[1] === 'list') return void res.writeHead(200).end(VERSIONS.map((v) => `${v}\n`).join(''));
      if (!VERSIONS.includes(m[2]!)) return void res.writeHead(404).end('not found\n');
      if (m[3] === 'info') return void res.writeHead(200).end(JSON.stringify({ Version: m[2], Time: '2024-01-01T00:00:00Z' }));
      if (m[3] === 'mod') return void res.writeHead(200).end('module example.com/baz\n');
      res.writeHead(200).end(`zip of ${m[2]}`);
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    remoteUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/`;
  });

  after(async () => {
    await new Promise((r) => upstream?.close(r));
    if (work) await rm(work, { recursive: true, force: true });
  });

  const list = async (d: TestDaemon): Promise<string> => (await fetch(`${d.url}/go/example.com/baz/@v/list`)).text();

  it('a record dropped into the folder blocks its version without a restart; removing it lifts the block', async () => {
    const osv = join(work, 'osv');
    await mkdir(osv, { recursive: true });
    const daemon = await startTestDaemon({ remotes: { gomain: { type: 'go', url: remoteUrl, ttl: 0 } }, policy: { blocklist: { osv } } });
    try {
      assert.equal(await list(daemon), 'v1.0.0\nv1.1.0\n');
      assert.equal((await fetch(`${daemon.url}/go/example.com/baz/@v/v1.1.0.zip`)).status, 200, 'cached before the record arrives');
      const admin = adminClient(daemon.url, await adminToken(daemon.dataDir));
      // The fill commits after the answer: the record must find the zip in the index.
      await waitFor(
        async () => (await admin.entries('baz')).some((e) => e.key === 'go:gomain:zip:example.com/baz@v1.1.0'),
        10_000,
        'the zip to be committed',
      );
      // Written elsewhere and moved in, as an importer would.
      await writeFile(join(work, 'MAL-2026-0300.json.tmp'), record('MAL-2026-0300'));
      await rename(join(work, 'MAL-2026-0300.json.tmp'), join(osv, 'MAL-2026-0300.json'));
      await waitFor(async () => (await list(daemon)) === 'v1.0.0\n', 10_000, 'the dropped record to block v1.1.0');
      const refused = await fetch(`${daemon.url}/go/example.com/baz/@v/v1.1.0.zip`);
      assert.equal(refused.status, 403);
      assert.match(await refused.text(), /example\.com\/baz@v1\.1\.0 is blocked by the Larder policy blocklist: MAL-2026-0300/);
      const quarantined = await waitFor(
        async () => {
          const s = await admin.ok<{ quarantined: Array<{ name: string; version: string }> }>('GET', '/policy');
          return s.quarantined.length > 0 && s.quarantined;
        },
        10_000,
        'the cached zip to be quarantined',
      );
      assert.ok(
        quarantined.some((q) => q.name === 'example.com/baz' && q.version === 'v1.1.0'),
        JSON.stringify(quarantined),
      );

      await unlink(join(osv, 'MAL-2026-0300.json'));
      await waitFor(async () => (await list(daemon)) === 'v1.0.0\nv1.1.0\n', 10_000, 'the removed record to lift the block');
      assert.equal((await fetch(`${daemon.url}/go/example.com/baz/@v/v1.1.0.zip`)).status, 200);
    } finally {
      await daemon.close();
    }
  });

  it('a zip blocklist is read at start and again when it is replaced', async () => {
    const zip = join(work, 'go.zip');
    zipOf(zip, { 'MAL-2026-0301.json': record('MAL-2026-0301') });
    const daemon = await startTestDaemon({
      remotes: { gomain: { type: 'go', url: remoteUrl, ttl: 0 } },
      policy: { blocklist: { osv: zip } },
    });
    try {
      assert.equal(await list(daemon), 'v1.0.0\n');
      zipOf(join(work, 'next.zip'), { 'README.txt': 'no records' });
      await rename(join(work, 'next.zip'), zip);
      await waitFor(async () => (await list(daemon)) === 'v1.0.0\nv1.1.0\n', 10_000, 'the replaced zip to lift the block');
    } finally {
      await daemon.close();
    }
  });
});
