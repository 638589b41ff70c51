/**
 * Conda channels through Larder at the HTTP level (no conda binary on these
 * machines), against a generated channel: index documents in every form
 * passed through byte for byte with the upstream's validators, revalidated
 * and never older than the upstream's answer while it is up (even when it
 * allows stale-while-revalidate), a client-shaped flow (repodata, then
 * every package it lists, in parallel as conda downloads), packages and
 * CEP-16 shards verified (corrupt ones refused, never committed), and the
 * cache serving with the upstream stopped.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { scanRecords } from '../../daemon/protocols/conda/record-scan.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { buildPackage, type CondaPackage, repodata } from '../helpers/conda/channel.js';
import { StaticHost } from '../helpers/helm/static-host.js';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

const pkgs: CondaPackage[] = [
  buildPackage('linux-64', 'zlib', '1.3.1', '.conda'),
  buildPackage('linux-64', 'libfoo', '2.0', '.conda', ['zlib >=1.3']),
  buildPackage('linux-64', 'oldpkg', '0.9', '.tar.bz2'),
  buildPackage('noarch', 'purepy', '1.0', '.conda'),
  buildPackage('noarch', 'legacy-py', '0.1', '.tar.bz2'),
];
const bad = buildPackage('linux-64', 'badpkg', '1.0', '.conda');
// Larder never decodes these: opaque bytes with the formats' magic numbers are enough to check byte-exact passing.
const zst = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), randomBytes(3000)]);
const bz2 = Buffer.concat([Buffer.from('BZh9'), randomBytes(3000)]);
const shard = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), randomBytes(900)]);
const shardIndex = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), randomBytes(400)]);

describe('conda channel over HTTP', () => {
  const up = new StaticHost();
  let daemon: TestDaemon;
  const docs = new Map<string, Buffer>();

  before(async () => {
    await up.start();
    const linux = pkgs.filter((p) => p.subdir === 'linux-64');
    docs.set('linux-64/repodata.json', Buffer.from(repodata('linux-64', [...linux, bad])));
    docs.set(
      'noarch/repodata.json',
      Buffer.from(
        repodata(
          'noarch',
          pkgs.filter((p) => p.subdir === 'noarch'),
        ),
      ),
    );
    docs.set('linux-64/current_repodata.json', Buffer.from(repodata('linux-64', linux.slice(0, 1))));
    docs.set('linux-64/repodata.json.zst', zst);
    docs.set('linux-64/repodata.json.bz2', bz2);
    docs.set('linux-64/repodata_shards.msgpack.zst', shardIndex);
    docs.set('channeldata.json', Buffer.from(JSON.stringify({ channeldata_version: 1, packages: {}, subdirs: ['linux-64', 'noarch'] })));
    for (const [path, body] of docs)
      up.set(`/forge/${path}`, body, path.endsWith('.json') ? 'application/json' : 'application/octet-stream');
    for (const p of [...pkgs, bad]) up.set(`/forge/${p.subdir}/${p.file}`, p.body);
    up.set(`/forge/linux-64/shards/${sha256(shard)}.msgpack.zst`, shard);
    daemon = await startTestDaemon({
      remotes: { forge: { type: 'conda', url: `${up.url}/forge/`, ttl: '1h' }, live: { type: 'conda', url: `${up.url}/forge/`, ttl: 0 } },
    });
  });

  after(async () => {
    await daemon?.close();
    await up.stop();
  });

  const get = (path: string, headers: Record<string, string> = {}): Promise<Response> => fetch(`${daemon.url}${path}`, { headers });
  const bytes = async (r: Response): Promise<Buffer> => Buffer.from(await r.arrayBuffer());

  it('passes every index document through byte for byte, with the upstream ETag', async () => {
    for (const [path, body] of docs) {
      const r = await get(`/conda/forge/${path}`);
      assert.equal(r.status, 200, path);
      assert.ok((await bytes(r)).equals(body), `${path}: byte-exact`);
      assert.equal(r.headers.get('etag'), `"${sha256(body).slice(0, 32)}"`, `${path}: the upstream's ETag`);
      const again = await get(`/conda/forge/${path}`);
      assert.equal(again.headers.get('x-larder-cache'), 'HIT', path);
      assert.ok((await bytes(again)).equals(body));
      assert.equal(up.count(`/forge/${path}`), 1, `${path}: one upstream fetch within the TTL`);
      const cond = await get(`/conda/forge/${path}`, { 'if-none-match': r.headers.get('etag')! });
      assert.equal(cond.status, 304, `${path}: conda's conditional request`);
    }
  });

  it('client-shaped flow: repodata of each subdir, then every package it lists, in parallel; then all hits', async () => {
    for (const pass of ['MISS', 'HIT']) {
      for (const subdir of ['linux-64', 'noarch']) {
        const doc = JSON.parse((await bytes(await get(`/conda/forge/${subdir}/repodata.json`))).toString()) as {
          packages: Record<string, { sha256: string; size: number }>;
          'packages.conda': Record<string, { sha256: string; size: number }>;
        };
        const listed = { ...doc.packages, ...doc['packages.conda'] };
        const names = Object.keys(listed).filter((f) => !f.startsWith('badpkg'));
        const got = await Promise.all(names.map(async (f) => [f, await get(`/conda/forge/${subdir}/${f}`)] as const));
        for (const [f, r] of got) {
          assert.equal(r.status, 200, f);
          assert.equal(r.headers.get('x-larder-cache'), pass, `${pass} ${f}`);
          const b = await bytes(r);
          assert.equal(sha256(b), listed[f]!.sha256, f);
          assert.equal(b.length, listed[f]!.size);
        }
      }
    }
    for (const p of pkgs) assert.equal(up.count(`/forge/${p.subdir}/${p.file}`), 1, `${p.file}: fetched once`);
  });

  it('refuses a package that does not match its repodata sha256 and never commits it', async () => {
    const path = `/forge/linux-64/${bad.file}`;
    up.setCorrupt(path, true);
    for (let i = 1; i <= 2; i++) {
      const r = await get(`/conda/forge/linux-64/${bad.file}`);
      const body = await bytes(r).catch(() => undefined);
      assert.ok(r.status >= 400 || body === undefined, `a corrupt package must not be a clean ${r.status}`);
      assert.equal(up.count(path), i, 'asked again: nothing was committed');
    }
    up.setCorrupt(path, false);
    const good = await get(`/conda/forge/linux-64/${bad.file}`);
    assert.equal(good.status, 200);
    assert.ok((await bytes(good)).equals(bad.body));
  });

  it('answers a package repodata does not list with 404 and never asks the upstream for it', async () => {
    up.set('/forge/linux-64/ghost-1.0-h0_0.conda', randomBytes(100));
    const r = await get('/conda/forge/linux-64/ghost-1.0-h0_0.conda');
    assert.equal(r.status, 404);
    assert.equal(up.count('/forge/linux-64/ghost-1.0-h0_0.conda'), 0);
  });

  it('a package newer than the cached repodata: the document is revalidated once and the package verified', async () => {
    const fresh = buildPackage('linux-64', 'brandnew', '1.0', '.conda');
    const before = up.count('/forge/linux-64/repodata.json');
    up.set(
      '/forge/linux-64/repodata.json',
      Buffer.from(repodata('linux-64', [...pkgs.filter((p) => p.subdir === 'linux-64'), bad, fresh])),
    );
    up.set(`/forge/linux-64/${fresh.file}`, fresh.body);
    const r = await get(`/conda/forge/linux-64/${fresh.file}`);
    assert.equal(r.status, 200);
    assert.ok((await bytes(r)).equals(fresh.body));
    assert.equal(up.count('/forge/linux-64/repodata.json'), before + 1, 'repodata fetched again once, within its TTL');
    up.set('/forge/linux-64/repodata.json', docs.get('linux-64/repodata.json')!, 'application/json');
  });

  it('serves CEP-16 shards verified by the sha256 of their name', async () => {
    const hex = sha256(shard);
    const r = await get(`/conda/forge/linux-64/shards/${hex}.msgpack.zst`);
    assert.equal(r.status, 200);
    assert.ok((await bytes(r)).equals(shard));
    assert.equal((await get(`/conda/forge/linux-64/shards/${hex}.msgpack.zst`)).headers.get('x-larder-cache'), 'HIT');
    const wrong = 'e'.repeat(64);
    up.set(`/forge/linux-64/shards/${wrong}.msgpack.zst`, shard);
    const w = await get(`/conda/forge/linux-64/shards/${wrong}.msgpack.zst`);
    const body = await bytes(w).catch(() => undefined);
    assert.ok(w.status >= 400 || body === undefined, 'a shard whose bytes do not hash to its name is refused');
  });

  it('revalidates repodata after its TTL (304 upstream) and shows a new upstream version at once', async () => {
    const path = 'linux-64/repodata.json';
    assert.equal((await get(`/conda/live/${path}`)).headers.get('x-larder-cache'), 'MISS');
    const before = up.notModified.get(`/forge/${path}`) ?? 0;
    const r = await get(`/conda/live/${path}`);
    assert.equal(r.headers.get('x-larder-cache'), 'REVALIDATED');
    assert.equal(up.notModified.get(`/forge/${path}`), before + 1);
    const newer = Buffer.from(repodata('linux-64', pkgs.slice(0, 2)));
    up.set(`/forge/${path}`, newer, 'application/json');
    assert.ok((await bytes(await get(`/conda/live/${path}`))).equals(newer));
    up.set(`/forge/${path}`, docs.get(path)!, 'application/json');
  });

  it('never answers older than the upstream while it is up, even when the upstream allows stale-while-revalidate', async () => {
    const path = '/forge/noarch/current_repodata.json';
    const v1 = Buffer.from(repodata('noarch', pkgs.slice(3, 4)));
    const v2 = Buffer.from(repodata('noarch', pkgs.slice(3, 5)));
    const cc = { 'cache-control': 'public, max-age=0, stale-while-revalidate=3600' };
    up.set(path, v1, 'application/json', cc);
    assert.ok((await bytes(await get('/conda/forge/noarch/current_repodata.json'))).equals(v1));
    up.set(path, v2, 'application/json', cc);
    const r = await get('/conda/forge/noarch/current_repodata.json');
    assert.notEqual(r.headers.get('x-larder-cache'), 'STALE');
    assert.ok((await bytes(r)).equals(v2), "the upstream's current answer, not the cached one");
  });

  it('with the upstream stopped: repodata served STALE, cached packages and shards are hits', async () => {
    const path = '/conda/live/linux-64/repodata.json';
    const warm = await bytes(await get(path));
    await up.stop();
    const r = await get(path);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-larder-cache'), 'STALE');
    assert.ok((await bytes(r)).equals(warm));
    for (const p of pkgs) {
      const pr = await get(`/conda/forge/${p.subdir}/${p.file}`);
      assert.equal(pr.status, 200);
      assert.equal(pr.headers.get('x-larder-cache'), 'HIT');
      assert.ok((await bytes(pr)).equals(p.body));
    }
    assert.equal((await get(`/conda/forge/linux-64/shards/${sha256(shard)}.msgpack.zst`)).headers.get('x-larder-cache'), 'HIT');
  });
});

describe('conda: the streaming record scan', () => {
  it('finds records split across any chunk boundary, and only package keys', async () => {
    const a = 'a'.repeat(64);
    const doc = JSON.stringify(
      {
        info: { subdir: 'linux-64', note: 'fake "x.conda": {"sha256": "bad"}' },
        packages: { 'x-1-0.tar.bz2': { fn: 'x-1-0.tar.bz2', depends: ['y {z}', 'w ]['], sha256: a, size: 3 } },
        'packages.conda': { 'x.conda': { sha256: 'B'.repeat(64), size: 5, nested: { a: [1, { b: '}' }] } } },
        removed: ['gone-1-0.conda'],
      },
      null,
      1,
    );
    for (const size of [1, 2, 5, 13, 4096]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < doc.length; i += size) chunks.push(Buffer.from(doc.slice(i, i + size)));
      const found = await scanRecords(Readable.from(chunks), new Set(['x-1-0.tar.bz2', 'x.conda', 'gone-1-0.conda']));
      assert.deepEqual(
        [...found],
        [
          ['x-1-0.tar.bz2', { sha256: a, size: 3 }],
          ['x.conda', { sha256: 'b'.repeat(64), size: 5 }],
        ],
        `chunks of ${size}`,
      );
    }
  });
});
