/**
 * The report of the cluster benchmark (bench/cluster.ts): per workload the
 * median rate of one node, of three, and of the static floor, the scaling
 * factor 3/1, the work done per Larder CPU-second (comparable when other
 * work competes for the cores), and where the machine's CPU went; then the
 * upstream requests of each cold pass. A Markdown table on stdout, every
 * number in bench/results/cluster.json.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadResult } from './load.js';

export type SetName = 'one' | 'three';
export type Target = SetName | 'floor';

/** Upstream requests of the cold pass, and its wall time. */
export interface Cold {
  fileUpstream: number;
  npmUpstream: number;
  seconds: number;
}

export interface Run {
  target: Target;
  load: 'file' | 'packument';
  result: LoadResult;
  /** CPU seconds of the Larder nodes and of nginx (master and workers) over the run. */
  larderCpu: number;
  nginxCpu: number;
}

export interface Settings {
  seconds: number;
  rounds: number;
  fileMb: number;
  packages: number;
}

interface Cell {
  rate: number;
  rates: number[];
  /** MB or hits per CPU-second of the Larder processes. */
  perLarderCpu: number;
  cores: { larder: number; nginx: number; loadgen: number; other: number };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length === 0 ? 0 : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
const rate = (r: Run): number => (r.load === 'file' ? r.result.bytesPerSec / 1e6 : r.result.requestsPerSec);

function cell(rs: Run[]): Cell {
  const cores = (f: (r: Run) => number): number => median(rs.map((r) => f(r) / r.result.windowSeconds));
  // The load child counts as "other" everything but itself and its serverPid (nginx's master, part of nginxCpu).
  const other = (r: Run): number => Math.max(0, r.result.otherCpuSeconds + r.result.serverCpuSeconds - r.larderCpu - r.nginxCpu);
  return {
    rate: median(rs.map(rate)),
    rates: rs.map(rate),
    perLarderCpu: median(rs.map((r) => (r.larderCpu > 0 ? (rate(r) * r.result.seconds) / r.larderCpu : 0))),
    cores: {
      larder: cores((r) => r.larderCpu),
      nginx: cores((r) => r.nginxCpu),
      loadgen: cores((r) => r.result.loadCpuSeconds),
      other: cores(other),
    },
  };
}

export async function report(runs: Run[], cold: Map<SetName, Cold>, settings: Settings): Promise<void> {
  const summary = (['file', 'packument'] as const).map((load) => {
    const of = (t: Target): Cell => cell(runs.filter((r) => r.target === t && r.load === load));
    const [one, three, floor] = [of('one'), of('three'), of('floor')];
    return { load, unit: load === 'file' ? 'MB/s' : 'hits/s', one, three, floor, scaling: three.rate / one.rate };
  });
  const f = (n: number): string => n.toFixed(n >= 100 ? 0 : 2);
  const span = (c: Cell): string => `${f(c.rate)} [${f(Math.min(...c.rates))}–${f(Math.max(...c.rates))}]`;
  const cores = (c: Cell): string => [c.cores.larder, c.cores.nginx, c.cores.loadgen, c.cores.other].map((x) => x.toFixed(2)).join(' / ');
  console.log(
    '\n| workload | 1 node | 3 nodes | 3/1 | floor: nginx static | per Larder CPU-s, 1 / 3 nodes | cores 1 node | cores 3 nodes | cores floor |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const s of summary) {
    const title = s.load === 'file' ? `warm ${settings.fileMb} MB file, 4 downloads (MB/s)` : 'warm packument, 64 conns (hits/s)';
    console.log(
      `| ${title} | ${span(s.one)} | ${span(s.three)} | ${s.scaling.toFixed(2)}× | ${f(s.floor.rate)} | ${f(s.one.perLarderCpu)} / ${f(s.three.perLarderCpu)} | ${cores(s.one)} | ${cores(s.three)} | ${cores(s.floor)} |`,
    );
  }
  console.log('(median [range over the runs]; cores: Larder / nginx / load generator / other work on the machine, medians)');
  for (const [n, c] of cold) {
    console.log(
      `cold pass, ${n === 'one' ? '1 node' : '3 nodes'}: upstream requests: file ${c.fileUpstream} (4 concurrent GETs), npm ${c.npmUpstream} (${settings.packages} packuments, one GET each); ${c.seconds.toFixed(1)} s`,
    );
  }
  const out = { date: new Date().toISOString(), cpus: 2, ...settings, summary, cold: Object.fromEntries(cold), runs };
  const file = join(fileURLToPath(new URL('.', import.meta.url)), 'results', 'cluster.json');
  await writeFile(file, `${JSON.stringify(out, null, 2)}\n`);
  console.log('written: bench/results/cluster.json');
}
