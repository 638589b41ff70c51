/**
 * Process plumbing for the benchmark: free loopback ports, waiting for an
 * HTTP server to answer, and reading a server's memory (VmRSS / VmHWM) and
 * CPU time from /proc while it runs.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** A loopback port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** Polls `url` until it answers with `status` (default 200), or throws after `timeoutMs`. */
export async function waitForHttp(url: string, child: ChildProcess, output: () => string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${url}: server exited (${child.exitCode ?? child.signalCode}) before answering:\n${output()}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${url}: no answer within ${timeoutMs} ms:\n${output()}`);
}

/** Memory of a process in bytes, from /proc/<pid>/status. */
export interface MemoryReading {
  rss: number;
  /** Peak resident set size so far (VmHWM). */
  hwm: number;
}

/** Reads VmRSS and VmHWM; undefined when the process is gone. */
export function readMemory(pid: number): MemoryReading | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** User + system CPU seconds consumed by a process so far (0 when it is gone). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** Busy CPU seconds of the whole machine so far, all cores (everything but idle and iowait). */
export function machineCpuSeconds(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    return (total - (f[3] ?? 0) - (f[4] ?? 0)) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** How long the benchmark may wait for other work on the machine to calm down, in total. */
export class QuietBudget {
  waitedMs = 0;

  constructor(
    /** CPU (in cores) that other work may use while a measurement starts. */
    readonly maxCores: number,
    /** Total wait allowed over the whole run. */
    readonly maxWaitMs: number,
  ) {}

  /**
   * Samples the machine's busy CPU over one second, repeatedly, until it is
   * below `maxCores` or the budget is spent. Returns the last reading (cores).
   */
  async wait(): Promise<number> {
    for (;;) {
      const t0 = machineCpuSeconds();
      await sleep(1000);
      const busy = machineCpuSeconds() - t0;
      if (busy <= this.maxCores || this.waitedMs >= this.maxWaitMs) return busy;
      this.waitedMs += 1000;
    }
  }
}

/**
 * Samples a process's memory every `everyMs` and keeps the peak, so the peak
 * is known even if VmHWM cannot be read at the very end.
 */
export class MemoryMonitor {
  private peakRss = 0;
  private peakHwm = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly pid: number,
    everyMs = 250,
  ) {
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
    this.sample();
  }

  /** Takes one reading now (call it right before stopping the process). */
  sample(): void {
    const m = readMemory(this.pid);
    if (!m) return;
    this.peakRss = Math.max(this.peakRss, m.rss);
    this.peakHwm = Math.max(this.peakHwm, m.hwm);
  }

  /** Peak in bytes: VmHWM (kernel-tracked), or the highest sampled VmRSS if larger. */
  get peak(): number {
    return Math.max(this.peakRss, this.peakHwm);
  }

  stop(): void {
    this.sample();
    clearInterval(this.timer);
  }
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * Remembers a child so it is SIGKILLed if the benchmark exits without
 * stopping it (an exception, Ctrl-C): a run never leaves servers behind.
 */
export function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
  return child;
}

/** Sends SIGTERM, then SIGKILL after `graceMs`, and waits for the exit. */
export async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
