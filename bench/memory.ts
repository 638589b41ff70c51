/**
 * Memory of Larder under the benchmark workload, phase by phase: idle, a cold
 * and a warm `npm ci`, priming (every packument and tarball), then short
 * autocannon / node:http loads of each warm scenario. After every phase it
 * prints VmRSS and VmHWM (/proc/<pid>/status), the anonymous and file-backed
 * parts of RSS (/proc/<pid>/smaps_rollup) and V8's heap and external memory
 * (the daemon's own /metrics, prom-client default metrics).
 *
 *   node --import tsx bench/memory.ts [--cli DIST/daemon/cli.js]… [--build DIR]
 *        [--seconds N] [--rounds N] [--no-npm] [--node-arg ARG]… [--work DIR]
 *        [--scenarios packumentFull,packumentAbbrev,tarballSmall,tarballBig]
 *
 * Several `--cli` builds are measured in turn (order alternating by round),
 * each on a fresh instance, so their peaks and warm packument hits/s can be
 * compared on the same machine (rates also per server CPU-second, which
 * stays comparable while other work competes for the cores). `--build DIR`
 * compiles the current source into DIR first and measures it. The daemon
 * runs with `npm start`'s node flags; `--node-arg` adds one more (e.g.
 * `--max-old-space-size=…`), to try a flag before building it in.
 */
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runLoad } from './load.js';
import { prepareApp, timeNpmCi, type AppProject } from './npm-ci.js';
import { readMemory } from './proc.js';
import { prime, scenarios, specFor } from './scenarios.js';
import { startLarder, startUpstream, type BenchServer } from './servers.js';
import { buildDaemon, ensureInstalled } from './setup.js';
import type { RegistryFixture } from '../test/helpers/npm-fixture/types.js';

const BENCH = fileURLToPath(new URL('.', import.meta.url));
const log = (line: string): void => console.error(`[memory ${new Date().toISOString().slice(11, 19)}] ${line}`);

const { values: flags } = parseArgs({
  options: {
    cli: { type: 'string', multiple: true, default: [] },
    build: { type: 'string' },
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '1' },
    'no-npm': { type: 'boolean', default: false },
    'node-arg': { type: 'string', multiple: true, default: [] },
    work: { type: 'string', default: join(tmpdir(), 'larder-memory') },
    scenarios: { type: 'string' },
  },
});
const SECONDS = Number(flags.seconds);
const ROUNDS = Number(flags.rounds);
const ONLY = flags.scenarios?.split(',');
const MB = 1024 * 1024;
const mb = (n: number | undefined): string => (n === undefined ? '-' : (n / MB).toFixed(1));

/** One row of the report: memory right after a phase. */
interface Row {
  phase: string;
  rss: number;
  hwm: number;
  anon?: number;
  file?: number;
  heapUsed?: number;
  heapTotal?: number;
  newSpace?: number;
  external?: number;
  /** Highest heapTotal / external seen by polling /metrics during the phase. */
  peakHeap?: number;
  peakExternal?: number;
  rate?: string;
}

