/**
 * The large-blob fixture: an OCI layout with tag `big`, one image whose single
 * layer is a gzip'd tar holding {@link BIG_FILE_BYTES} of incompressible
 * pseudo-random bytes (AES-256-CTR keystream from a fixed key, so digests are stable).
 *
 * Generation streams in 1 MiB chunks (nothing is held in memory whole) and the
 * finished layout is cached under `os.tmpdir()/larder-oci-fixtures/big-<version>`,
 * so only the first test run on a machine pays for it.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { describeLayout, type FixtureLayout } from './images.js';
import { LayoutWriter, MediaType, tarHeader, tarPadding } from './layout.js';

/** Bump when the big layout's content changes; it keys the on-disk cache. */
export const BIG_LAYOUT_VERSION = 'v1';
/** Size of the random file inside the big layer (100 MiB + an odd tail). */
export const BIG_FILE_BYTES = 100 * 1024 * 1024 + 12_345;
const CHUNK = 1024 * 1024;

/** Result of {@link ensureBigLayout}. */
export interface BigLayout extends FixtureLayout {
  /** True when this call generated the layout, false when it came from the cache. */
  built: boolean;
  /** Wall time of this call in milliseconds. */
  elapsedMs: number;
}

/** Default cache directory of the big layout. */
export function bigLayoutDir(): string {
  return join(tmpdir(), 'larder-oci-fixtures', `big-${BIG_LAYOUT_VERSION}`);
}

/** Streams the uncompressed layer tar: header, random payload, padding, end blocks. */
async function* tarStream(): AsyncGenerator<Buffer> {
  const key = createHash('sha256').update(`larder-big-layer-${BIG_LAYOUT_VERSION}`).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(CHUNK);
  yield tarHeader('larder/', 0, 0o755, '5');
  yield tarHeader('larder/random.bin', BIG_FILE_BYTES, 0o644, '0');
  for (let left = BIG_FILE_BYTES; left > 0; left -= CHUNK) {
    yield cipher.update(left >= CHUNK ? zeros : zeros.subarray(0, left));
  }
  yield tarPadding(BIG_FILE_BYTES);
  yield Buffer.alloc(1024);
}

/** A pass-through stream that sha256-hashes and counts what flows through it. */
function hasher(): { stream: Transform; digest(): string; size(): number } {
  const hash = createHash('sha256');
  let size = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
  });
  return { stream, digest: () => `sha256:${hash.digest('hex')}`, size: () => size };
}

/** Writes the big layout into the (empty) directory `dir`. */
async function buildBigLayout(dir: string): Promise<void> {
  const w = new LayoutWriter(dir);
  await w.init();
  const diff = hasher();
  const comp = hasher();
  const tmpBlob = join(dir, 'layer.partial');
  // Level 0 = stored deflate blocks: still real gzip (skopeo keeps it as is), ~4x faster than level 1.
  await pipeline(Readable.from(tarStream()), diff.stream, createGzip({ level: 0 }), comp.stream, createWriteStream(tmpBlob));
  const layer = await w.adoptBlobFile(tmpBlob, comp.digest(), comp.size(), MediaType.ociLayerGzip);
  const config = await w.addJson(
    {
      created: '2024-01-01T00:00:00Z',
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['/bin/true'], Labels: { 'org.larder.fixture': 'big' } },
      rootfs: { type: 'layers', diff_ids: [diff.digest()] },
    },
    MediaType.ociConfig,
  );
  const manifest = await w.addJson({ schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers: [layer] }, MediaType.ociManifest);
  w.tag('big', manifest);
  await w.finish();
}

async function isComplete(dir: string): Promise<boolean> {
  return stat(join(dir, 'index.json')).then(
    (s) => s.isFile(),
    () => false,
  );
}

/**
 * Returns the cached big layout (tag `big`), generating it on first use.
 * Safe against concurrent callers: each builds in a private temp dir and the
 * first atomic rename wins; `index.json` is the last file written.
 */
export async function ensureBigLayout(dir: string = bigLayoutDir()): Promise<BigLayout> {
  const started = Date.now();
  let built = false;
  if (!(await isComplete(dir))) {
    const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
    await mkdir(tmp, { recursive: true });
    try {
      await buildBigLayout(tmp);
      if (!(await isComplete(dir))) {
        await rm(dir, { recursive: true, force: true }); // leftover of a deleted/damaged cache
        await rename(tmp, dir);
        built = true;
      }
    } catch (e) {
      if (!(await isComplete(dir))) throw e; // else a concurrent builder won the rename
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }
  const layout = await describeLayout(dir);
  const layer = layout.images.big?.blobs.find((b) => b.mediaType === MediaType.ociLayerGzip);
  if (!layer || (await stat(join(dir, 'blobs', 'sha256', layer.digest.slice(7)))).size !== layer.size) {
    throw new Error(`big layout at ${dir} is damaged; delete it and rerun`);
  }
  return { ...layout, built, elapsedMs: Date.now() - started };
}
