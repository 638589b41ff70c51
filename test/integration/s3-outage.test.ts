/**
 * RADOS Gateway stopped under a daemon with `storage.s3` (one real Ceph
 * cluster for the file): hits from the local disk tier keep working with the
 * right bytes; /readyz fails within a few probes and says S3 is unreachable,
 * `larder_s3_up` drops to 0 and failed S3 requests are counted; a cold miss
 * (small, or large with its upload parts failing) still serves the client
 * verified bytes, stored nowhere; RGW back → /readyz
 * is ready again and the next cold miss is stored as usual.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startCephRgw, type CephRgw } from '../helpers/ceph.js';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { raw } from '../helpers/files-fixture/client.js';
import { startStaticUpstream, type StaticUpstream } from '../helpers/files-fixture/server.js';
import { waitFor } from '../helpers/wait.js';

let ceph: CephRgw;
let up: StaticUpstream;
let dir: string;
let d: TestDaemon;
const files = {
  warm: randomBytes(3 * 1024 * 1024 + 5),
  cold: randomBytes(1024 * 1024 + 3),
  // Above the 8 MiB part size: its parts go to S3 while it downloads, and fail.
  big: randomBytes(10 * 1024 * 1024 + 11),
  later: randomBytes(200_000),
};

before(async () => {
  ceph = await startCephRgw();
  dir = await tempDir('larder-s3-outage-');
  await mkdir(join(dir, 'root', 'f'), { recursive: true });
  for (const [name, body] of Object.entries(files)) await writeFile(join(dir, 'root', 'f', `${name}.bin`), body);
  up = await startStaticUpstream(join(dir, 'root'));
  up.headers = () => ({ 'cache-control': 'max-age=3600' }); // fresh for the whole test: a hit asks no one
  d = await startTestDaemon({
    storage: {
      s3: {
        endpoint: ceph.endpoint,
        bucket: `larder-${randomBytes(4).toString('hex')}`,
        region: 'us-east-1',
        accessKey: ceph.accessKey,
        secretKey: ceph.secretKey,
      },
    },
    remotes: { web: { type: 'http' as const, url: `${up.url}/f/`, layout: 'plain' as const, ttl: '1h' } },
  });
});

after(async () => {
  await d?.close();
  await up?.stop();
  await ceph?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function readyz(): Promise<{ status: number; body: { status: string; reason?: string } }> {
  const r = await raw(d.url, '/readyz');
  return { status: r.status, body: JSON.parse(r.body.toString()) as { status: string; reason?: string } };
}

async function metric(name: string): Promise<number | undefined> {
  const text = (await raw(d.url, '/metrics')).body.toString();
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum = (sum ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

test('RGW stopped: disk hits keep working, /readyz says why, a cold miss still serves verified bytes; RGW back: ready', async () => {
  const first = await raw(d.url, '/files/web/warm.bin');
  assert.equal(first.status, 200);
  assert.ok(first.body.equals(files.warm));
  assert.equal((await readyz()).status, 200);
  assert.equal(await metric('larder_s3_up'), 1);
  // The fill's commit (S3, then disk) may end after the client has its bytes: wait until it is a hit.
  await waitFor(async () => (await raw(d.url, '/files/web/warm.bin')).headers['x-larder-cache'] === 'HIT', 30_000, 'a committed hit', 100);
  assert.equal(up.hits.get('/f/warm.bin'), 1);

  await ceph.stopRgw();
  const down = await waitFor(
    async () => {
      const r = await readyz();
      return r.status === 503 && r.body;
    },
    60_000,
    '/readyz to fail with RGW stopped',
    200,
  );
  assert.equal(down.status, 'unavailable');
  assert.match(down.reason ?? '', /S3 unreachable/);
  assert.ok(!(down.reason ?? '').includes('127.0.0.1'), `no address in the anonymous /readyz body: ${down.reason}`);
  assert.equal(await metric('larder_s3_up'), 0);
  assert.ok(((await metric('larder_s3_errors_total')) ?? 0) > 0, 'failed S3 requests are counted');

  const hits = up.hits.get('/f/warm.bin');
  const hit = await raw(d.url, '/files/web/warm.bin');
  assert.equal(hit.headers['x-larder-cache'], 'HIT');
  assert.equal(hit.status, 200);
  assert.ok(hit.body.equals(files.warm), 'a hit from the disk tier has the right bytes');
  assert.equal(up.hits.get('/f/warm.bin'), hits, 'the hit asked no upstream');

  const cold = await raw(d.url, '/files/web/cold.bin');
  assert.equal(cold.status, 200, `cold miss with S3 down: ${cold.status} ${cold.body.toString().slice(0, 300)}`);
  assert.ok(cold.body.equals(files.cold), 'the cold miss served the right bytes');
  const coldAgain = await raw(d.url, '/files/web/cold.bin');
  assert.ok(coldAgain.status === 200 && coldAgain.body.equals(files.cold));
  assert.equal(up.hits.get('/f/cold.bin'), 2, 'not stored on this disk alone while S3 is down: still a miss');
  const big = await raw(d.url, '/files/web/big.bin');
  assert.equal(big.status, 200, `big cold miss with S3 down: ${big.status} ${big.body.toString().slice(0, 300)}`);
  assert.ok(big.body.equals(files.big), 'a cold miss whose parts cannot reach S3 still serves the right bytes');

  await ceph.startRgw();
  await waitFor(async () => (await readyz()).status === 200, 60_000, '/readyz to be ready with RGW back', 200);
  assert.equal(await metric('larder_s3_up'), 1);
  const later = await raw(d.url, '/files/web/later.bin');
  assert.equal(later.status, 200);
  assert.ok(later.body.equals(files.later));
  const again = await raw(d.url, '/files/web/later.bin');
  assert.equal(again.status, 200);
  assert.equal(up.hits.get('/f/later.bin'), 1, 'with S3 back a cold miss is stored again');
});
