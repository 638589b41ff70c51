/**
 * Big documents: real packuments reach tens of MB (`@types/node`,
 * `typescript`, `aws-cdk-lib`). This phase generates an 18 MiB packument
 * with 16,000 versions (realistic fields: dependencies, dist with integrity
 * and signatures, a `time` entry per version), serves it from a node:http
 * upstream in the benchmark process, and measures a fresh Larder:
 *
 *   1. RSS when idle, then after one cold GET (the fill) has settled;
 *   2. 16 concurrent keep-alive clients for 5 s (8 asking for the full
 *      document, 8 with npm's abbreviated Accept), each in a load child;
 *   3. the peak RSS (VmHWM, and VmRSS sampled every 100 ms) over all of it.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { runLoad, type LoadResult } from './load.js';
import { MemoryMonitor, readMemory } from './proc.js';
import { ACCEPT_ABBREVIATED, ACCEPT_FULL } from './scenarios.js';
import { METADATA_TTL, startLarderWith } from './servers.js';

export const BIG_DOC_NAME = 'big-doc';
export const BIG_DOC_VERSIONS = 16_000;
export const BIG_DOC_BYTES = 18 * 2 ** 20;

/** What the phase measured. */
export interface BigDocResult {
  documentBytes: number;
  versions: number;
  idleRss: number;
  /** VmRSS 1 s after the cold GET finished. */
  rssAfterColdGet: number;
  /** VmHWM right after the cold GET. */
  hwmAfterColdGet: number;
  coldGetMs: number;
  /** Peak over the whole phase (VmHWM, or the highest sampled VmRSS). */
  peakRss: number;
  clients: number;
  seconds: number;
  load: { full: LoadResult; abbreviated: LoadResult };
}

const hex = (seed: string, n: number): string => createHash('sha256').update(seed).digest('hex').repeat(2).slice(0, n);
const b64 = (seed: string): string => createHash('sha512').update(seed).digest('base64');

/** The packument, its tarball URLs on `origin`, padded to about {@link BIG_DOC_BYTES}. */
export function bigPackument(origin: string, pad = 0): Buffer {
  const versions: Record<string, unknown> = {};
  const time: Record<string, string> = { created: '2015-01-01T00:00:00.000Z' };
  let latest = '';
  for (let i = 0; i < BIG_DOC_VERSIONS; i++) {
    const v = `${Math.floor(i / 1000)}.${Math.floor(i / 10) % 100}.${i % 10}`;
    latest = v;
    const deps = Object.fromEntries(Array.from({ length: 5 }, (_, d) => [`dep-${(i + d) % 97}`, `^${d}.${i % 50}.0`]));
    versions[v] = {
      name: BIG_DOC_NAME,
      version: v,
      description: `Version ${v} of a very large package. ${'x'.repeat(pad)}`,
      main: 'lib/index.js',
      license: 'MIT',
      repository: { type: 'git', url: 'git+https://example.invalid/big-doc.git' },
      engines: { node: '>=14' },
      dependencies: deps,
      gitHead: hex(`git-${i}`, 40),
      _id: `${BIG_DOC_NAME}@${v}`,
      _nodeVersion: '20.11.0',
      _npmVersion: '10.2.4',
      _npmUser: { name: 'publisher', email: 'publisher@example.invalid' },
      maintainers: [{ name: 'publisher', email: 'publisher@example.invalid' }],
      dist: {
        integrity: `sha512-${b64(`int-${i}`)}`,
        shasum: hex(`sha-${i}`, 40),
        fileCount: 40 + (i % 30),
        unpackedSize: 100_000 + i,
        tarball: `${origin}/${BIG_DOC_NAME}/-/${BIG_DOC_NAME}-${v}.tgz`,
        signatures: [{ keyid: 'SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA', sig: b64(`sig-${i}`) }],
      },
      directories: {},
      _hasShrinkwrap: false,
    };
    time[v] = new Date(Date.UTC(2015, 0, 1) + i * 3_600_000).toISOString();
  }
  time.modified = time[latest] ?? '';
  return Buffer.from(JSON.stringify({ _id: BIG_DOC_NAME, name: BIG_DOC_NAME, 'dist-tags': { latest }, versions, time, license: 'MIT' }));
}

/** Serves the packument (same bytes for every Accept, as a registry that ignores the abbreviated form). */
export async function startBigDocUpstream(): Promise<{ origin: string; bytes: number; server: Server }> {
  let body: Buffer = Buffer.alloc(0);
  const server = createServer((req, res) => {
    if (req.url !== `/${BIG_DOC_NAME}`) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length, etag: '"big-doc-1"' });
    res.end(body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const unpadded = bigPackument(origin).length;
  body = bigPackument(origin, Math.max(0, Math.round((BIG_DOC_BYTES - unpadded) / BIG_DOC_VERSIONS)));
  return { origin, bytes: body.length, server };
}

/** Runs the phase against a fresh Larder built at `cliJs`. */
export async function measureBigDoc(benchDir: string, cliJs: string, workDir: string, clients = 16, seconds = 5): Promise<BigDocResult> {
  const upstream = await startBigDocUpstream();
  const larder = await startLarderWith(
    cliJs,
    workDir,
    { big: { type: 'npm', url: upstream.origin, ttl: METADATA_TTL } },
    { npm: { default: 'big' } },
  );
  const pid = larder.child.pid ?? 0;
  const peak = new MemoryMonitor(pid, 100);
  try {
    await sleep(1000);
    const idleRss = readMemory(pid)?.rss ?? 0;
    const t0 = performance.now();
    const res = await fetch(`${larder.registry}${BIG_DOC_NAME}`, { headers: { accept: ACCEPT_FULL } });
    const got = Buffer.from(await res.arrayBuffer());
    const coldGetMs = performance.now() - t0;
    if (res.status !== 200 || (JSON.parse(got.toString('utf8')) as { versions: object }).versions === undefined) {
      throw new Error(`big document: cold GET answered ${res.status}`);
    }
    const hwmAfterColdGet = readMemory(pid)?.hwm ?? 0;
    await sleep(1000);
    const rssAfterColdGet = readMemory(pid)?.rss ?? 0;
    const spec = (accept: string): Parameters<typeof runLoad>[1] => ({
      origin: larder.origin,
      paths: [`${larder.prefix}/${BIG_DOC_NAME}`],
      headers: { accept, 'accept-encoding': 'identity' },
      connections: clients / 2,
      seconds,
      serverPid: pid,
      engine: 'http',
    });
    const [full, abbreviated] = await Promise.all([runLoad(benchDir, spec(ACCEPT_FULL)), runLoad(benchDir, spec(ACCEPT_ABBREVIATED))]);
    peak.stop();
    return {
      documentBytes: upstream.bytes,
      versions: BIG_DOC_VERSIONS,
      idleRss,
      rssAfterColdGet,
      hwmAfterColdGet,
      coldGetMs,
      peakRss: peak.peak,
      clients,
      seconds,
      load: { full, abbreviated },
    };
  } finally {
    peak.stop();
    await larder.stop();
    upstream.server.closeAllConnections();
    upstream.server.close();
  }
}
