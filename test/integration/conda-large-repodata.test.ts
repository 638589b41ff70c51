/**
 * A large generated repodata.json (LARDER_CONDA_BIG_MB, default 200 MB)
 * through Larder: streamed to the client byte for byte and stored without
 * being held whole, then a package listed at its very end verified by the
 * streaming record scan, several parallel lookups answered by one scan.
 * The process's RSS is sampled throughout; its growth must stay well below
 * the document's size (the numbers are printed as diagnostics).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { get as httpGet } from 'node:http';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { buildPackage, writeLargeRepodata } from '../helpers/conda/channel.js';
import { StaticHost } from '../helpers/helm/static-host.js';

const MB = 1024 * 1024;
const SIZE = Number(process.env.LARDER_CONDA_BIG_MB ?? 200) * MB;
/** RSS growth allowed while the document streams: well below its size (holding it whole would exceed it). */
const BOUND = Math.min(128 * MB, SIZE / 2);

/** Streams a GET, hashing it; resolves with status, size, sha256 and cache state. */
function streamGet(url: string): Promise<{ status: number; size: number; sha256: string; cache: string | undefined }> {
  return new Promise((resolve, reject) => {
    httpGet(url, (res) => {
      const hash = createHash('sha256');
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        hash.update(c);
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          size,
          sha256: hash.digest('hex'),
          cache: res.headers['x-larder-cache'] as string | undefined,
        }),
      );
      res.on('error', reject);
    }).on('error', reject);
  });
}

/** Runs `work` while sampling RSS; resolves with its result and the peak growth over the start. */
async function peakRss<T>(work: () => Promise<T>): Promise<{ result: T; growth: number }> {
  global.gc?.();
  const start = process.memoryUsage().rss;
  let peak = start;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 10);
  try {
    const result = await work();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { result, growth: peak - start };
  } finally {
    clearInterval(timer);
  }
}

describe('conda: a large repodata.json', () => {
  const up = new StaticHost();
  let daemon: TestDaemon;
  let dir = '';
  let doc: { size: number; sha256: string };
  const tail = [
    buildPackage('linux-64', 'needle', '1.0', '.conda'),
    buildPackage('linux-64', 'needle-two', '1.0', '.tar.bz2'),
    buildPackage('linux-64', 'needle-three', '2.0', '.conda'),
  ];

  before(async () => {
    dir = await tempDir('larder-conda-big-');
    doc = await writeLargeRepodata(join(dir, 'repodata.json'), 'linux-64', SIZE, tail);
    await up.start();
    await up.setFile('/big/linux-64/repodata.json', join(dir, 'repodata.json'));
    for (const p of tail) up.set(`/big/linux-64/${p.file}`, p.body);
    daemon = await startTestDaemon({ remotes: { big: { type: 'conda', url: `${up.url}/big/`, ttl: '1h' } } });
  });

  after(async () => {
    await daemon?.close();
    await up.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('streams it to the client byte for byte, cold and warm, with RSS bounded', async (t) => {
    const url = `${daemon.url}/conda/big/linux-64/repodata.json`;
    for (const state of ['MISS', 'HIT']) {
      const { result, growth } = await peakRss(() => streamGet(url));
      t.diagnostic(`${state}: ${(doc.size / MB).toFixed(0)} MB repodata, RSS grew at most ${(growth / MB).toFixed(1)} MB`);
      assert.equal(result.status, 200);
      assert.equal(result.cache, state);
      assert.equal(result.size, doc.size);
      assert.equal(result.sha256, doc.sha256, 'byte-exact');
      assert.ok(
        growth < BOUND,
        `RSS grew ${(growth / MB).toFixed(1)} MB streaming ${(doc.size / MB).toFixed(0)} MB (bound ${BOUND / MB} MB)`,
      );
    }
    assert.equal(up.count('/big/linux-64/repodata.json'), 1);
  });

  it('verifies packages listed at its end with a streaming scan (three in parallel), RSS bounded', async (t) => {
    const { result, growth } = await peakRss(() =>
      Promise.all(
        tail.map((p) =>
          fetch(`${daemon.url}/conda/big/linux-64/${p.file}`).then(async (r) => ({ r, b: Buffer.from(await r.arrayBuffer()) })),
        ),
      ),
    );
    t.diagnostic(
      `${tail.length} parallel package lookups over ${(doc.size / MB).toFixed(0)} MB: RSS grew at most ${(growth / MB).toFixed(1)} MB`,
    );
    result.forEach(({ r, b }, i) => {
      assert.equal(r.status, 200, tail[i]!.file);
      assert.ok(b.equals(tail[i]!.body));
    });
    assert.ok(growth < BOUND, `RSS grew ${(growth / MB).toFixed(1)} MB`);
    assert.equal(up.count('/big/linux-64/repodata.json'), 1, 'the scan read the cached document');
  });
});