/** Anonymous and file-backed resident bytes from smaps_rollup. */
function rollup(pid: number): { anon?: number; file?: number } {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = (f: string): number => Number(new RegExp(`^${f}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
    return { anon: kb('Anonymous'), file: kb('Rss') - kb('Anonymous') };
  } catch {
    return {};
  }
}

/** V8 numbers from the daemon's Prometheus default metrics. */
async function v8Numbers(server: BenchServer): Promise<Partial<Row>> {
  try {
    const text = await (await fetch(`${server.origin}/metrics`)).text();
    const get = (re: RegExp): number | undefined => {
      const m = re.exec(text);
      return m ? Number(m[1]) : undefined;
    };
    return {
      heapUsed: get(/^larder_process_nodejs_heap_size_used_bytes (\S+)/m),
      heapTotal: get(/^larder_process_nodejs_heap_size_total_bytes (\S+)/m),
      newSpace: get(/^larder_process_nodejs_heap_space_size_total_bytes\{space="new"\} (\S+)/m),
      external: get(/^larder_process_nodejs_external_memory_bytes (\S+)/m),
    };
  } catch {
    return {};
  }
}

/** Polls the daemon's V8 numbers every 250 ms while a phase runs and keeps the peaks. */
function poller(server: BenchServer): { stop(): Promise<{ peakHeap: number; peakExternal: number }> } {
  let peakHeap = 0;
  let peakExternal = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const v = await v8Numbers(server);
      peakHeap = Math.max(peakHeap, v.heapTotal ?? 0);
      peakExternal = Math.max(peakExternal, v.external ?? 0);
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { peakHeap, peakExternal };
    },
  };
}

let polling: ReturnType<typeof poller> | undefined;

async function snapshot(server: BenchServer, phase: string, rate?: string): Promise<Row> {
  const pid = server.child.pid ?? 0;
  const m = readMemory(pid) ?? { rss: 0, hwm: 0 };
  const peaks = polling ? await polling.stop() : {};
  const row: Row = { phase, rss: m.rss, hwm: m.hwm, ...rollup(pid), ...(await v8Numbers(server)), ...peaks, rate };
  polling = poller(server);
  log(`  ${phase.padEnd(22)} VmRSS ${mb(row.rss)} MB, VmHWM ${mb(row.hwm)} MB${rate ? `, ${rate}` : ''}`);
  return row;
}

/** Runs every phase against a fresh instance of one build. */
async function measure(cli: string, upstream: { url: string; fixture: RegistryFixture }, app: AppProject, work: string): Promise<Row[]> {
  const server = await startLarder(cli, work, upstream.url, flags['node-arg']);
  const rows: Row[] = [];
  try {
    await new Promise((r) => setTimeout(r, 1000));
    polling = undefined;
    rows.push(await snapshot(server, 'idle'));
    if (!flags['no-npm']) {
      const cold = await timeNpmCi(app, work, server.registry);
      rows.push(await snapshot(server, 'npm ci cold', `${cold} ms`));
      const warm = await timeNpmCi(app, work, server.registry);
      rows.push(await snapshot(server, 'npm ci warm', `${warm} ms`));
    }
    await prime(server, upstream.fixture);
    rows.push(await snapshot(server, 'primed'));
    for (const sc of scenarios(upstream.fixture, 32).filter((x) => !ONLY || ONLY.includes(x.name))) {
      const r = await runLoad(BENCH, specFor(sc, server, SECONDS));
      const perCpu = r.serverCpuSeconds > 0 ? (sc.engine === 'http' ? r.bytes / MB : r.requests) / r.serverCpuSeconds : 0;
      const rate =
        sc.engine === 'http'
          ? `${(r.bytesPerSec / MB).toFixed(0)} MB/s, ${perCpu.toFixed(0)} MB per server CPU-s`
          : `${Math.round(r.requestsPerSec)} req/s, ${perCpu.toFixed(0)} per server CPU-s`;
      const bad = r.errors + r.non2xx ? ` (${r.errors} errors, ${r.non2xx} non-2xx)` : '';
      rows.push(await snapshot(server, `load ${sc.name}`, rate + bad));
    }
  } finally {
    await polling?.stop();
    polling = undefined;
    server.memory.stop();
    await server.stop();
  }
  return rows;
}

function table(cli: string, rows: Row[]): string {
  const head = ['phase', 'VmRSS', 'VmHWM', 'anon', 'file', 'heapUsed', 'heapTotal', 'new', 'external', 'maxHeap', 'maxExt', 'rate'];
  const lines = rows.map((r) => [
    r.phase,
    mb(r.rss),
    mb(r.hwm),
    mb(r.anon),
    mb(r.file),
    mb(r.heapUsed),
    mb(r.heapTotal),
    mb(r.newSpace),
    mb(r.external),
    mb(r.peakHeap),
    mb(r.peakExternal),
    r.rate ?? '',
  ]);
  const width = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (l: string[]): string =>
    l.map((c, i) => (i === 0 || i === l.length - 1 ? c.padEnd(width[i]!) : c.padStart(width[i]!))).join('  ');
  return [`${cli}  (MB)`, fmt(head), ...lines.map(fmt)].join('\n');
}

async function main(): Promise<void> {
  const work = flags.work;
  await mkdir(work, { recursive: true });
  await ensureInstalled(BENCH, log);
  const clis = [...flags.cli];
  if (flags.build) clis.push(await buildDaemon(join(BENCH, '..'), flags.build, log));
  if (clis.length === 0) throw new TypeError('give --cli DIST/daemon/cli.js (repeatable) or --build DIR');
  const upstream = await startUpstream(BENCH, join(work, 'fixture'));
  try {
    const app = await prepareApp(work, upstream.fixture, upstream.url);
    const results = new Map<string, Row[][]>(clis.map((c) => [c, []]));
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? clis : [...clis].reverse();
      for (const cli of order) {
        log(`round ${round + 1}/${ROUNDS}: ${cli}`);
        results.get(cli)!.push(await measure(cli, upstream, app, work));
      }
    }
    for (const [cli, runs] of results) for (const rows of runs) console.log(`\n${table(cli, rows)}`);
  } finally {
    await upstream.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
