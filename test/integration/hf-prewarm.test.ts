/**
 * `hf:` references through the admin API against a local Hub: a whole
 * snapshot pre-warmed by a job (then served to `@huggingface/hub` with the
 * Hub stopped), one file pinned (resolved to its commit, mutable while it
 * names a branch), a gated repository refused by pre-warm, and scrub repair
 * of a rotten LFS file fetched again from the CDN.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { snapshotDownload } from '@huggingface/hub';
import type { Job, Pin, ScrubStatus } from '../../daemon/admin/contract.js';
import { adminClient, adminToken, blobPath, type AdminClient } from '../helpers/admin-e2e.js';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { FakeHub } from '../helpers/hf/hub-server.js';
import { waitFor } from '../helpers/wait.js';

const weights = randomBytes(120 * 1024);
const files = [
  { path: 'config.json', body: '{"a":1}\n' },
  { path: 'weights/model.safetensors', body: weights, lfs: true },
  { path: 'weights/notes/README.md', body: 'notes\n' },
];

async function rot(file: string): Promise<void> {
  const h = await open(file, 'r+');
  try {
    const { size } = await h.stat();
    await h.write(Buffer.alloc(16, 0x5a), 0, 16, Math.floor(size / 2));
  } finally {
    await h.close();
  }
}

describe('huggingface pre-warm, pins and scrub repair', () => {
  const hub = new FakeHub();
  let daemon: TestDaemon;
  let admin: AdminClient;
  let commit: string;
  let work: string;

  before(async () => {
    await hub.start();
    work = await tempDir('larder-hf-warm-');
    commit = hub.repos.commit(hub.repos.add('acme/warm'), files);
    hub.repos.commit(hub.repos.add('acme/gated', { gatedToken: 'hf_x' }), [{ path: 'w.bin', body: 'secret', lfs: true }]);
    daemon = await startTestDaemon({ remotes: { hub: { type: 'huggingface', url: hub.url } }, storage: { memoryCache: '8KB' } });
    admin = adminClient(daemon.url, await adminToken(daemon.dataDir));
  });

  after(async () => {
    await daemon?.close();
    await hub.stop();
  });

  const job = async (refs: string[]): Promise<Job> => {
    const started = await admin.ok<Job>('POST', '/jobs', { refs });
    return admin.waitJob(started.id);
  };

  it('a job warms a whole snapshot; a second one finds it cached', async () => {
    const done = await job(['hf:acme/warm@main']);
    assert.equal(done.state, 'done', JSON.stringify(done));
    assert.equal(
      done.bytes,
      files.reduce((n, f) => n + Buffer.from(f.body).length, 0),
    );
    assert.equal(
      hub.count((s) => s.server === 'cdn' && s.method === 'GET'),
      1,
    );
    const again = await job(['hf:acme/warm@main']);
    assert.deepEqual(
      again.items.map((i) => i.state),
      ['cached'],
    );
    assert.equal(again.bytes, 0);
  });

  it('a pinned file resolves to its commit', async () => {
    const pin = await admin.call<Pin>('POST', '/pins', { ref: 'hf:acme/warm@main/config.json' });
    assert.equal(pin.status, 201, JSON.stringify(pin.body));
    assert.equal(pin.body.status, 'ok', JSON.stringify(pin.body));
    assert.equal(pin.body.resolved, commit);
    assert.equal(pin.body.mutable, true);
    const bad = await admin.call<{ error?: { message?: string } }>('POST', '/pins', { ref: 'hf:acme/warm' });
    assert.equal(bad.status, 400, 'a revision is required');
  });

  it('a gated repository cannot be pre-warmed', async () => {
    const failed = await job(['hf:acme/gated@main/w.bin']);
    assert.equal(failed.state, 'failed');
    assert.match(failed.items[0]!.error ?? '', /gated/);
  });

  it('scrub repairs a rotten LFS file from the CDN', async () => {
    const [entry] = (await admin.entries(`huggingface:hub:file:model/acme/warm@${commit}/weights/model.safetensors`)).filter((e) =>
      e.key.endsWith('model.safetensors'),
    );
    assert.ok(entry, 'the file is indexed');
    await rot(blobPath(daemon.dataDir, entry.digest));
    const cdn = hub.count((s) => s.server === 'cdn' && s.method === 'GET');
    // Used recently (scrub repairs what was used): read it once more before the scrub.
    await fetch(`${daemon.url}/hf/acme/warm/resolve/${commit}/config.json`).then((r) => r.arrayBuffer());
    const status = await admin.ok<ScrubStatus>('POST', '/scrub', { now: true });
    assert.equal(status.corrupt, 1);
    assert.equal(status.repaired, 1);
    assert.equal(
      hub.count((s) => s.server === 'cdn' && s.method === 'GET'),
      cdn + 1,
      'fetched again from the CDN',
    );
    await waitFor(async () => (await admin.entries('model.safetensors')).length === 1 || undefined, 5_000, 'the repaired entry');
  });

  it('the warmed snapshot is served with the Hub stopped', async () => {
    await hub.stop();
    const folder = await snapshotDownload({ repo: 'acme/warm', hubUrl: `${daemon.url}/hf`, cacheDir: join(work, 'c') });
    for (const f of files) assert.deepEqual(await readFile(join(folder, f.path)), Buffer.from(f.body), f.path);
  });
});
