/**
 * Edge replication benchmark (`npm run bench:edge`): how long a 1 GB pinned
 * closure takes to reach the edge of a root → region → edge chain, compared
 * with a plain copy of the same bytes over the same loopback (a node:http
 * server streaming the file to a client that writes it to disk and fsyncs).
 *
 * The closure is one npm package whose tarball is BENCH_EDGE_BYTES (default
 * 1 GiB) of random bytes, served by a minimal npm upstream. The three
 * daemons are separate processes (the real CLI); the pin is added at the
 * root, and the edge has it when its pin is `ok` and its replication lag is
 * 0. Each hop only starts once its parent holds the whole closure (a parent
 * publishes a pin to its feed after fetching it), so three sequential copies
 * are the floor. Then the edge's pins are exported as an air-gap bundle and
 * imported into a fresh daemon with no upstream. Prints the times, the
 * ratios, and each daemon's memory (peak RSS; sampled RSS during export).
 */
import { createHash, randomFillSync } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import { createServer, get as httpGet, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ImportReport, Pin, Stats } from '../daemon/admin/contract.js';
import { spawnDaemon, type ChildDaemon } from '../test/helpers/daemon.js';
import { readMemory } from './proc.js';

const SIZE = Number(process.env.BENCH_EDGE_BYTES ?? 1024 ** 3);
const NAME = 'big-edge';
const FILE = `${NAME}-1.0.0.tgz`;

async function writeBlob(path: string): Promise<{ sha512: string; sha1: string }> {
  const h512 = createHash('sha512');
  const h1 = createHash('sha1');
  const fh = await open(path, 'w');
  const chunk = Buffer.alloc(8 * 1024 * 1024);
  for (let left = SIZE; left > 0; left -= chunk.length) {
    const part = left >= chunk.length ? chunk : chunk.subarray(0, left);
    randomFillSync(part);
    h512.update(part);
    h1.update(part);
    await fh.write(part);
  }
  await fh.close();
  return { sha512: h512.digest('base64'), sha1: h1.digest('hex') };
}

/** A minimal npm registry: one packument, one tarball streamed from disk. */
async function startUpstream(blob: string, sums: { sha512: string; sha1: string }): Promise<{ url: string; server: Server }> {
  let base = '';
  const server = createServer((req, res) => {
    if (req.url === `/${NAME}`) {
      const doc = {
        name: NAME,
        'dist-tags': { latest: '1.0.0' },
        versions: {
          '1.0.0': {
            name: NAME,
            version: '1.0.0',
            dist: { tarball: `${base}/${NAME}/-/${FILE}`, integrity: `sha512-${sums.sha512}`, shasum: sums.sha1 },
          },
        },
      };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(doc));
    } else if (req.url === `/${NAME}/-/${FILE}` || req.url === '/plain') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(SIZE) });
      createReadStream(blob, { highWaterMark: 1024 * 1024 }).pipe(res);
    } else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url: `${base}/`, server };
}

/** The reference: the same bytes over the same loopback, to disk, fsynced. */
async function plainCopy(url: string, dest: string): Promise<number> {
  const t = performance.now();
  await new Promise<void>((resolve, reject) => {
    httpGet(url, (res) => {
      const out = createWriteStream(dest);
      pipeline(res, out).then(resolve, reject);
    }).on('error', reject);
  });
  const fh = await open(dest, 'r+');
  await fh.sync();
  await fh.close();
  if ((await stat(dest)).size !== SIZE) throw new Error('plain copy is short');
  return (performance.now() - t) / 1000;
}

