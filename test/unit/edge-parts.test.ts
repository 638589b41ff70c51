/**
 * Units of mirror hierarchies and bundles: the ustar writer/reader against
 * GNU tar (both directions, base-256 sizes), the upstream → parent URL
 * mapping of each protocol, Via handling, and the feed's long poll.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { fileHeader, padding, TarReader, trailer } from '../../daemon/bundle/ustar.js';
import { outgoingVia, viaIncludes, viaNames, withIncomingVia } from '../../daemon/core/hops.js';
import type { KvTable } from '../../daemon/core/ports.js';
import { PinFeed } from '../../daemon/replication/feed.js';
import { parentPrefixes, routeThroughParent } from '../../daemon/upstream/parent-route.js';
import type { RemoteConfig } from '../../daemon/config/schema.js';
import { PROTOCOLS } from '../../daemon/protocols/registry.js';

const run = promisify(execFile);

function memTable<T>(): KvTable<T> {
  const m = new Map<string, T>();
  return {
    get: (k) => m.get(k),
    put: async (k, v) => void m.set(k, v),
    remove: async (k) => void m.delete(k),
    range: (o = {}) => {
      let keys = [...m.keys()].sort();
      if (o.start !== undefined) keys = keys.filter((k) => k >= o.start!);
      if (o.reverse) keys.reverse();
      if (o.limit !== undefined) keys = keys.slice(0, o.limit);
      return keys.map((k): [string, T] => [k, m.get(k)!]);
    },
  };
}

test('ustar: what we write GNU tar reads, and what GNU tar writes we read', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'larder-ustar-'));
  try {
    const a = Buffer.from('{"x":1}');
    const b = Buffer.alloc(1000, 7);
    const ours = Buffer.concat([
      fileHeader('manifest.json', a.length),
      a,
      padding(a.length),
      fileHeader('blobs/sha256/ab', b.length),
      b,
      padding(b.length),
      trailer(),
    ]);
    await writeFile(join(dir, 'ours.tar'), ours);
    assert.deepEqual(
      (await run('tar', ['-tvf', join(dir, 'ours.tar')])).stdout
        .trim()
        .split('\n')
        .map((l) => l.split(/\s+/).pop()),
      ['manifest.json', 'blobs/sha256/ab'],
    );
    assert.equal((await run('tar', ['-xOf', join(dir, 'ours.tar'), 'manifest.json'])).stdout, '{"x":1}');

    await writeFile(join(dir, 'manifest.json'), a);
    const long = `${'d'.repeat(60)}/${'f'.repeat(70)}`;
    await run('mkdir', ['-p', join(dir, 'src', 'd'.repeat(60))]);
    await writeFile(join(dir, 'src', long), b);
    await run('tar', ['--format=pax', '-cf', join(dir, 'gnu.tar'), '-C', join(dir, 'src'), '.']);
    const reader = new TarReader(createReadStream(join(dir, 'gnu.tar')));
    const seen: Array<[string, string, number]> = [];
    for (let e = await reader.next(); e; e = await reader.next()) {
      let n = 0;
      for await (const c of reader.body()) n += c.length;
      seen.push([e.name, e.type, n]);
    }
    assert.deepEqual(
      seen.filter(([, t]) => t === '0'),
      [[long, '0', 1000]],
      'pax long names are read',
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('ustar: sizes past 8 GiB use base-256 and read back; a bad checksum or a cut body is refused', async () => {
  const big = fileHeader('blobs/sha256/x', 9 * 1024 ** 3);
  assert.equal(big[124]! & 0x80, 0x80);
  const r = new TarReader(
    (async function* () {
      yield big;
    })(),
  );
  const e = await r.next();
  assert.equal(e?.size, 9 * 1024 ** 3);
  const bad = Buffer.from(fileHeader('a', 10));
  bad[0] = 0x62;
  await assert.rejects(
    new TarReader(
      (async function* () {
        yield bad;
      })(),
    ).next(),
    /checksum/,
  );
  const cut = new TarReader(
    (async function* () {
      yield fileHeader('a', 10);
      yield Buffer.from('abc');
    })(),
  );
  await cut.next();
  await assert.rejects(cut.skip(), /ends in the middle/);
});

test('parent mapping: each protocol goes to the parent endpoint of the same remote, and back for the fallback', () => {
  const parent = new URL('http://region:7420/');
  const link = { base: parent, fallback: false, kinds: PROTOCOLS.flatMap((p) => p.remotes) };
  const cases: Array<[string, RemoteConfig, string, string]> = [
    [
      'npmjs',
      { type: 'npm', url: 'https://registry.npmjs.org/' } as RemoteConfig,
      'https://registry.npmjs.org/@s%2fn',
      'http://region:7420/npm/@s%2fn',
    ],
    [
      'hub',
      { type: 'oci', url: 'https://registry-1.docker.io', host: 'Docker.io' } as RemoteConfig,
      'https://registry-1.docker.io/v2/library/a/blobs/sha256:1',
      'http://region:7420/v2/docker.io/library/a/blobs/sha256:1',
    ],
    [
      'pypi',
      { type: 'pypi', url: 'https://pypi.org/simple/' } as RemoteConfig,
      'https://pypi.org/simple/numpy/',
      'http://region:7420/pypi/pypi/simple/numpy/',
    ],
    [
      'golang',
      { type: 'go', url: 'https://proxy.golang.org/', sumdbs: ['sum.golang.org'] } as RemoteConfig,
      'https://sum.golang.org/lookup/x@v1',
      'http://region:7420/go/golang/sumdb/sum.golang.org/lookup/x@v1',
    ],
    [
      'golang',
      { type: 'go', url: 'https://proxy.golang.org/', sumdbs: [] } as unknown as RemoteConfig,
      'https://proxy.golang.org/x/@v/list',
      'http://region:7420/go/golang/x/@v/list',
    ],
    [
      'central',
      { type: 'http', url: 'https://repo1.maven.org/maven2/' } as RemoteConfig,
      'https://repo1.maven.org/maven2/a/b.jar',
      'http://region:7420/files/central/a/b.jar',
    ],
  ];
  for (const [name, cfg, upstream, expected] of cases) {
    const base = new URL(cfg.url.endsWith('/') ? cfg.url : `${cfg.url}/`);
    const pairs = parentPrefixes(name, cfg, base, link);
    assert.deepEqual(routeThroughParent(upstream, pairs, parent), { parent: expected, upstream }, name);
    assert.deepEqual(routeThroughParent(expected, pairs, parent), { parent: expected, upstream }, `${name} back`);
  }
  const npm = parentPrefixes(
    'npmjs',
    { type: 'npm', url: 'https://registry.npmjs.org/' } as RemoteConfig,
    new URL('https://registry.npmjs.org/'),
    link,
  );
  assert.equal(routeThroughParent('https://elsewhere.example/x', npm, parent), undefined, 'other origins are not routed');
  assert.deepEqual(routeThroughParent('http://region:7420/_/other', npm, parent), { parent: 'http://region:7420/_/other' });
});

test('Via: appended to the incoming one, own name detected', () => {
  assert.equal(outgoingVia('larder-a'), '1.1 larder-a');
  assert.equal(
    withIncomingVia('1.1 proxy (squid), HTTP/1.1 larder-b', () => outgoingVia('larder-a')),
    '1.1 proxy (squid), HTTP/1.1 larder-b, 1.1 larder-a',
  );
  assert.deepEqual(viaNames('1.1 proxy (squid), HTTP/1.1 larder-b'), ['proxy', 'larder-b']);
  assert.equal(viaIncludes('1.1 larder-ab, 1.1 larder-b', 'larder-a'), false);
  assert.equal(viaIncludes('1.1 larder-ab, 1.1 larder-a', 'larder-a'), true);
});

test('feed: sequence numbers survive a reopen; a poll waits for the next record or returns after the wait', async () => {
  const table = memTable<import('../../daemon/admin/contract.js').FeedRecord>();
  const feed = new PinFeed(table);
  await feed.append({ kind: 'add', ref: 'npm:a@1', resolved: '1.0.0' });
  assert.equal(feed.head, 1);
  const t0 = Date.now();
  assert.deepEqual(await feed.poll(1, 150), []);
  assert.ok(Date.now() - t0 >= 140);
  const waiting = feed.poll(1, 5_000);
  setTimeout(() => void feed.append({ kind: 'remove', ref: 'npm:a@1' }), 50);
  const got = await waiting;
  assert.deepEqual(
    got.map((r) => [r.seq, r.kind]),
    [[2, 'remove']],
  );
  const again = new PinFeed(table);
  assert.equal(again.head, 2);
  assert.equal((await again.append({ kind: 'add', ref: 'npm:b@1' }))?.seq, 3);
  assert.deepEqual(
    again.since(0).map((r) => r.seq),
    [1, 2, 3],
  );
  const closing = again.poll(3, 10_000);
  again.close();
  assert.deepEqual(await closing, []);
});
