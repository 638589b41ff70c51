/**
 * The Hugging Face Hub through Larder with the JS client `@huggingface/hub`
 * (`snapshotDownload`, `downloadFile` with `hubUrl` pointed at `/hf`),
 * against a local Hub and a separate CDN host: cold and warm snapshots (warm
 * with the Hub stopped), a moved branch followed once its TTL passed, a
 * gated file refused without its token and served with it, a corrupt LFS
 * file refused and never committed, a dataset, and nothing about Xet.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { downloadFile, snapshotDownload } from '@huggingface/hub';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { FakeHub } from '../helpers/hf/hub-server.js';
import type { HubRepo } from '../helpers/hf/repos.js';

const TTL_MS = 1000;
const weights = randomBytes(300 * 1024 + 17);
const files = [
  { path: 'config.json', body: '{"model_type":"tiny"}\n' },
  { path: 'README.md', body: '# tiny\n' },
  { path: 'weights/model.safetensors', body: weights, lfs: true },
  { path: 'weights/extra/tokenizer.json', body: '{"vocab":{}}\n' },
];

async function text(blob: Blob | null): Promise<Buffer> {
  assert.ok(blob, 'the file exists');
  return Buffer.from(await blob.arrayBuffer());
}

describe('huggingface with @huggingface/hub', () => {
  const hub = new FakeHub();
  let daemon: TestDaemon;
  let work: string;
  let tiny: HubRepo;
  let hubUrl: string;

  before(async () => {
    await hub.start();
    work = await tempDir('larder-hf-');
    tiny = hub.repos.add('acme/tiny');
    hub.repos.commit(tiny, files);
    hub.repos.commit(hub.repos.add('acme/gated', { gatedToken: 'hf_good' }), [{ path: 'weights.bin', body: randomBytes(4096), lfs: true }]);
    hub.repos.commit(hub.repos.add('acme/data', { type: 'dataset' }), [
      { path: 'train/part-0.parquet', body: randomBytes(9000), lfs: true },
    ]);
    daemon = await startTestDaemon({ remotes: { hub: { type: 'huggingface', url: hub.url, ttl: `${TTL_MS}ms` } } });
    hubUrl = `${daemon.url}/hf`;
  });

  after(async () => {
    await daemon?.close();
    await hub.stop();
  });

  const snapshot = async (dir: string, repo: Parameters<typeof snapshotDownload>[0]['repo'] = 'acme/tiny'): Promise<string> =>
    snapshotDownload({ repo, hubUrl, cacheDir: join(work, dir) });

  it('cold snapshot: every file, verified, the LFS one fetched once from the CDN without credentials', async () => {
    const folder = await snapshot('cold');
    for (const f of files) assert.deepEqual(await readFile(join(folder, f.path)), Buffer.from(f.body), f.path);
    assert.equal(
      hub.count((s) => s.server === 'cdn' && s.method === 'GET'),
      1,
      'the LFS file came from the CDN once',
    );
    assert.equal(
      hub.count((s) => s.auth !== undefined),
      0,
      'no credentials anywhere',
    );
    const commit = tiny.refs.get('main')!;
    const again = await fetch(`${hubUrl}/acme/tiny/resolve/${commit}/weights/model.safetensors`, { method: 'HEAD' });
    assert.equal(again.headers.get('x-larder-cache'), 'HIT');
    assert.match(again.headers.get('x-linked-etag') ?? '', /^"[0-9a-f]{64}"$/);
    assert.equal(again.headers.get('x-linked-size'), String(weights.length));
    assert.equal(again.headers.get('x-repo-commit'), commit);
  });

  it('nothing Larder answers points a client at Xet', async () => {
    const info = await fetch(`${hubUrl}/api/models/acme/tiny/revision/main`);
    const tree = await fetch(`${hubUrl}/api/models/acme/tiny/tree/main?recursive=true`);
    const file = await fetch(`${hubUrl}/acme/tiny/resolve/main/weights/model.safetensors`, {
      headers: { accept: 'application/vnd.xet-fileinfo+json, */*', range: 'bytes=0-0' },
    });
    assert.equal(file.status, 206);
    await file.arrayBuffer();
    for (const r of [info, tree, file]) {
      for (const [k, v] of r.headers) assert.doesNotMatch(`${k}: ${v}`, /xet/i, r.url);
    }
    const listing = (await tree.json()) as Array<{ path: string }>;
    assert.equal(listing.length, 6, 'every page of the listing, in one answer');
    assert.doesNotMatch(JSON.stringify(listing), /xet/i);
    assert.doesNotMatch(await info.text(), /xet/i);
  });

  it('warm with the Hub stopped: the snapshot and its files come from the cache', async () => {
    await hub.stop();
    const folder = await snapshot('warm');
    for (const f of files) assert.deepEqual(await readFile(join(folder, f.path)), Buffer.from(f.body), f.path);
    const r = await fetch(`${hubUrl}/acme/tiny/resolve/main/weights/model.safetensors`, { method: 'HEAD' });
    assert.equal(r.status, 200);
    assert.ok(['STALE', 'HIT'].includes(r.headers.get('x-larder-cache') ?? ''));
    await hub.start(); // on the same ports, for the cases below
  });

  it('a moved branch is followed once its TTL has passed', async () => {
    const before = await text(await downloadFile({ repo: 'acme/tiny', path: 'config.json', hubUrl }));
    assert.equal(before.toString(), files[0]!.body);
    const moved = hub.repos.commit(tiny, [...files.slice(1), { path: 'config.json', body: '{"model_type":"tiny","v":2}\n' }]);
    await new Promise((r) => setTimeout(r, TTL_MS + 200));
    const after = await text(await downloadFile({ repo: 'acme/tiny', path: 'config.json', hubUrl }));
    assert.equal(after.toString(), '{"model_type":"tiny","v":2}\n');
    const folder = await snapshot('moved');
    assert.ok(folder.endsWith(moved), 'the snapshot of the new commit');
    assert.equal((await readFile(join(folder, 'config.json'))).toString(), '{"model_type":"tiny","v":2}\n');
    const head = await fetch(`${hubUrl}/acme/tiny/resolve/main/config.json`, { method: 'HEAD' });
    assert.equal(head.headers.get('x-repo-commit'), moved);
  });

  it('a gated file: refused without a token or with a wrong one, served with the right one (never the CDN with it)', async () => {
    const get = (accessToken?: string) =>
      downloadFile({ repo: 'acme/gated', path: 'weights.bin', hubUrl, ...(accessToken ? { accessToken } : {}) });
    await assert.rejects(get(), (e: { statusCode?: number }) => e.statusCode === 401);
    const body = await text(await get('hf_good'));
    assert.equal(body.length, 4096);
    // Cached for that token only: a request without it, or with another, is still refused.
    await assert.rejects(get(), (e: { statusCode?: number }) => e.statusCode === 401);
    await assert.rejects(get('hf_wrong'), (e: { statusCode?: number }) => e.statusCode === 403);
    const raw = await fetch(`${hubUrl}/acme/gated/resolve/main/weights.bin`);
    assert.equal(raw.status, 401);
    assert.equal(raw.headers.get('x-error-code'), 'GatedRepo');
    assert.ok(((await raw.json()) as { error?: string }).error);
    assert.equal(
      hub.count((s) => s.server === 'cdn' && s.auth !== undefined),
      0,
      'the CDN never saw a token',
    );
    const tokenSentFor = hub.seen.filter((s) => s.auth !== undefined).map((s) => s.path);
    assert.ok(tokenSentFor.length > 0);
    for (const p of tokenSentFor) assert.match(p, /^\/acme\/gated\/resolve\//, 'a token only goes to the gated repository');
  });

  it('a Larder token (lrd_…), valid or not, never reaches the Hub, even for a gated repository', async () => {
    const seen = hub.seen.length;
    const basic = `Basic ${Buffer.from('user:lrd_revoked0000000000000000').toString('base64')}`;
    for (const authorization of ['Bearer lrd_revoked0000000000000000', basic]) {
      const r = await fetch(`${hubUrl}/acme/gated/resolve/main/weights.bin`, { headers: { authorization } });
      assert.equal(r.status, 401, 'answered as without a token');
      assert.equal(r.headers.get('x-error-code'), 'GatedRepo');
      await r.arrayBuffer();
    }
    assert.deepEqual(
      hub.seen.slice(seen).filter((s) => s.auth !== undefined),
      [],
      'no credential went upstream',
    );
  });

  it('a cached gated file: served again to its token from the cache, refused once the Hub revoked that token', async () => {
    const url = `${hubUrl}/acme/gated/resolve/main/weights.bin`;
    const cdn = hub.count((s) => s.server === 'cdn');
    const hit = await fetch(url, { headers: { authorization: 'Bearer hf_good' } });
    assert.equal(hit.status, 200);
    assert.equal((await hit.arrayBuffer()).byteLength, 4096);
    assert.equal(
      hub.count((s) => s.server === 'cdn'),
      cdn,
      'from the cache',
    );
    const gated = hub.repos.get('model', 'acme/gated')!;
    gated.gatedToken = 'hf_rotated';
    await new Promise((r) => setTimeout(r, TTL_MS + 200)); // the confirmed access is remembered for the TTL
    const revoked = await fetch(url, { headers: { authorization: 'Bearer hf_good' } });
    assert.equal(revoked.status, 403);
    assert.equal(revoked.headers.get('x-error-code'), 'GatedRepo');
    gated.gatedToken = 'hf_good';
  });

  it('a cached gated file the Hub no longer has (404 on the re-check) is not served: EntryNotFound', async () => {
    const url = `${hubUrl}/acme/gated/resolve/main/weights.bin`;
    const ok = await fetch(url, { headers: { authorization: 'Bearer hf_good' } });
    assert.equal(ok.status, 200);
    await ok.arrayBuffer();
    const gated = hub.repos.get('model', 'acme/gated')!;
    const snapshot = gated.commits.get(gated.refs.get('main')!)!;
    const file = snapshot.get('weights.bin')!;
    snapshot.delete('weights.bin');
    try {
      await new Promise((r) => setTimeout(r, TTL_MS + 200)); // past the remembered confirmation
      const gone = await fetch(url, { headers: { authorization: 'Bearer hf_good' } });
      assert.equal(gone.status, 404);
      assert.equal(gone.headers.get('x-error-code'), 'EntryNotFound');
      await gone.arrayBuffer();
    } finally {
      snapshot.set('weights.bin', file);
    }
  });

  it('Hub errors: a missing file is EntryNotFound (null to the client), a missing repository RepoNotFound', async () => {
    assert.equal(await downloadFile({ repo: 'acme/tiny', path: 'no/such.txt', hubUrl }), null);
    const missing = await fetch(`${hubUrl}/acme/nothing/resolve/main/x.txt`);
    assert.equal(missing.status, 401);
    assert.equal(missing.headers.get('x-error-code'), 'RepoNotFound');
    const rev = await fetch(`${hubUrl}/acme/tiny/resolve/no-such-branch/config.json`);
    assert.equal(rev.status, 404);
    assert.equal(rev.headers.get('x-error-code'), 'RevisionNotFound');
    assert.equal(((await rev.json()) as { error?: string }).error !== undefined, true);
  });

  it('a public file asked with a token: the token is not sent upstream', async () => {
    const before = hub.seen.length;
    const got = await text(await downloadFile({ repo: 'acme/tiny', path: 'README.md', hubUrl, accessToken: 'hf_good' }));
    assert.equal(got.toString(), '# tiny\n');
    assert.equal(hub.seen.slice(before).filter((s) => s.auth !== undefined).length, 0);
  });

  it('a corrupt LFS file is refused and never committed', async () => {
    const repo = hub.repos.add('acme/corrupt');
    const body = randomBytes(200 * 1024);
    hub.repos.commit(repo, [{ path: 'w.bin', body, lfs: true }]);
    const sha = repo.commits.values().next().value!.get('w.bin')!.lfs!;
    hub.corrupt.add(sha);
    const cdnGets = () => hub.count((s) => s.server === 'cdn' && s.path.startsWith(`/blobs/${sha}`));
    await assert.rejects(async () => text(await downloadFile({ repo: 'acme/corrupt', path: 'w.bin', hubUrl })));
    const raw = await fetch(`${hubUrl}/acme/corrupt/resolve/main/w.bin`).then(
      async (r) => ({ status: r.status, body: await r.arrayBuffer().then(Buffer.from, () => undefined) }),
      () => undefined,
    );
    assert.ok(raw === undefined || raw.status >= 400 || raw.body === undefined, 'never a clean answer of the wrong bytes');
    hub.corrupt.delete(sha);
    const fetched = cdnGets();
    assert.deepEqual(await text(await downloadFile({ repo: 'acme/corrupt', path: 'w.bin', hubUrl })), body);
    assert.ok(cdnGets() > fetched, 'fetched again: the corrupt body was not kept');
  });

  it('a dataset snapshot (the datasets/ prefix)', async () => {
    const folder = await snapshot('data', { type: 'dataset', name: 'acme/data' });
    assert.equal((await readFile(join(folder, 'train/part-0.parquet'))).length, 9000);
  });
});