async function api<T>(d: ChildDaemon, token: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${d.url}/_/api/v1${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'larder-bench-edge-'));
  const daemons: ChildDaemon[] = [];
  let upstream: Server | undefined;
  try {
    const blob = join(work, 'blob.bin');
    console.log(`generating ${(SIZE / 2 ** 20).toFixed(0)} MiB of random bytes…`);
    const sums = await writeBlob(blob);
    const up = await startUpstream(blob, sums);
    upstream = up.server;
    // The reference is taken three times (twice before the chain, once after; disks are noisy): the median counts.
    const copies: number[] = [];
    const copy = async (): Promise<void> => {
      copies.push(await plainCopy(`${up.url}plain`, join(work, 'copy.bin')));
      await rm(join(work, 'copy.bin'));
    };
    await copy();
    await copy();

    const base = { log: { level: 'warn' }, remotes: { local: { type: 'npm', url: up.url } }, pins: { interval: '1h' } };
    const node = async (name: string, parent?: { url: string; token: string }) => {
      const d = await spawnDaemon({ ...base, ...(parent ? { parent } : {}) } as Parameters<typeof spawnDaemon>[0], join(work, name));
      daemons.push(d);
      return { d, token: (await readFile(join(work, name, 'admin-token'), 'utf8')).trim() };
    };
    const root = await node('root');
    const region = await node('region', { url: root.d.url, token: root.token });
    const edge = await node('edge', { url: region.d.url, token: region.token });

    const t0 = performance.now();
    const pin = await api<Pin>(root.d, root.token, '/pins', { ref: `npm:${NAME}@1.0.0` });
    if (pin.status !== 'ok') throw new Error(`root pin: ${pin.status} ${pin.error ?? ''}`);
    const tRoot = (performance.now() - t0) / 1000;
    let tRegion = 0;
    let peakLag = 0;
    for (;;) {
      if (!tRegion && (await api<Pin[]>(region.d, region.token, '/pins')).some((p) => p.status === 'ok'))
        tRegion = (performance.now() - t0) / 1000;
      const s = await api<Stats>(edge.d, edge.token, '/stats');
      peakLag = Math.max(peakLag, s.replication?.lagSeconds ?? 0);
      const ok = (await api<Pin[]>(edge.d, edge.token, '/pins')).some((p) => p.status === 'ok');
      if (ok && s.replication?.lagSeconds === 0) break;
      if (performance.now() - t0 > 30 * 60_000) throw new Error('the edge did not get the closure within 30 minutes');
      await new Promise((r) => setTimeout(r, 100));
    }
    const tEdge = (performance.now() - t0) / 1000;
    await copy();
    const plain = [...copies].sort((a, b) => a - b)[1]!;

    // Air-gap: the edge's pins as one bundle, imported into a daemon that has no upstream.
    const bundle = join(work, 'bundle.tar');
    let exportRss = 0;
    const sampler = setInterval(() => (exportRss = Math.max(exportRss, readMemory(edge.d.child.pid!)?.rss ?? 0)), 50);
    const te = performance.now();
    const res = await fetch(`${edge.d.url}/_/api/v1/export`, {
      method: 'POST',
      headers: { authorization: `Bearer ${edge.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ pins: true }),
    });
    if (!res.ok || !res.body) throw new Error(`export: HTTP ${res.status}`);
    await pipeline(Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>), createWriteStream(bundle));
    const tExport = (performance.now() - te) / 1000;
    clearInterval(sampler);
    const bundleBytes = (await stat(bundle)).size;
    const site = await spawnDaemon(
      { ...base, remotes: { local: { type: 'npm', url: 'http://127.0.0.1:9/' } } } as Parameters<typeof spawnDaemon>[0],
      join(work, 'site'),
    );
    daemons.push(site);
    const siteToken = (await readFile(join(work, 'site', 'admin-token'), 'utf8')).trim();
    const ti = performance.now();
    const imp = await fetch(`${site.url}/_/api/v1/import`, {
      method: 'POST',
      headers: { authorization: `Bearer ${siteToken}`, 'content-type': 'application/x-tar' },
      body: createReadStream(bundle, { highWaterMark: 1024 * 1024 }) as unknown as BodyInit,
      duplex: 'half',
    } as RequestInit);
    const report = (await imp.json()) as ImportReport;
    if (!imp.ok) throw new Error(`import: HTTP ${imp.status} ${JSON.stringify(report)}`);
    const tImport = (performance.now() - ti) / 1000;
    const mb = SIZE / 1e6;
    const rss = (d: ChildDaemon) => `${((readMemory(d.child.pid!)?.hwm ?? 0) / 2 ** 20).toFixed(0)} MiB`;
    const rows: Array<[string, string]> = [
      ['closure', `${mb.toFixed(0)} MB (one npm tarball, sha512-verified at every hop)`],
      [
        'plain copy over loopback (http → disk, fsync)',
        `${plain.toFixed(2)} s median of ${copies.map((c) => c.toFixed(2)).join(' / ')} s  (${(mb / plain).toFixed(0)} MB/s)`,
      ],
      ['pin at root: upstream → root', `${tRoot.toFixed(2)} s`],
      ['root → region (region has the pin)', `${(tRegion - tRoot).toFixed(2)} s`],
      ['region → edge (edge pin ok, lag 0)', `${(tEdge - tRegion).toFixed(2)} s`],
      ['pin at root → closure at the edge', `${tEdge.toFixed(2)} s  (${(mb / tEdge).toFixed(0)} MB/s end to end)`],
      ['ratio: edge total / plain copy', `${(tEdge / plain).toFixed(2)}x  (3 sequential copies: floor 3x)`],
      ['ratio: per hop / plain copy', `${(tEdge / 3 / plain).toFixed(2)}x`],
      ['ratio: root → edge (2 hops) / plain copy', `${(tEdge - tRoot) / plain > 0 ? ((tEdge - tRoot) / plain).toFixed(2) : '?'}x`],
      ['edge lag seen during the run (max)', `${peakLag} s`],
      ['peak RSS root / region / edge', `${rss(root.d)} / ${rss(region.d)} / ${rss(edge.d)}`],
      [
        'export the edge pins (bundle → disk)',
        `${tExport.toFixed(2)} s  (${(bundleBytes / 1e6).toFixed(0)} MB, ${(bundleBytes / 1e6 / tExport).toFixed(0)} MB/s; edge RSS during export ≤ ${(exportRss / 2 ** 20).toFixed(0)} MiB)`,
      ],
      [
        'import into a daemon with no upstream',
        `${tImport.toFixed(2)} s  (${report.blobs.added} blobs, ${report.entries.added} entries, ${report.pins} pin; peak RSS ${rss(site)})`,
      ],
    ];
    const w = Math.max(...rows.map(([k]) => k.length));
    for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
  } finally {
    for (const d of daemons.reverse()) await d.kill().catch(() => undefined);
    upstream?.close();
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
