/**
 * Memory bounds against a real daemon with a tiny budget (limits.memory
 * 8 MB, 2 fills, a short queue): several concurrent cold requests for
 * distinct multi-MB packuments either wait or get 503 E_BUSY with
 * Retry-After in npm's error format; none crash, every 200 is the right
 * document, and the refused ones succeed when asked again. Request bodies
 * past limits.maxBody get 413 E_TOO_LARGE, announced or not.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { startStaticUpstream, type StaticUpstream } from '../helpers/files-fixture/server.js';

const DOCS = 6;
let dir: string;
let up: StaticUpstream;
let d: TestDaemon;
const docs = new Map<string, { versions: Record<string, { dist: { integrity: string } }> }>();

/** A packument of about 3 MB. */
function packument(name: string): Buffer {
  const versions: Record<string, unknown> = {};
  for (let i = 0; i < 3000; i++) {
    const v = `1.${Math.floor(i / 100)}.${i % 100}`;
    versions[v] = {
      name,
      version: v,
      description: `${name} ${v} ${'x'.repeat(800)}`,
      dist: { tarball: `https://registry.example/${name}/-/${name}-${v}.tgz`, integrity: `sha512-${name}-${i}` },
    };
  }
  return Buffer.from(JSON.stringify({ name, 'dist-tags': { latest: '1.0.0' }, versions }));
}

before(async () => {
  dir = await tempDir('larder-limits-mem-');
  await mkdir(join(dir, 'root'), { recursive: true });
  up = await startStaticUpstream(join(dir, 'root'));
  for (let i = 0; i < DOCS; i++) {
    const name = `big-${i}`;
    const body = packument(name);
    docs.set(name, JSON.parse(body.toString()) as typeof docs extends Map<string, infer T> ? T : never);
    await writeFile(join(dir, 'root', name), body);
    up.slow.set(`/${name}`, 40); // each upstream answer takes a while: fills overlap
  }
  up.intercept = (path, _url, res) => {
    if (!path.includes('/security/audits')) return false;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    return true;
  };
  d = await startTestDaemon({
    remotes: { npmjs: { type: 'npm', url: `${up.url}/` } },
    limits: { memory: '8MB', fills: 2, queueTimeout: '100ms', maxBody: '1MB' },
  });
});

after(async () => {
  await d.close();
  await up.stop();
  await rm(dir, { recursive: true, force: true });
});

async function check(name: string, res: Response): Promise<'ok' | 'busy'> {
  const text = await res.text();
  if (res.status === 503) {
    assert.ok(Number(res.headers.get('retry-after')) >= 1, 'a 503 says when to retry');
    assert.equal((JSON.parse(text) as { code: string }).code, 'E_BUSY', 'in npm error format');
    return 'busy';
  }
  assert.equal(res.status, 200, text.slice(0, 200));
  const got = JSON.parse(text) as { name: string; versions: Record<string, { dist: { integrity: string } }> };
  const want = docs.get(name)!;
  assert.equal(got.name, name);
  assert.deepEqual(Object.keys(got.versions), Object.keys(want.versions));
  for (const [v, m] of Object.entries(want.versions)) assert.equal(got.versions[v]!.dist.integrity, m.dist.integrity);
  return 'ok';
}

test('concurrent cold fills past the budget wait or get 503 with Retry-After; every 200 is byte-correct', async () => {
  const names = [...docs.keys()];
  const first = await Promise.all(names.map(async (n) => check(n, await fetch(`${d.url}/npm/${n}`))));
  assert.ok(first.includes('ok'), 'some were served');
  assert.ok(first.includes('busy'), 'the fills past the budget were refused, not all held at once');
  // Asked again after Retry-After (a few times: a retried fill can find the budget still held by documents being written).
  for (const [i, n] of names.entries()) {
    let state = first[i];
    for (let attempt = 0; state === 'busy' && attempt < 10; attempt++) {
      await sleep(1000);
      state = await check(n, await fetch(`${d.url}/npm/${n}`));
    }
    assert.equal(state, 'ok', 'served when asked again');
  }
  const health = await fetch(`${d.url}/healthz`);
  assert.equal(health.status, 200, 'the daemon is still up');
});

/** POSTs `size` bytes to the audit endpoint, with or without Content-Length. */
function post(size: number, announce: boolean): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${d.url}/npm/-/npm/v1/security/audits/quick`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(announce ? { 'content-length': String(size) } : {}) },
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let left = size;
    const write = (): void => {
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        left -= n;
        if (!req.write(chunk.subarray(0, n))) return void req.once('drain', write);
      }
      req.end();
    };
    write();
  });
}

test('request bodies past limits.maxBody get 413 E_TOO_LARGE, with or without Content-Length', async () => {
  const small = await post(1000, true);
  assert.equal(small.status, 200);
  for (const announce of [true, false]) {
    const big = await post(3 * 1024 * 1024, announce).catch(() => undefined);
    if (!announce && big === undefined) continue; // the daemon may close the socket while the client still writes
    assert.ok(big, 'answered');
    assert.equal(big.status, 413, big.body);
    assert.equal((JSON.parse(big.body) as { code: string }).code, 'E_TOO_LARGE');
  }
});
