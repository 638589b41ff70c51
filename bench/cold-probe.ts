/**
 * Quick probe of the cold `npm ci` ratio only (no Verdaccio, no load):
 * alternates direct / fresh-Larder-cold runs and prints the medians.
 *   node --import tsx bench/cold-probe.ts [rounds] [--no-build] [--nice=N]
 * (--nice as in run.ts: the probe and everything it starts, its autogroup too).
 */
import { writeFileSync } from 'node:fs';
import { setPriority } from 'node:os';
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
const cli = process.argv.includes('--no-build') ? join(WORK, 'dist', 'daemon', 'cli.js') : await buildDaemon(join(BENCH, '..'), join(WORK, 'dist'), log);
const upstream = await startUpstream(BENCH, join(WORK, 'fixture'));
try {
  const app = await prepareApp(WORK, upstream.fixture, upstream.url);
  const direct: number[] = [];
  const cold: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < rounds; i++) {
    direct.push(await timeNpmCi(app, WORK, upstream.url));
    const s = await startLarder(cli, WORK, upstream.url);
    try {
      cold.push(await timeNpmCi(app, WORK, s.registry));
      warm.push(await timeNpmCi(app, WORK, s.registry));
    } finally {
      await s.stop();
    }
    log(`round ${i + 1}: direct ${direct.at(-1)} cold ${cold.at(-1)} warm ${warm.at(-1)}`);
  }
  const d = median(direct);
  console.log(`direct ${d} ms, cold ${median(cold)} ms (${(median(cold) / d).toFixed(2)}x), warm ${median(warm)} ms (${(median(warm) / d).toFixed(2)}x)`);
} finally {
  await upstream.stop();
}
