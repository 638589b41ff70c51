/**
 * Measuring tools for the cold-path profile (bench/cold-profile.ts):
 *
 * - `timeFirstBytes`: sequential GETs over one keep-alive connection,
 *   recording time to the response head and to the last byte, so a cold
 *   Larder can be compared request by request with going direct;
 * - `traceSyscalls`: strace attached to every thread of a running daemon,
 *   counting chosen syscalls (fsync, fdatasync, rename) and the time spent
 *   inside them (ptrace slows the traced calls, so its run is not timed).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Agent, get } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { median } from './report.js';

/** Timing of one GET. */
export interface FirstByte {
  path: string;
  status: number;
  bytes: number;
  headMs: number;
  totalMs: number;
}

/** GETs each path in turn over one keep-alive connection to `origin`. */
export async function timeFirstBytes(origin: string, paths: readonly string[], headers: Record<string, string> = {}): Promise<FirstByte[]> {
  const url = new URL(origin);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const out: FirstByte[] = [];
  try {
    for (const path of paths) {
      const t0 = performance.now();
      out.push(
        await new Promise<FirstByte>((resolve, reject) => {
          const req = get({ host: url.hostname, port: url.port, path, headers, agent }, (res) => {
            const headMs = performance.now() - t0;
            let bytes = 0;
            res.on('data', (c: Buffer) => {
              bytes += c.length;
            });
            res.on('end', () => resolve({ path, status: res.statusCode ?? 0, bytes, headMs, totalMs: performance.now() - t0 }));
            res.on('error', reject);
          });
          req.on('error', reject);
        }),
      );
    }
  } finally {
    agent.destroy();
  }
  return out;
}

/** Median and 90th percentile of a list. */
export function stats(xs: number[]): { median: number; p90: number; sum: number } {
  const s = [...xs].sort((a, b) => a - b);
  return {
    median: s.length ? median(s) : 0,
    p90: s[Math.min(s.length - 1, Math.floor(0.9 * s.length))] ?? 0,
    sum: s.reduce((a, b) => a + b, 0),
  };
}

/** Per syscall: calls and total seconds inside them (summed over threads). */
export type SyscallCounts = Record<string, { calls: number; seconds: number; maxSeconds: number }>;

/** A running strace; `stop()` detaches and returns the counts. */
export interface SyscallTrace {
  stop(): Promise<SyscallCounts>;
}

const LINE = /^\d+\s+(?:<\.\.\.\s+)?(\w+)(?:\(| resumed>).*<(\d+\.\d+)>\s*$/;

/** Attaches `strace -f -T` to every thread of `pid`, tracing `syscalls`, writing to `file`. */
export async function traceSyscalls(pid: number, syscalls: readonly string[], file: string): Promise<SyscallTrace> {
  const tids = readdirSync(`/proc/${pid}/task`);
  const args = ['-f', '-T', '-qq', '-e', `trace=${syscalls.join(',')}`, '-o', file, ...tids.flatMap((t) => ['-p', t])];
  const child = spawn('strace', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (c: Buffer) => {
    err += c.toString();
  });
  await sleep(500);
  if (child.exitCode !== null) throw new Error(`strace exited at once: ${err}`);
  return {
    stop: async () => {
      const exited = once(child, 'exit');
      child.kill('SIGINT');
      await exited;
      const counts: SyscallCounts = {};
      for (const line of (await readFile(file, 'utf8')).split('\n')) {
        const m = LINE.exec(line);
        if (!m?.[1] || line.includes('unfinished')) continue;
        let c = counts[m[1]];
        if (!c) {
          c = { calls: 0, seconds: 0, maxSeconds: 0 };
          counts[m[1]] = c;
        }
        const s = Number(m[2]);
        c.calls += 1;
        c.seconds += s;
        c.maxSeconds = Math.max(c.maxSeconds, s);
      }
      return counts;
    },
  };
}
