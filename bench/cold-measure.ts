/**
 * Shared steps of the cold-path profile (bench/cold-profile.ts): run a body
 * against a Larder started with `--cpu-prof` and summarise the profile cut
 * to the body's window, run one under strace, and compare first-byte
 * timings request by request. Results also go into `report`, written as
 * JSON at the end.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stats, traceSyscalls, type FirstByte } from './cold-probes.js';
import { formatSummary, monotonicMicros, summarise } from './cpu-profile.js';
import type { BenchServer } from './servers.js';

export const BENCH = fileURLToPath(new URL('.', import.meta.url));
export const WORK = join(BENCH, '.work');
/** Where profiles and traces go (set by the entry point). */
export const settings = { out: join(WORK, 'profile') };
/** Everything measured, by name. */
export const report: Record<string, unknown> = {};
export const say = (line: string): void => console.log(line);
export const ms = (x: number): string => `${x.toFixed(1)} ms`;
const SYSCALLS = ['fsync', 'fdatasync', 'rename', 'renameat', 'renameat2'];

/** Runs `body` against a Larder started with `--cpu-prof` and returns the profile summary of the body's window. */
export async function profiled(
  name: string,
  start: (args: string[]) => Promise<BenchServer>,
  body: (s: BenchServer) => Promise<void>,
): Promise<string> {
  const dir = join(settings.out, name);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const s = await start(['--cpu-prof', '--cpu-prof-dir', dir]);
  let from = 0;
  let to = 0;
  try {
    from = monotonicMicros();
    await body(s);
    to = monotonicMicros();
  } finally {
    s.memory.sample();
    report[`${name}.peakRssMiB`] = s.memory.peak / 2 ** 20;
    await s.stop();
  }
  const file = (await readdir(dir)).find((f) => f.endsWith('.cpuprofile'));
  if (!file) return `${name}: no profile written`;
  const summary = await summarise(join(dir, file), from, to);
  report[`${name}.profile`] = summary;
  return formatSummary(`${name} (${join(dir, file)})`, summary);
}

/** Runs `body` against a Larder under strace and returns the syscall counts. */
export async function traced(name: string, start: () => Promise<BenchServer>, body: (s: BenchServer) => Promise<void>): Promise<string> {
  const s = await start();
  try {
    const trace = await traceSyscalls(s.child.pid ?? 0, SYSCALLS, join(settings.out, `${name}.strace`));
    await body(s);
    const counts = await trace.stop();
    report[`${name}.syscalls`] = counts;
    return (
      `${name} syscalls (strace, untimed run): ` +
      Object.entries(counts)
        .map(([k, c]) => `${k} ${c.calls} calls, ${(c.seconds * 1000).toFixed(0)} ms inside (max ${(c.maxSeconds * 1000).toFixed(1)} ms)`)
        .join('; ')
    );
  } finally {
    await s.stop();
  }
}

/** Compares first-byte and complete times of the same requests through Larder and direct. */
export function compareFirstBytes(label: string, larder: FirstByte[], direct: FirstByte[]): string {
  const h = stats(larder.map((r) => r.headMs));
  const d = stats(direct.map((r) => r.headMs));
  const added = stats(larder.map((r, i) => r.headMs - (direct[i]?.headMs ?? 0)));
  const tl = stats(larder.map((r) => r.totalMs));
  const td = stats(direct.map((r) => r.totalMs));
  report[`firstBytes.${label}`] = { larder: h, direct: d, added, totalLarder: tl, totalDirect: td };
  return (
    `${label}: ${larder.length} sequential GETs; ` +
    `first byte median ${ms(h.median)} (p90 ${ms(h.p90)}) vs direct ${ms(d.median)} (p90 ${ms(d.p90)}): ` +
    `added median ${ms(added.median)}, p90 ${ms(added.p90)}; complete, summed: ${ms(tl.sum)} vs ${ms(td.sum)}`
  );
}
