/**
 * The OCI side of the benchmark: the images (the test fixtures' small
 * layout, the >100 MB `big` image, and a `medium` image of four 16 MiB
 * layers built here), the upstream registry they are pushed to (Debian's
 * `docker-registry`, via test/helpers/oci/registry.ts), the registry's own
 * pull-through proxy (`docker-registry` with `proxy.remoteurl`), and a timed
 * cold `skopeo copy --all` of every image from one of them.
 */
import { spawn } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ensureBigLayout } from '../test/helpers/oci/big.js';
import { buildSmallLayout, describeLayout, type FixtureLayout } from '../test/helpers/oci/images.js';
import { LayoutWriter, MediaType, sha256Digest, tarArchive, type Descriptor } from '../test/helpers/oci/layout.js';
import { pushImage, type SkopeoSandbox } from '../test/helpers/oci/push.js';
import { startRegistry, type RunningRegistry } from '../test/helpers/oci/registry.js';
import { freePort, MemoryMonitor, stopChild, track, waitForHttp } from './proc.js';

/** One image the benchmark copies: `repo:tag` on the upstream. */
export interface OciPull {
  repo: string;
  tag: string;
  /** Bytes of every blob and manifest skopeo fetches with `--all`. */
  bytes: number;
}

/** The upstream registry with every benchmark image pushed. */
export interface OciUpstream {
  registry: RunningRegistry;
  pulls: OciPull[];
  stop(): Promise<void>;
}

const MEDIUM_LAYERS = 4;
const MEDIUM_LAYER_BYTES = 16 * 1024 * 1024;

/** Four gzip'd (level 1) layers of pseudo-random bytes, cached in `dir`. */
async function mediumLayout(dir: string): Promise<FixtureLayout> {
  if (existsSync(join(dir, 'index.json'))) return describeLayout(dir);
  await rm(dir, { recursive: true, force: true });
  const w = new LayoutWriter(dir);
  await w.init();
  const layers: Descriptor[] = [];
  const diffIds: string[] = [];
  for (let i = 0; i < MEDIUM_LAYERS; i++) {
    const key = createHash('sha256').update(`larder-bench-medium-${i}`).digest();
    const bytes = createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(MEDIUM_LAYER_BYTES));
    const tar = tarArchive([{ name: 'data/' }, { name: `data/layer-${i}.bin`, content: bytes }]);
    layers.push(await w.addBlob(gzipSync(tar, { level: 1 }), MediaType.ociLayerGzip));
    diffIds.push(sha256Digest(tar));
  }
  const config = await w.addJson(
    { created: '2024-01-01T00:00:00Z', architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds } },
    MediaType.ociConfig,
  );
  w.tag('medium', await w.addJson({ schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers }, MediaType.ociManifest));
  await w.finish();
  return describeLayout(dir);
}

function closureBytes(layout: FixtureLayout, tag: string): number {
  const image = layout.images[tag];
  if (!image) throw new Error(`no tag ${tag}`);
  const manifests = (i: typeof image): number => i.size + i.children.reduce((a, c) => a + manifests(c), 0);
  return manifests(image) + image.blobs.reduce((a, b) => a + b.size, 0);
}

/** Starts the upstream registry and pushes the benchmark images (several seconds: the big one is 100 MB). */
export async function startOciUpstream(workDir: string): Promise<OciUpstream> {
  const [small, big, medium] = await Promise.all([buildSmallLayout(), ensureBigLayout(), mediumLayout(join(workDir, 'oci-medium'))]);
  const registry = await startRegistry({ logLevel: 'error' });
  const pulls: OciPull[] = [];
  const push = async (layout: FixtureLayout, tag: string, repo: string): Promise<void> => {
    await pushImage(layout, tag, registry, repo, tag, { timeoutMs: 300_000 });
    pulls.push({ repo, tag, bytes: closureBytes(layout, tag) });
  };
  try {
    for (const tag of ['single', 'multi', 'docker-list']) await push(small, tag, 'bench/small');
    await push(medium, 'medium', 'bench/medium');
    await push(big, 'big', 'bench/big');
  } catch (err) {
    await registry.stop();
    throw err;
  } finally {
    await rm(small.dir, { recursive: true, force: true });
  }
  registry.clearRequests();
  return { registry, pulls, stop: () => registry.stop() };
}

/** A docker-registry in pull-through mode (`proxy.remoteurl`), fresh storage. */
export interface RegistryProxy {
  host: string;
  memory: MemoryMonitor;
  stop(): Promise<void>;
}

/** Starts `docker-registry` as a pull-through cache of `remoteUrl` in `workDir/regproxy-<id>`. */
export async function startRegistryProxy(remoteUrl: string, workDir: string): Promise<RegistryProxy> {
  const dir = join(workDir, `regproxy-${Date.now().toString(36)}`);
  await mkdir(join(dir, 'storage'), { recursive: true });
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const config = {
    version: 0.1,
    log: { level: 'error', accesslog: { disabled: true } },
    storage: {
      filesystem: { rootdirectory: join(dir, 'storage') },
      cache: { blobdescriptor: 'inmemory' },
      maintenance: { uploadpurging: { enabled: false } },
    },
    http: { addr: host, secret: 'larder-bench' },
    proxy: { remoteurl: remoteUrl },
  };
  await writeFile(join(dir, 'config.yml'), JSON.stringify(config));
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('REGISTRY_')) env[k] = v;
  const child = track(spawn('/usr/bin/docker-registry', ['serve', join(dir, 'config.yml')], { env, stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  const add = (c: Buffer): void => {
    out = (out + c.toString()).slice(-4000);
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  const stop = async (): Promise<void> => {
    memory.stop();
    await stopChild(child);
    await rm(dir, { recursive: true, force: true });
  };
  const memory = new MemoryMonitor(child.pid ?? 0);
  try {
    await waitForHttp(`http://${host}/v2/`, child, () => out);
  } catch (err) {
    await stop();
    throw err;
  }
  return { host, memory, stop };
}

/**
 * `skopeo copy --all` of every pull, one after another, from
 * `docker://<source>/<repo>:<tag>` into fresh `dir:` directories under
 * `destRoot` (removed afterwards). Returns the wall time in milliseconds.
 */
export async function timeCopies(sandbox: SkopeoSandbox, source: string, pulls: readonly OciPull[], destRoot: string): Promise<number> {
  await rm(destRoot, { recursive: true, force: true });
  await mkdir(destRoot, { recursive: true });
  const started = performance.now();
  try {
    for (const [i, p] of pulls.entries()) {
      await sandbox.run(
        [
          'copy',
          '--all',
          '--src-tls-verify=false',
          '--src-no-creds',
          `docker://${source}/${p.repo}:${p.tag}`,
          `dir:${join(destRoot, String(i))}`,
        ],
        { timeoutMs: 300_000 },
      );
    }
    const elapsed = performance.now() - started;
    for (const i of pulls.keys()) {
      const files = await readdir(join(destRoot, String(i)));
      if (!files.includes('manifest.json')) throw new Error(`skopeo copy from ${source}: no manifest.json for ${pulls[i]?.repo}`);
    }
    return Math.round(elapsed);
  } finally {
    await rm(destRoot, { recursive: true, force: true });
  }
}
