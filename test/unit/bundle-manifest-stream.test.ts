/**
 * The version 2 bundle manifest (JSON lines) read as a stream: any chunking
 * gives the same manifest and sha256; cut, over-long and out-of-order
 * manifests are refused.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import type { BundleManifest } from '../../daemon/bundle/manifest.js';
import { MAX_LINE_BYTES, manifestLines, readManifestStream } from '../../daemon/bundle/manifest-stream.js';
import { LarderError } from '../../daemon/core/errors.js';

const digest = (i: number): string => `sha256:${createHash('sha256').update(String(i)).digest('hex')}`;

function sample(n: number): BundleManifest {
  const blobs = Array.from({ length: n }, (_, i) => ({ digest: digest(i), size: i + 1 }));
  const entries = blobs.map((b, i) => ({
    key: `npm:local:tgz:p${i}/p${i}-1.0.0.tgz`,
    digest: b.digest,
    size: b.size,
    fetchedAt: 1,
    expiresAt: 2,
    immutable: true,
  }));
  return {
    format: 'larder-bundle',
    version: 2,
    createdAt: '2026-01-01T00:00:00.000Z',
    source: { daemon: 'd', url: 'http://x' },
    blobs,
    entries,
    pins: [{ ref: 'npm:p0@1.0.0', mutable: false, keys: [entries[0]!.key], size: 1 }],
  };
}

async function* chunks(b: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

const refused = async (b: Buffer, re: RegExp): Promise<void> => {
  await assert.rejects(
    readManifestStream(chunks(b, 1000)),
    (err: unknown) => err instanceof LarderError && err.code === 'E_BAD_REQUEST' && re.test(err.message),
  );
};

test('any chunking reads the same manifest and hashes its bytes', async () => {
  const m = sample(500);
  const bytes = manifestLines(m);
  for (const size of [1, 7, 4096, bytes.length]) {
    const r = await readManifestStream(chunks(bytes, size));
    assert.deepEqual(r.manifest.entries, m.entries);
    assert.deepEqual(r.manifest.blobs, m.blobs);
    assert.deepEqual(r.manifest.pins, m.pins);
    assert.equal(r.sha256, createHash('sha256').update(bytes).digest('hex'));
  }
});

test('a cut manifest, an over-long line and lines out of order are refused', async () => {
  const bytes = manifestLines(sample(10));
  const lines = bytes.toString().trim().split('\n');
  await refused(Buffer.from(`${lines.slice(0, -3).join('\n')}\n`), /fewer lines/);
  await refused(bytes.subarray(0, bytes.length - 5), /newline/);
  await refused(Buffer.from(`${lines[0]}\n{"blob":"${'x'.repeat(MAX_LINE_BYTES + 10)}"}\n`), /longer than/);
  const swapped = [lines[0], lines[12], ...lines.slice(1, 12), ...lines.slice(13)];
  await refused(Buffer.from(`${swapped.join('\n')}\n`), /expected blob lines|needs/);
  await refused(Buffer.from('{"format":"larder-bundle","version":1}\n'), /version 2/);
});
