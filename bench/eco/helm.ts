/**
 * Helm's bench row: no helm binary here, so a client-shaped flow as
 * `helm repo add` + `helm pull` of every chart does it: GET index.yaml, then
 * every chart archive it names (8 at a time), each checked against its
 * digest. Direct to a generated chart repository, cold through a fresh
 * Larder per round, and warm (the same Larder again: 0 upstream requests
 * while the index is fresh). Also exports the measuring loop conda.ts uses.
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parse } from 'yaml';
import { buildChart, indexYaml } from '../../test/helpers/helm/charts.js';
import { StaticHost } from '../../test/helpers/helm/static-host.js';
import type { LarderRemotes } from '../servers.js';
import type { EcoBench, EcoContext, EcoRow } from './contract.js';

const CHARTS = 60;
const PARALLEL = 8;

/** Runs `jobs` with at most `n` at once. */
export async function pool<T>(items: T[], n: number, job: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) await job(items[next++]!);
    }),
  );
}

/** The body of a GET, failing on any status but 200. */
export async function body(url: string): Promise<Buffer> {
  const r = await fetch(url);
  if (r.status !== 200) throw new Error(`GET ${url}: ${r.status}`);
  return Buffer.from(await r.arrayBuffer());
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

export interface EcoFlow {
  ecosystem: string;
  flow: string;
  upstream: StaticHost;
  remotes(upstreamUrl: string): LarderRemotes;
  /** Runs the client-shaped flow against a base URL (the upstream's, or Larder's mount). */
  run(base: string): Promise<void>;
  /** Larder's base URL for the flow. */
  through(origin: string): string;
  /** The upstream's base URL for the flow. */
  direct: string;
}

/** Direct, cold (fresh Larder per round) and warm timings of a flow, medians over the rounds. */
export async function measureEco(ctx: EcoContext, f: EcoFlow): Promise<EcoRow> {
  const direct: number[] = [];
  const cold: number[] = [];
  const warm: number[] = [];
  let coldUp = 0;
  let warmUp = 0;
  let peak = 0;
  for (let i = 0; i < Math.max(1, ctx.rounds); i++) {
    let t = performance.now();
    await f.run(f.direct);
    direct.push(performance.now() - t);
    const larder = await ctx.startLarder(f.remotes(f.upstream.url));
    try {
      const base = f.through(larder.origin);
      let before = f.upstream.total();
      t = performance.now();
      await f.run(base);
      cold.push(performance.now() - t);
      coldUp = f.upstream.total() - before;
      before = f.upstream.total();
      t = performance.now();
      await f.run(base);
      warm.push(performance.now() - t);
      warmUp = f.upstream.total() - before;
      peak = Math.max(peak, larder.memory.peak);
    } finally {
      await larder.stop();
    }
  }
  const row: EcoRow = {
    ecosystem: f.ecosystem,
    flow: f.flow,
    directMs: median(direct),
    coldMs: median(cold),
    warmMs: median(warm),
    coldUpstreamRequests: coldUp,
    warmUpstreamRequests: warmUp,
    larderPeakRss: peak,
  };
  ctx.log(
    `  ${f.ecosystem}: direct ${row.directMs.toFixed(0)} ms, cold ${row.coldMs.toFixed(0)} ms (${coldUp} upstream requests), warm ${row.warmMs.toFixed(0)} ms (${warmUp})`,
  );
  return row;
}

interface Index {
  entries: Record<string, Array<{ urls: string[]; digest?: string }>>;
}

/** `helm repo add` + `helm pull` of every chart: the index, then every archive it names, digests checked. */
async function helmFlow(base: string): Promise<void> {
  const index = parse((await body(`${base}index.yaml`)).toString('utf8')) as Index;
  const charts = Object.values(index.entries).flat();
  await pool(charts, PARALLEL, async (c) => {
    const b = await body(new URL(c.urls[0]!, base).toString());
    if (c.digest && createHash('sha256').update(b).digest('hex') !== c.digest) throw new Error(`${c.urls[0]}: digest mismatch`);
  });
}

export const helmBench: EcoBench = {
  ecosystem: 'helm',
  async run(ctx) {
    const upstream = await new StaticHost().start();
    try {
      const charts = Array.from({ length: CHARTS }, (_, i) => buildChart(`chart-${i}`, `1.${i % 7}.0`, 'x'.repeat(1000 * (i % 50))));
      upstream.set('/repo/index.yaml', indexYaml(charts.map((c) => ({ chart: c, url: `charts/${c.file}` }))), 'application/x-yaml');
      for (const c of charts) upstream.set(`/repo/charts/${c.file}`, c.tgz, 'application/gzip');
      const row = await measureEco(ctx, {
        ecosystem: 'helm',
        flow: `index.yaml + ${CHARTS} charts (${PARALLEL} parallel), digests checked`,
        upstream,
        remotes: (url) => ({ charts: { type: 'helm', url: `${url}/repo/`, ttl: '1h' } }),
        run: helmFlow,
        through: (origin) => `${origin}/helm/charts/`,
        direct: `${upstream.url}/repo/`,
      });
      return [row];
    } finally {
      await upstream.stop();
    }
  },
};
