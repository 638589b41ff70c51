/**
 * Child-process entry of the load generator: keep-alive connections against
 * one server, one JSON {@link LoadResult} line on stdout. Running it in its
 * own process keeps the measuring process out of the servers' way.
 *
 * Engines: `autocannon` (installed on demand into bench/node_modules; the
 * cheapest client per request, for small bodies) and `http`, a node:http
 * keep-alive loop (autocannon's parser tops out near 90 MB/s on multi-MB
 * bodies, node:http's native parser does several times that).
 *
 *   node --import tsx bench/load-child.ts '<LoadSpec as JSON>'
 */
import { Agent, get } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadResult, LoadSpec } from './load.js';
import { cpuSeconds, machineCpuSeconds } from './proc.js';

/** The part of autocannon's result this benchmark reads. */
interface AutocannonResult {
  requests: { average: number; total: number };
  throughput: { average: number; total: number };
  latency: { p50: number; p99: number; average: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  duration: number;
}

type Autocannon = (opts: {
  url: string;
  connections: number;
  duration: number;
  pipelining: number;
  requests: Array<{ method: 'GET'; path: string; headers: Record<string, string> }>;
}) => Promise<AutocannonResult>;

type Measured = Omit<LoadResult, 'windowSeconds' | 'loadCpuSeconds' | 'serverCpuSeconds' | 'otherCpuSeconds'>;

function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : 0;
}

/** `spec.connections` keep-alive loops, each cycling over the paths from its own offset. */
async function httpLoop(spec: LoadSpec): Promise<Measured> {
  const url = new URL(spec.origin);
  const agent = new Agent({ keepAlive: true, maxSockets: spec.connections });
  const latencies: number[] = [];
  let bytes = 0;
  let errors = 0;
  let non2xx = 0;
  const started = performance.now();
  const end = started + spec.seconds * 1000;
  const one = (path: string): Promise<void> =>
    new Promise((resolve) => {
      const t0 = performance.now();
      const fail = (): void => {
        errors += 1;
        resolve();
      };
      const req = get({ host: url.hostname, port: url.port, path, headers: spec.headers, agent }, (res) => {
        if ((res.statusCode ?? 0) >= 300) non2xx += 1;
        res.on('data', (c: Buffer) => {
          bytes += c.length;
        });
        res.on('end', () => {
          latencies.push(performance.now() - t0);
          resolve();
        });
        res.on('error', fail);
      });
      req.on('error', fail);
    });
  await Promise.all(
    Array.from({ length: spec.connections }, async (_, i) => {
      for (let k = i; performance.now() < end; k++) await one(spec.paths[k % spec.paths.length]!);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    requestsPerSec: latencies.length / seconds,
    bytesPerSec: bytes / seconds,
    requests: latencies.length,
    bytes,
    seconds,
    latencyP50Ms: percentile(latencies, 50),
    latencyP99Ms: percentile(latencies, 99),
    errors,
    non2xx,
  };
}

async function autocannonRun(spec: LoadSpec): Promise<Measured> {
  const benchDir = fileURLToPath(new URL('.', import.meta.url));
  // autocannon is CommonJS and lives in bench/node_modules (installed on demand).
  const autocannon = createRequire(join(benchDir, 'package.json'))('autocannon') as Autocannon;
  const r = await autocannon({
    url: spec.origin,
    connections: spec.connections,
    duration: spec.seconds,
    pipelining: 1,
    requests: spec.paths.map((path) => ({ method: 'GET', path, headers: spec.headers })),
  });
  return {
    requestsPerSec: r.requests.total / r.duration,
    bytesPerSec: r.throughput.total / r.duration,
    requests: r.requests.total,
    bytes: r.throughput.total,
    seconds: r.duration,
    latencyP50Ms: r.latency.p50,
    latencyP99Ms: r.latency.p99,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
  };
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as LoadSpec;
  const [own0, server0, machine0, t0] = [process.cpuUsage(), cpuSeconds(spec.serverPid), machineCpuSeconds(), performance.now()];
  const measured = spec.engine === 'http' ? await httpLoop(spec) : await autocannonRun(spec);
  const windowSeconds = (performance.now() - t0) / 1000;
  const own = process.cpuUsage(own0);
  const loadCpuSeconds = (own.user + own.system) / 1e6;
  const serverCpuSeconds = cpuSeconds(spec.serverPid) - server0;
  const otherCpuSeconds = Math.max(0, machineCpuSeconds() - machine0 - serverCpuSeconds - loadCpuSeconds);
  const result: LoadResult = { ...measured, windowSeconds, loadCpuSeconds, serverCpuSeconds, otherCpuSeconds };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((err: unknown) => {
  console.error('load generator failed:', err);
  process.exit(1);
});
