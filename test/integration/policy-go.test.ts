/**
 * The supply-chain policy on the Go module proxy, at the HTTP level: a
 * module with versions published "now", "2 days ago" and "a month ago"
 * (`.info` `Time`) under `minAge: 7d`, and a MAL- OSV record for one version
 * of another module. Refusals are 403 so the go command stops rather than
 * falling through to the next GOPROXY entry.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';

const DAY = 86_400_000;
/** Module → version → age in ms. */
const MODULES: Record<string, Record<string, number>> = {
  'example.com/foo': { 'v1.0.0': 30 * DAY, 'v1.1.0': 2 * DAY, 'v1.2.0': 0 },
  'example.com/bar': { 'v1.0.0': 60 * DAY, 'v1.0.1': 40 * DAY },
};

describe('policy on the go module proxy', () => {
  let work: string;
  let upstream: Server;
  let daemon: TestDaemon;
  let base: string;

  before(async () => {
    work = await tempDir('larder-policy-go-');
    const osv = join(work, 'osv');
    await mkdir(osv, { recursive: true });
    await writeFile(
      join(osv, 'MAL-2026-0003.json'),
      JSON.stringify({
        id: 'MAL-2026-0003',
        summary: 'Malicious code in example.com/bar',
        affected: [{ package: { ecosystem: 'Go', name: 'example.com/bar' }, versions: ['1.0.1'] }],
      }),
    );
    const now = Date.now();
    upstream = createServer((req, res) => {
      const m = /^\/(.+)\/@(v\/list|latest|v\/(v[^/]+)\.(info|mod|zip))$/.exec(req.url ?? '');
      const versions = m ? MODULES[m[1]!] : undefined;
      if (!m || !versions) return void res.writeHead(404).end('not found\n');
      const info = (v: string): string => JSON.stringify({ Version: v, Time: new Date(now - versions[v]!).toISOString() });
      const list = Object.keys(versions);
      if (m[2] === 'v/list') return void res.writeHead(200).end(list.map((v) => `${v}\n`).join(''));
      if (m[2] === 'latest') return void res.writeHead(200).end(info(list.at(-1)!));
      const v = m[3]!;
      if (!Object.hasOwn(versions, v)) return void res.writeHead(404).end('not found\n');
      if (m[4] === 'info') return void res.writeHead(200).end(info(v));
      if (m[4] === 'mod') return void res.writeHead(200).end(`module ${m[1]}\n`);
      res.writeHead(200).end(Buffer.from(`zip of ${m[1]}@${v}`));
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    daemon = await startTestDaemon({
      remotes: { gomain: { type: 'go', url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/` } },
      policy: { minAge: '7d', blocklist: { osv } },
    });
    base = `${daemon.url}/go`;
  });

  after(async () => {
    await daemon?.close();
    await new Promise((r) => upstream?.close(r));
    await rm(work, { recursive: true, force: true });
  });

  it('@v/list leaves held-back and blocked versions out', async () => {
    assert.equal(await (await fetch(`${base}/example.com/foo/@v/list`)).text(), 'v1.0.0\n');
    assert.equal(await (await fetch(`${base}/example.com/bar/@v/list`)).text(), 'v1.0.0\n');
  });

  it('@latest answers the newest allowed version', async () => {
    const r = await fetch(`${base}/example.com/foo/@latest`);
    assert.equal(r.status, 200);
    assert.equal(((await r.json()) as { Version: string }).Version, 'v1.0.0');
    const b = await fetch(`${base}/example.com/bar/@latest`);
    assert.equal(((await b.json()) as { Version: string }).Version, 'v1.0.0');
  });

  it('refuses .info, .mod and .zip of a held-back version with 403 naming the policy', async () => {
    for (const kind of ['info', 'mod', 'zip']) {
      const r = await fetch(`${base}/example.com/foo/@v/v1.2.0.${kind}`);
      assert.equal(r.status, 403, kind);
      assert.match(await r.text(), /example\.com\/foo@v1\.2\.0 is held back by the Larder policy minAge 7d: published .*, allowed from /);
    }
    assert.equal((await fetch(`${base}/example.com/foo/@v/v1.0.0.zip`)).status, 200);
  });

  it('refuses the blocked version, serves the others', async () => {
    const r = await fetch(`${base}/example.com/bar/@v/v1.0.1.zip`);
    assert.equal(r.status, 403);
    assert.match(await r.text(), /example\.com\/bar@v1\.0\.1 is blocked by the Larder policy blocklist: MAL-2026-0003/);
    assert.equal((await fetch(`${base}/example.com/bar/@v/v1.0.0.mod`)).status, 200);
  });
});
