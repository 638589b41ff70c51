/**
 * Reads a V8 `.cpuprofile` (node --cpu-prof) and says where the time went
 * inside a wall-clock window: self time per function and per file (grouped
 * by package for node_modules, by path under the compiled daemon), plus the
 * idle, GC and program buckets. The window is given in the clock V8 stamps
 * its samples with, which on Linux is CLOCK_MONOTONIC in microseconds, the
 * same clock as `process.hrtime.bigint()` in any process on the machine.
 */
import { readFile } from 'node:fs/promises';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** One row of a self-time table. */
export interface SelfTime {
  name: string;
  ms: number;
  /** Share of the busy (non-idle) time in the window. */
  share: number;
}

/** Where the time went inside one window. */
export interface ProfileSummary {
  windowMs: number;
  busyMs: number;
  idleMs: number;
  gcMs: number;
  topFunctions: SelfTime[];
  topFiles: SelfTime[];
}

/** Monotonic clock in microseconds, comparable with the profile's sample times. */
export function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** `node_modules/<pkg>` (scoped too), or the path after `dist/`, or the URL. */
export function fileGroup(url: string): string {
  if (!url) return '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return `npm:${rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1] ?? ''}` : (rest[0] ?? '')}`;
  }
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + '/dist/'.length);
  return url.replace(/^file:\/\//, '');
}

function top(map: Map<string, number>, busy: number, n: number): SelfTime[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, us]) => ({ name, ms: us / 1000, share: busy > 0 ? us / busy : 0 }));
}

/** Summarises `file` between `fromUs` and `toUs` (monotonic µs; defaults: the whole profile). */
export async function summarise(file: string, fromUs = 0, toUs = Number.POSITIVE_INFINITY, n = 15): Promise<ProfileSummary> {
  const p = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((node) => [node.id, node]));
  const fns = new Map<string, number>();
  const files = new Map<string, number>();
  let t = p.startTime;
  let idle = 0;
  let gc = 0;
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const delta = p.timeDeltas[i] ?? 0;
    t += delta;
    if (t < fromUs || t > toUs) continue;
    // A sample's time is the gap to the next sample.
    const dt = p.timeDeltas[i + 1] ?? 0;
    const frame = byId.get(p.samples[i] ?? -1)?.callFrame;
    if (!frame) continue;
    total += dt;
    if (frame.functionName === '(idle)') {
      idle += dt;
      continue;
    }
    if (frame.functionName === '(garbage collector)') gc += dt;
    const where = frame.url ? `${fileGroup(frame.url)}:${frame.lineNumber + 1}` : '';
    const fn = `${frame.functionName || '(anonymous)'} ${where}`.trim();
    fns.set(fn, (fns.get(fn) ?? 0) + dt);
    const group = frame.url ? fileGroup(frame.url) : frame.functionName;
    files.set(group, (files.get(group) ?? 0) + dt);
  }
  const busy = total - idle;
  return {
    windowMs: total / 1000,
    busyMs: busy / 1000,
    idleMs: idle / 1000,
    gcMs: gc / 1000,
    topFunctions: top(fns, busy, n),
    topFiles: top(files, busy, n),
  };
}

/** Plain-text rendering of a summary. */
export function formatSummary(title: string, s: ProfileSummary): string {
  const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
  const lines = [
    `${title}: window ${s.windowMs.toFixed(0)} ms, ` +
      `daemon busy ${s.busyMs.toFixed(0)} ms (${pct(s.windowMs ? s.busyMs / s.windowMs : 0)}), idle ${s.idleMs.toFixed(0)} ms, ` +
      `GC ${s.gcMs.toFixed(0)} ms`,
    '  self time by file/package:',
    ...s.topFiles.map((r) => `    ${r.ms.toFixed(0).padStart(7)} ms ${pct(r.share).padStart(6)}  ${r.name}`),
    '  self time by function:',
    ...s.topFunctions.map((r) => `    ${r.ms.toFixed(0).padStart(7)} ms ${pct(r.share).padStart(6)}  ${r.name}`),
  ];
  return lines.join('\n');
}
