/**
 * Warm packument hits with the supply-chain policy off, and with a 3-day
 * cooldown on, in one run (issue 16: the cost must stay under 10 %). One
 * local upstream; two daemons in this process; autocannon in a child. Two
 * packages of 200 versions: `old` (newest a month old: the cached form is
 * served as it is) and `young` (newest a day old: one version is withheld,
 * the form is filtered per request). Rounds interleave: each runs both
 * daemons back to back (alternating which goes first), and the cost is read
 * per round as the ratio of the two throughputs, reported as the median
 * with its range, so a slow stretch of a shared machine moves both sides
 * of a ratio rather than one side of an average.
 *   node --import tsx bench/policy-warm.ts [seconds=3] [rounds=7]
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateConfig } from '../daemon/config/load.js';
import { createLogger } from '../daemon/log.js';
import { startDaemon } from '../daemon/main.js';
import { runLoad, type LoadResult } from './load.js';

const DAY = 86_400_000;
const seconds = Number(process.argv[2] ?? 3);
const rounds = Number(process.argv[3] ?? 7);
const benchDir = fileURLToPath(new URL('.', import.meta.url));

function packument(base: string, name: string, newestAge: number): string {
  const versions: Record<string, unknown> = {};
  const time: Record<string, string> = {};
  for (let i = 0; i < 200; i++) {
    const v = `1.0.${i}`;
    versions[v] = {
      name,
      version: v,
      description: 'x'.repeat(200),
      dist: { tarball: `${base}/${name}/-/${name}-${v}.tgz`, shasum: 'a'.repeat(40) },
    };
    time[v] = new Date(Date.now() - newestAge - (199 - i) * DAY).toISOString();
  }
  return JSON.stringify({ name, 'dist-tags': { latest: '1.0.199' }, versions, time });
}

const upstream = createServer((req, res) => {
  const base = `http://${req.headers.host}`;
  const name = req.url?.slice(1);
  if (name === 'old' || name === 'young')
    res.writeHead(200, { 'content-type': 'application/json' }).end(packument(base, name, name === 'old' ? 30 * DAY : DAY));
  else res.writeHead(404).end('{}');
});
await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/`;
const dirs: string[] = [];
const start = async (policy: Record<string, unknown>) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'larder-bench-policy-'));
  dirs.push(dataDir);
  const cfg = validateConfig({ listen: '127.0.0.1:0', dataDir, remotes: { r: { type: 'npm', url, ttl: '1h' } }, policy }, 'bench');
  return startDaemon(cfg, { log: createLogger('silent') });
};
const daemons = { off: await start({}), on: await start({ minAge: '3d' }) };
const results: Record<string, LoadResult[]> = {};
for (const pkg of ['old', 'young']) {
  for (const d of Object.values(daemons)) await (await fetch(`${d.url}/npm/${pkg}`)).arrayBuffer();
  for (let round = 0; round < rounds; round++) {
    for (const mode of round % 2 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
      const r = await runLoad(benchDir, {
        origin: daemons[mode].url,
        paths: [`/npm/${pkg}`],
        headers: { accept: 'application/vnd.npm.install-v1+json' },
        connections: 8,
        seconds,
        serverPid: process.pid,
        engine: 'autocannon',
      });
      const key = `${pkg} ${mode}`;
      results[key] = [...(results[key] ?? []), r];
    }
  }
}
const rate = (r: LoadResult): number => r.requests / r.seconds;
const median = (xs: number[]): number => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
};
for (const [k, runs] of Object.entries(results)) {
  console.log(
    `${k.padEnd(10)} median ${median(runs.map(rate)).toFixed(0).padStart(7)} req/s  (${runs.map((r) => rate(r).toFixed(0)).join(' ')})  ` +
      `p50 ${runs.map((r) => r.latencyP50Ms).join('/')} ms  non2xx ${runs.reduce((a, r) => a + r.non2xx, 0)}`,
  );
}
for (const pkg of ['old', 'young']) {
  const on = results[`${pkg} on`] ?? [];
  const off = results[`${pkg} off`] ?? [];
  const ratios = on.map((r, i) => rate(r) / rate(off[i]!));
  const pct = (x: number): string => `${((1 - x) * 100).toFixed(1)} %`;
  console.log(
    `${pkg.padEnd(5)} on/off per round: median ${median(ratios).toFixed(3)} (cost ${pct(median(ratios))}), ` +
      `range ${Math.min(...ratios).toFixed(3)}–${Math.max(...ratios).toFixed(3)} over ${ratios.length} rounds of ${seconds} s`,
  );
}
for (const d of Object.values(daemons)) await d.stop();
upstream.close();
for (const d of dirs) await rm(d, { recursive: true, force: true });
