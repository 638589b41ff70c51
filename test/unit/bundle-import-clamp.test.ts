/**
 * Imported expiry times are clamped to now + the remote's TTL whatever the
 * entry claims: a bundle cannot keep a mutable file fresh forever by
 * marking its entry immutable (generic files and documents are read by
 * their expiry, the blob cache never reads it).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { importBundle } from '../../daemon/bundle/import.js';
import { blobPath } from '../../daemon/bundle/manifest.js';
import { manifestLines } from '../../daemon/bundle/manifest-stream.js';
import { fileHeader, padding, trailer } from '../../daemon/bundle/ustar.js';
import { IMMUTABLE_EXPIRY } from '../../daemon/core/types.js';
import { makeCore } from '../helpers/core.js';

const TTL = 60_000;

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

test('an entry claiming to be immutable is still fresh at most for its remote ttl after import', async () => {
  const core = await makeCore();
  try {
    const body = Buffer.from('<html>a mutable page</html>');
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    const key = 'files:web:/index.html';
    const manifest = manifestLines({
      format: 'larder-bundle',
      version: 2,
      createdAt: new Date().toISOString(),
      source: { daemon: 'd', url: 'http://x' },
      blobs: [{ digest, size: body.length }],
      entries: [{ key, digest, size: body.length, fetchedAt: 1, expiresAt: IMMUTABLE_EXPIRY, immutable: true }],
      pins: [],
    });
    const tar = Buffer.concat([
      fileHeader('manifest.jsonl', manifest.length),
      manifest,
      padding(manifest.length),
      fileHeader(blobPath(digest), body.length),
      body,
      padding(body.length),
      trailer(),
    ]);
    const before = Date.now();
    const deps = {
      index: core.deps.index,
      blobs: core.deps.blobs,
      pins: { restore: async () => false },
      remotes: new Set(['web']),
      ttlOf: () => TTL,
    };
    await importBundle(deps, once(tar), { trustedKeys: [], allowUnsigned: true });
    const e = core.deps.index.getEntry(key);
    assert.ok(e, 'the entry was imported');
    assert.ok(e.expiresAt <= Date.now() + TTL, `expiresAt ${e.expiresAt} is at most now + ttl (import began at ${before})`);
  } finally {
    await core.close();
  }
});
