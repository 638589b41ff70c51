/**
 * A/B of warm packument hits between builds of Larder on one machine: one
 * fresh instance per build (`--cli NAME=DIST/daemon/cli.js`, repeatable),
 * all primed, then short load runs of each scenario, interleaved between the
 * builds with the order rotated every round, so a ratio between builds holds
 * while other work moves the absolute numbers. Prints per round and the
 * medians: req/s, requests per server CPU-second, and each build's ratio to
 * the first. `--cpu-prof DIR` runs every instance with `--cpu-prof` (one
 * profile per build, written when it stops; summarise with cpu-profile.ts).
 * `--verdaccio` adds Verdaccio (bench/verdaccio/) and `--floor` the bare
 * node:http and Koa floors (bench/node-floor-child.ts, packument scenarios only; profiled too under `--cpu-prof`) as
 * sides of the same schedule, so their ratios come from the same rounds.
 * `--node-arg NAME=FLAG` (repeatable) adds a node flag to one build's
 * instance, so one build can be compared with itself under a V8 flag
 * (`--cli base=D/cli.js --cli flag=D/cli.js --node-arg flag=--heap-growing-percent=50`).
 *
 *   node --import tsx bench/ab-load.ts --cli old=/tmp/old/daemon/cli.js --cli new=/tmp/new/daemon/cli.js
 *        [--rounds N] [--seconds N] [--scenarios packumentFull,packumentAbbrev] [--cpu-prof DIR] [--work DIR] [--node-arg NAME=FLAG]…
 *        [--verdaccio] [--floor]
 */
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runLoad, type LoadResult } from './load.js';
import { packumentPath, prime, scenarios, specFor } from './scenarios.js';
import { startLarder, startNodeFloor, startUpstream, startVerdaccio, type BenchServer } from './servers.js';

const BENCH = fileURLToPath(new URL('.', import.meta.url));
const log = (line: string): void => console.error(`[ab ${new Date().toISOString().slice(11, 19)}] ${line}`);

const { values: flags } = parseArgs({
  options: {
    cli: { type: 'string', multiple: true, default: [] },
    rounds: { type: 'string', default: '6' },
    seconds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '32' },
    scenarios: { type: 'string', default: 'packumentFull,packumentAbbrev' },
    'cpu-prof': { type: 'string' },
    verdaccio: { type: 'boolean', default: false },
    floor: { type: 'boolean', default: false },
    'node-arg': { type: 'string', multiple: true, default: [] },
    work: { type: 'string', default: join(tmpdir(), 'larder-ab') },
  },
});

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function main(): Promise<void> {
  const builds = flags.cli.map((c) => {
    const eq = c.indexOf('=');
    return { name: c.slice(0, eq), cli: c.slice(eq + 1) };
  });
  if (builds.length === 0) throw new TypeError('give --cli NAME=DIST/daemon/cli.js (repeatable)');
  await mkdir(flags.work, { recursive: true });
  const upstream = await startUpstream(BENCH, join(flags.work, 'fixture'));
  const servers: { name: string; server: BenchServer }[] = [];
  try {
    for (const b of builds) {
      const prof = flags['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${join(flags['cpu-prof'], b.name)}`] : [];
      const extra = flags['node-arg'].filter((a) => a.startsWith(`${b.name}=`)).map((a) => a.slice(b.name.length + 1));
      const server = await startLarder(b.cli, flags.work, upstream.url, [...prof, ...extra]);
      servers.push({ name: b.name, server });
      await prime(server, upstream.fixture);
    }
    if (flags.verdaccio) {
      const server = await startVerdaccio(
        join(BENCH, 'verdaccio', 'node_modules', 'verdaccio', 'bin', 'verdaccio'),
        flags.work,
        upstream.url,
      );
      servers.push({ name: 'verdaccio', server });
      await prime(server, upstream.fixture);
    }
    if (flags.floor) {
      const paths = upstream.fixture.packages.map((p) => packumentPath(p.name));
      for (const framework of ['node', 'koa'] as const) {
        const name = `${framework}-floor`;
        const prof = flags['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${join(flags['cpu-prof'], name)}`] : [];
        servers.push({ name, server: await startNodeFloor(BENCH, flags.work, servers[0]!.server, paths, prof, framework) });
      }
    }
    const only = flags.scenarios.split(',');
    for (const sc of scenarios(upstream.fixture, Number(flags.connections)).filter((s) => only.includes(s.name))) {
      const sides = servers.filter((s) => !s.name.endsWith('-floor') || sc.name.startsWith('packument'));
      const runs = new Map<string, LoadResult[]>(sides.map((s) => [s.name, []]));
      for (const s of sides) await runLoad(BENCH, specFor(sc, s.server, 1));
      for (let round = 0; round < Number(flags.rounds); round++) {
        const k = round % sides.length;
        const order = [...sides.slice(k), ...sides.slice(0, k)];
        if (round % 2 === 1) order.reverse();
        const line: string[] = [];
        for (const s of order) {
          const r = await runLoad(BENCH, specFor(sc, s.server, Number(flags.seconds)));
          runs.get(s.name)!.push(r);
          const bad = r.errors + r.non2xx ? ` ERR ${r.errors}/${r.non2xx}` : '';
          line.push(`${s.name} ${Math.round(r.requestsPerSec)}/s ${Math.round(r.requests / r.serverCpuSeconds)}/cpu-s${bad}`);
        }
        log(`${sc.name} round ${round + 1}: ${line.join(', ')}`);
      }
      const base = builds[0]!.name;
      const rate = (n: string): number => median(runs.get(n)!.map((r) => r.requestsPerSec));
      const perCpu = (n: string): number => median(runs.get(n)!.map((r) => r.requests / r.serverCpuSeconds));
      for (const { name } of sides) {
        console.log(
          `${sc.name.padEnd(16)} ${name.padEnd(10)} median ${Math.round(rate(name))} req/s (${(rate(name) / rate(base)).toFixed(2)}× ${base}), ` +
            `${Math.round(perCpu(name))} per server CPU-s (${(perCpu(name) / perCpu(base)).toFixed(2)}×)`,
        );
      }
    }
  } finally {
    for (const s of servers) {
      s.server.memory.sample();
      console.log(`${s.name} peak RSS ${(s.server.memory.peak / 1024 / 1024).toFixed(1)} MiB`);
      await s.server.stop();
    }
    await upstream.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
