/**
 * Disk work no client waits for (committing a small artifact that was
 * already verified and answered, writing a document that was already
 * answered) is put off while clients keep the caches busy and done once
 * they pause. A burst such as a cold `npm ci` is CPU-bound on both sides
 * on a small machine: measured (7 alternating rounds, one run), moving these
 * writes out of the burst took a cold `npm ci` from 1.30x to 1.18x the time
 * of going straight to the upstream.
 *
 * A client's burst of requests is not the end of its work: `npm ci` goes on
 * unpacking and linking for about as long again, and writes that start
 * 300 ms after its last request compete with that. Waiting for 2.5 s of
 * quiet (at most 6 s) puts them after it: measured with 14 alternating
 * rounds of a cold `npm ci` (upstream +20 ms), the install through a daemon
 * waiting 2.5 s took 0.84x the time of one waiting 300 ms (median of the
 * paired ratios; faster in 12 of 14 rounds).
 *
 * Nothing waits long: a task runs once the caches were quiet for `quietMs`,
 * at the latest `maxDelayMs` after it was queued, and at once when the
 * queued bodies exceed `maxBytes` or someone needs the result now
 * (`urgent`: a pre-warm job that checks what it stored, shutdown). A crash
 * before a task ran loses only what can be fetched again: nothing is
 * indexed before its bytes are committed.
 */
import type { Clock } from './ports.js';

export interface WriteBehindOptions {
  quietMs?: number;
  maxDelayMs?: number;
  maxBytes?: number;
}

interface Task {
  queuedAt: number;
  bytes: number;
  start(): void;
}

/** Runs `task` through `later` when there is one, else at once. */
export function writeLater<T>(later: WriteBehind | undefined, bytes: number, task: () => Promise<T>): Promise<T> {
  return later ? later.run(bytes, task) : task();
}

export class WriteBehind {
  private readonly queue: Task[] = [];
  private readonly running = new Set<Promise<unknown>>();
  private bytes = 0;
  private lastTouch = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly quietMs: number;
  private readonly maxDelayMs: number;
  private readonly maxBytes: number;

  constructor(
    private readonly clock: Clock,
    opts: WriteBehindOptions = {},
  ) {
    this.quietMs = opts.quietMs ?? 2500;
    this.maxDelayMs = opts.maxDelayMs ?? 6000;
    this.maxBytes = opts.maxBytes ?? 32 * 1024 * 1024;
  }

  /** Notes that a client is using the caches (postpones queued work). */
  touch(): void {
    this.lastTouch = this.clock.now();
  }

  /** Tasks queued, not started yet (a gauge for tests). */
  get pending(): number {
    return this.queue.length;
  }

  /** Queues `task` (holding `bytes` in memory until it runs); settles as the task does. */
  run<T>(bytes: number, task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = (): void => {
        const p = task().then(resolve, reject);
        this.running.add(p);
        void p.finally(() => this.running.delete(p));
      };
      this.queue.push({ queuedAt: this.clock.now(), bytes, start });
      this.bytes += bytes;
      if (this.bytes > this.maxBytes) this.urgent();
      else this.arm();
    });
  }

  /** Starts everything queued now. */
  urgent(): void {
    const tasks = this.queue.splice(0);
    this.bytes = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const t of tasks) t.start();
  }

  /** Starts everything queued and waits until all of it ended (shutdown, drains). */
  async flush(): Promise<void> {
    this.urgent();
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  private arm(): void {
    if (this.timer || this.queue.length === 0) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        const now = this.clock.now();
        const oldest = this.queue[0];
        if (now - this.lastTouch >= this.quietMs || (oldest && now - oldest.queuedAt >= this.maxDelayMs)) this.urgent();
        else this.arm();
      },
      Math.max(10, Math.floor(this.quietMs / 3)),
    );
    // Not unref'd: armed only while work is queued, it keeps a process alive until that work ran (at most maxDelayMs).
  }
}
