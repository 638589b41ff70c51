/**
 * Pre-warm jobs: a list of references (from the API, the CLI, lockfiles or a
 * watched folder) fetched with bounded concurrency through each protocol's
 * Warmer, retried with backoff on transient upstream failures, with progress
 * per item and in bytes. npm dependency trees are expanded as children,
 * deduplicated by resolved name@version.
 */
import { randomUUID } from 'node:crypto';
import { LarderError, toLarderError } from '../core/errors.js';
import { parseRef } from './refs.js';
import { isUpstreamFailure } from '../core/upstream-status.js';
import type { Warmer } from '../core/warm.js';
import type { Job, JobItem, JobRequest } from '../admin/contract.js';
import type { PlannedItem } from './lockfiles.js';

export interface RunnerOptions {
  warmers: Map<string, Warmer>;
  concurrency: number;
  retries: number;
  /** Base backoff in ms (doubles per attempt). */
  backoffMs: number;
  onUpdate(job: Job): void;
  /** Called with each finished item's closure keys (pins, stats). */
  onWarmed?(ref: string, keys: string[]): void;
  keepJobs?: number;
}

interface Running {
  job: Job;
  controller: AbortController;
  plan: Map<JobItem, PlannedItem>;
}

export class PrewarmRunner {
  private readonly jobs = new Map<string, Running>();

  constructor(private readonly opts: RunnerOptions) {}

  list(): Job[] {
    return [...this.jobs.values()].map((r) => r.job).reverse();
  }

  get(id: string): Job | undefined {
    return this.jobs.get(id)?.job;
  }

  /** Validates every reference up front (400 naming the bad one), then starts. */
  start(items: PlannedItem[], req: Pick<JobRequest, 'deps' | 'concurrency'>, source: string): Job {
    if (items.length === 0) throw new LarderError('E_BAD_REQUEST', 'nothing to pre-warm: no references given');
    for (const it of items) parseRef(it.ref);
    const job: Job = {
      id: randomUUID(),
      state: 'queued',
      createdAt: Date.now(),
      source,
      items: [],
      bytes: 0,
      done: 0,
      failed: 0,
      total: 0,
    };
    const running: Running = { job, controller: new AbortController(), plan: new Map() };
    const seen = new Set<string>();
    for (const it of items) this.add(running, it, seen);
    this.jobs.set(job.id, running);
    this.trim();
    void this.run(running, req.deps ?? true, Math.max(1, Math.min(64, req.concurrency ?? this.opts.concurrency)), seen);
    this.opts.onUpdate(job);
    return job;
  }

  cancel(id: string): Job | undefined {
    const r = this.jobs.get(id);
    if (!r) return undefined;
    r.controller.abort();
    for (const item of r.job.items) if (item.state === 'queued' || item.state === 'running') item.state = 'cancelled';
    if (r.job.state === 'queued' || r.job.state === 'running') r.job.state = 'cancelled';
    this.opts.onUpdate(r.job);
    return r.job;
  }

  /** Waits for a job to finish (tests, CLI). */
  async wait(id: string): Promise<Job | undefined> {
    for (;;) {
      const job = this.get(id);
      if (!job || (job.state !== 'queued' && job.state !== 'running')) return job;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private add(r: Running, planned: PlannedItem, seen: Set<string>): void {
    if (seen.has(planned.ref)) return;
    seen.add(planned.ref);
    const item: JobItem = { ref: planned.ref, state: 'queued', bytes: 0, attempts: 0 };
    r.job.items.push(item);
    r.plan.set(item, planned);
    r.job.total = r.job.items.length;
  }

  private async run(r: Running, deps: boolean, concurrency: number, seen: Set<string>): Promise<void> {
    const { job } = r;
    job.state = 'running';
    let next = 0;
    let lastEmit = 0;
    let trailing: NodeJS.Timeout | undefined;
    // At most one update per 250 ms, and the last change is always sent (a trailing update).
    const emit = (force = false): void => {
      const now = Date.now();
      if (force || now - lastEmit > 250) {
        clearTimeout(trailing);
        trailing = undefined;
        lastEmit = now;
        this.opts.onUpdate(job);
      } else {
        trailing ??= setTimeout(() => emit(true), 250 - (now - lastEmit));
        trailing.unref();
      }
    };
    const worker = async (): Promise<void> => {
      while (next < job.items.length && !r.controller.signal.aborted) {
        const item = job.items[next++]!;
        await this.runItem(r, item, deps, seen, emit);
        // Throttled: a job of thousands of items must not push thousands of full job snapshots.
        emit();
      }
    };
    // Workers re-check the list: dependency children are appended while running.
    while (next < job.items.length && !r.controller.signal.aborted) {
      await Promise.all(Array.from({ length: concurrency }, worker));
    }
    if (job.state === 'running') job.state = job.failed > 0 ? 'failed' : 'done';
    job.finishedAt = Date.now();
    emit(true);
  }

  private async runItem(r: Running, item: JobItem, deps: boolean, seen: Set<string>, emit: () => void): Promise<void> {
    const planned = r.plan.get(item)!;
    const ref = parseRef(item.ref);
    const warmer = this.opts.warmers.get(ref.protocol);
    item.state = 'running';
    if (!warmer) {
      item.state = 'failed';
      item.error = `no ${ref.protocol} adapter is configured`;
      r.job.failed++;
      return;
    }
    for (;;) {
      item.attempts++;
      try {
        const closure = await warmer.warm(ref, {
          signal: r.controller.signal,
          deps: planned.deps ?? deps,
          expect: planned.expect,
          onBytes: (n) => {
            item.bytes += n;
            r.job.bytes += n;
            emit();
          },
        });
        item.totalBytes = closure.bytes;
        item.state = closure.fetched === 0 ? 'cached' : 'done';
        r.job.done++;
        this.opts.onWarmed?.(item.ref, closure.keys);
        for (const child of closure.children) this.add(r, { ref: child }, seen);
        return;
      } catch (err) {
        const e = toLarderError(err);
        if (r.controller.signal.aborted) {
          item.state = 'cancelled';
          return;
        }
        if (isUpstreamFailure(e) && item.attempts <= this.opts.retries) {
          await new Promise((res) => setTimeout(res, this.opts.backoffMs * 2 ** (item.attempts - 1)));
          continue;
        }
        item.state = 'failed';
        item.error = `${e.code}: ${e.message}`;
        r.job.failed++;
        return;
      }
    }
  }

  private trim(): void {
    const keep = this.opts.keepJobs ?? 50;
    for (const [id, r] of this.jobs) {
      if (this.jobs.size <= keep) break;
      if (r.job.state !== 'running' && r.job.state !== 'queued') this.jobs.delete(id);
    }
  }
}
