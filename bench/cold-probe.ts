/**
 * Quick probe of the cold `npm ci` ratio only (no Verdaccio, no load):
 * alternates direct / fresh-Larder-cold runs and prints the medians.
 *   node --import tsx bench/cold-probe.ts [rounds] [--no-build] [--nice=N] [--warm-process]
 * (--nice as in run.ts: the probe and everything it starts, its autogroup too).
 */
import { writeFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prepareApp, timeNpmCi } from './npm-ci.js';
import { median } from './report.js';
import { startLarder, startUpstream } from './servers.js';
import { buildDaemon } from './setup.js';

const BENCH = fileURLToPath(new URL('.', import.meta.url));
const WORK = join(BENCH, '.work-probe');
const rounds = Number(process.argv[2] ?? 5);
const log = (l: string): void => console.error(l);
const nice = Number(process.argv.find((a) => a.startsWith('--nice='))?.slice(7) ?? 0);
if (nice !== 0) {
  setPriority(nice);
  try {
    writeFileSync('/proc/self/autogroup', String(nice));
  } catch {
    log('note: could not set the autogroup priority');
  }
}
const cli = process.argv.includes('--no-build')
  ? join(WORK, 'dist', 'daemon', 'cli.js')
  : await buildDaemon(join(BENCH, '..'), join(WORK, 'dist'), log);
const upstream = await startUpstream(BENCH, join(WORK, 'fixture'));
try {
  const app = await prepareApp(WORK, upstream.fixture, upstream.url);
  // A process that served something else before (JIT-warm), its cache still cold for the app: a tarball the app does not lock.
  const lock = JSON.parse(await readFile(join(app.dir, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
  const locked = new Set(
    Object.entries(lock.packages).map(([k, v]) => `${k.slice(k.lastIndexOf('node_modules/') + 13)}@${v.version ?? ''}`),
  );
  const others = upstream.fixture.packages.flatMap((p) =>
    p.tarballs.filter((t) => !locked.has(`${p.name}@${t.version}`)).map((t) => ({ p, t })),
  );
  const warmProcess = async (registry: string): Promise<void> => {
    for (const { p, t } of others.slice(0, 5)) {
      const r = await fetch(`${registry}${p.name}/-/${t.name.split('/').pop()}-${t.version}.tgz`);
      await r.arrayBuffer();
    }
  };
  const direct: number[] = [];
  const cold: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < rounds; i++) {
    direct.push(await timeNpmCi(app, WORK, upstream.url));
    const s = await startLarder(cli, WORK, upstream.url);
    try {
      if (process.argv.includes('--warm-process')) await warmProcess(s.registry);
      cold.push(await timeNpmCi(app, WORK, s.registry));
      warm.push(await timeNpmCi(app, WORK, s.registry));
    } finally {
      await s.stop();
    }
    log(`round ${i + 1}: direct ${direct.at(-1)} cold ${cold.at(-1)} warm ${warm.at(-1)}`);
  }
  const d = median(direct);
  console.log(
    `direct ${d} ms, cold ${median(cold)} ms (${(median(cold) / d).toFixed(2)}x), warm ${median(warm)} ms (${(median(warm) / d).toFixed(2)}x)`,
  );
} finally {
  await upstream.stop();
}
