/**
 * Load measurements: one autocannon run in a child process
 * (bench/load-child.ts) against one server, with the server's CPU time over
 * the window read from /proc, and the alternating schedule that gives every
 * server the same measured time in both orders.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { QuietBudget } from './proc.js';

const execFileAsync = promisify(execFile);

/** What the load child is asked to do. */
export interface LoadSpec {
  origin: string;
  /** Request paths, cycled through by every connection. */
  paths: string[];
  headers: Record<string, string>;
  connections: number;
  seconds: number;
  /** Process id of the server, whose CPU time is read over the measured window. */
  serverPid: number;
  /** Load generator: autocannon (small bodies) or a node:http loop (multi-MB bodies). */
  engine: 'autocannon' | 'http';
}

/** What one load run measured. */
export interface LoadResult {
  requestsPerSec: number;
  bytesPerSec: number;
  requests: number;
  bytes: number;
  seconds: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  /** Connection errors and timeouts. */
  errors: number;
  non2xx: number;
  /** Length of the CPU accounting window (the run including its last in-flight requests). */
  windowSeconds: number;
  /** CPU seconds the load generator used. */
  loadCpuSeconds: number;
  /** CPU seconds the server used during the run. */
  serverCpuSeconds: number;
  /** CPU seconds used by everything else on the machine during the run (other work competing for the cores). */
  otherCpuSeconds: number;
}

/** Runs the load child once. */
export async function runLoad(benchDir: string, spec: LoadSpec): Promise<LoadResult> {
  const { stdout } = await execFileAsync(process.execPath, ['--import', 'tsx', join(benchDir, 'load-child.ts'), JSON.stringify(spec)], {
    cwd: benchDir,
    timeout: (spec.seconds + 60) * 1000,
    maxBuffer: 1024 * 1024,
  });
  const line = stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as LoadResult;
}

/** Sums several runs of the same scenario into one result (rates over the total time). */
export function combine(runs: LoadResult[]): LoadResult {
  const sum = (f: (r: LoadResult) => number): number => runs.reduce((a, r) => a + f(r), 0);
  const seconds = sum((r) => r.seconds);
  const requests = sum((r) => r.requests);
  const bytes = sum((r) => r.bytes);
  const weighted = (f: (r: LoadResult) => number): number => (requests ? sum((r) => f(r) * r.requests) / requests : 0);
  return {
    requestsPerSec: seconds ? requests / seconds : 0,
    bytesPerSec: seconds ? bytes / seconds : 0,
    requests,
    bytes,
    seconds,
    latencyP50Ms: weighted((r) => r.latencyP50Ms),
    latencyP99Ms: Math.max(...runs.map((r) => r.latencyP99Ms)),
    errors: sum((r) => r.errors),
    non2xx: sum((r) => r.non2xx),
    windowSeconds: sum((r) => r.windowSeconds),
    loadCpuSeconds: sum((r) => r.loadCpuSeconds),
    serverCpuSeconds: sum((r) => r.serverCpuSeconds),
    otherCpuSeconds: sum((r) => r.otherCpuSeconds),
  };
}

/** One server as the load schedule sees it. */
export interface LoadTarget<N extends string> {
  name: N;
  spec: LoadSpec;
}

/**
 * Measures every target for `rounds` runs of `spec.seconds`, one server at a
 * time, reversing the order every round; each target first gets one
 * unmeasured warm-up run of `warmupSeconds`. Before each measured run the
 * machine gets a chance to calm down (see {@link QuietBudget}).
 */
export async function alternate<N extends string>(
  benchDir: string,
  targets: LoadTarget<N>[],
  rounds: number,
  warmupSeconds: number,
  quiet: QuietBudget,
): Promise<Record<N, LoadResult>> {
  for (const t of targets) await runLoad(benchDir, { ...t.spec, seconds: warmupSeconds });
  const runs = new Map<N, LoadResult[]>(targets.map((t) => [t.name, []]));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? targets : [...targets].reverse();
    for (const t of order) {
      await quiet.wait();
      runs.get(t.name)!.push(await runLoad(benchDir, t.spec));
    }
  }
  const out = {} as Record<N, LoadResult>;
  for (const t of targets) out[t.name] = combine(runs.get(t.name)!);
  return out;
}
