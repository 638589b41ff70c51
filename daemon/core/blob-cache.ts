/**
 * Immutable artifacts (tarballs, layers, wheels…): lookup → single-flight →
 * fetch → tee to temp + clients → verify → commit → index.
 *
 * When the disk is full (see storage-guard.ts) a miss is streamed through,
 * verified on the fly, without being stored (state BYPASS).
 */
import { setMaxListeners } from 'node:events';
import { Readable } from 'node:stream';
import { LarderError, notFound, toLarderError } from './errors.js';
import { commitFilled } from './commit-entry.js';
import { Fill } from './fill.js';
import { SMALL_BODY, fillSmall, type SmallBody } from './small-fill.js';
import { bypassBlob } from './pass-through.js';
import { StorageGuard, isNoSpace } from './storage-guard.js';
import { NegativeCache } from './single-flight.js';
import { header, isAbsent, upstreamStatusError } from './upstream-status.js';
import { AccessTracker, type CoreDeps } from './deps.js';
import type { BlobReader, UpstreamResponse } from './ports.js';
import type { ByteRange, ImmutableRequest, ServedBlob } from './served.js';
import { IMMUTABLE_EXPIRY, type CacheState, type Entry } from './types.js';

export type { ByteRange, ImmutableRequest, ServedBlob } from './served.js';

type ActiveFill =
  | {
      kind: 'fill';
      fill: Fill;
      /** Settles (never rejects) once the fill is committed and indexed, or failed. */
      committed: Promise<void>;
    }
  /** A small body read whole and verified, answered from memory while it is committed. */
  | { kind: 'memory'; small: SmallBody; committed: Promise<void> }
  /** Not stored (disk full): the response goes to the first caller; others fetch their own. */
  | { kind: 'bypass'; take(): ServedBlob | undefined };

export class BlobCache {
  private readonly fills = new Map<string, Promise<ActiveFill>>();
  private readonly negative = new NegativeCache();
  private readonly controller = new AbortController();
  private readonly warming = new Set<string>();
  /** Keys of small fills that verified and are being committed (joining them is a hit). */
  private readonly verified = new Set<string>();
  private readonly guard: StorageGuard;

  constructor(
    private readonly deps: CoreDeps,
    private readonly access: AccessTracker,
  ) {
    this.guard = deps.guard ?? new StorageGuard(deps, { minFree: 0 });
    // Every upstream request listens on this one signal; many in flight is normal, not a leak.
    setMaxListeners(0, this.controller.signal);
  }

  /** Number of upstream fills in flight (a gauge). */
  get inflight(): number {
    return this.fills.size;
  }

  /** Whether a fill of `key` is in flight or being committed (a request for it joins that fill). */
  filling(key: string): boolean {
    return this.fills.has(key);
  }

  /** Cached entry for a key, if any (no upstream contact). */
  peek(key: string): Entry | undefined {
    return this.deps.index.getEntry(key);
  }

  async get(req: ImmutableRequest): Promise<ServedBlob> {
    this.deps.later?.touch();
    const entry = this.deps.index.getEntry(req.key);
    if (entry) return this.serveEntry(entry, 'HIT');
    let pending = this.fills.get(req.key);
    // A request that started the fetch, or joined it before the body verified, is a miss.
    const miss = !pending || !this.verified.has(req.key);
    if (!pending) {
      const now = this.deps.clock.now();
      if (this.negative.has(req.key, now)) throw notFound(req.key);
      if (req.offline) throw new LarderError('E_OFFLINE', `${req.key} is not cached and its remote is offline`);
      if (this.guard.isFull()) return this.bypass(req, await this.open(req, this.controller.signal));
      const started = this.startFill(req);
      pending = started;
      this.fills.set(req.key, started);
      // Only this fill's own end removes it: a late end of an older, failed fill must not drop a newer one.
      const forget = (): void => {
        if (this.fills.get(req.key) === started) this.fills.delete(req.key);
      };
      started.then((a) => {
        if (a.kind === 'bypass') return forget();
        void a.committed.then(forget);
        // A failed fill must not be joined by the next request: that one retries upstream.
        if (a.kind === 'fill') {
          if (a.fill.state === 'failed') forget();
          else a.fill.once('failed', forget);
        }
      }, forget);
    }
    const active = await pending;
    if (active.kind === 'bypass') return active.take() ?? this.bypass(req, await this.open(req, this.controller.signal));
    if (active.kind === 'memory') {
      const { body, result } = active.small;
      // Served from memory before its commit: a use like any hit, recorded once the blob is indexed.
      if (!miss) void active.committed.then(() => this.access.touch(result.digest));
      return {
        state: miss ? 'MISS' : 'HIT',
        size: result.size,
        mediaType: req.mediaType,
        digest: result.digest,
        body,
        open: (range) => bufferStream(body, range),
        done: active.committed,
        commitNow: () => this.deps.later?.urgent(),
      };
    }
    const { fill, committed } = active;
    return {
      // Joining a fill that already verified costs no upstream traffic: that is a hit.
      state: fill.state === 'verified' ? 'HIT' : 'MISS',
      size: fill.knownSize,
      mediaType: req.mediaType,
      digest: fill.result?.digest,
      // A fill that finished before this response was opened has closed its temp file: read the committed blob.
      open: (range) =>
        fill.released && fill.stored ? this.deps.blobs.createReadStream(fill.stored, range) : fill.reader(range?.start ?? 0, range?.end),
      done: committed,
    };
  }

  /** Serves an index entry from the blob store (small bodies from the hot cache). */
  serveEntry(entry: Entry, state: CacheState): ServedBlob {
    this.access.touch(entry.digest);
    const { blobs, hot, hotMaxBody } = this.deps;
    const small = entry.size <= hotMaxBody;
    const cached = small ? hot.get(entry.digest) : undefined;
    if (small && !cached && !this.warming.has(entry.digest)) {
      this.warming.add(entry.digest);
      blobs
        .readAll(entry.digest)
        .then((b) => b.length === entry.size && hot.set(entry.digest, b))
        .catch(() => undefined)
        .finally(() => this.warming.delete(entry.digest));
    }
    return {
      state,
      size: entry.size,
      mediaType: entry.mediaType,
      digest: entry.digest,
      body: cached,
      open: (range) =>
        cached
          ? bufferStream(cached, range)
          : blobs.createReadStream(entry.digest, range),
      reader: cached ? undefined : readerOf(blobs, entry.digest),
      done: Promise.resolve(),
    };
  }

  /** Opens the upstream response and checks its status and announced size. */
  private async open(req: ImmutableRequest, signal: AbortSignal): Promise<{ res: UpstreamResponse; expectedSize: number | undefined }> {
    const res = await req.fetch(signal);
    if (res.status !== 200) {
      if (isAbsent(res.status)) {
        res.body.resume();
        this.negative.add(req.key, this.deps.clock.now() + (req.negativeTtlMs ?? 30_000));
        throw notFound(req.key);
      }
      throw upstreamStatusError(req.key, res);
    }
    const announced = Number(header(res, 'content-length'));
    const expectedSize = req.expectedSize ?? (Number.isSafeInteger(announced) && announced >= 0 ? announced : undefined);
    if (expectedSize !== undefined && req.maxBytes !== undefined && expectedSize > req.maxBytes) {
      res.body.destroy();
      throw new LarderError('E_UPSTREAM', `${req.key}: ${expectedSize} bytes exceeds the limit of ${req.maxBytes}`);
    }
    return { res, expectedSize };
  }

  /** Streams a response through, verified, without storing it (the disk is full). */
  private bypass(req: ImmutableRequest, opened: { res: UpstreamResponse; expectedSize: number | undefined }): ServedBlob {
    const { clock, events } = this.deps;
    const started = clock.now();
    this.guard.report(req.key);
    return bypassBlob(opened.res, {
      spec: { key: req.key, expected: req.expected, expectedSize: opened.expectedSize, maxBytes: req.maxBytes },
      mediaType: req.mediaType ?? header(opened.res, 'content-type'),
      onDone: (o) => {
        if (o.ok) events.upstreamBytes?.(o.result.size);
        else if (o.error.code === 'E_INTEGRITY') events.fillFinished?.(req.key, 'integrity', 0, clock.now() - started);
      },
    });
  }

  private async startFill(req: ImmutableRequest): Promise<ActiveFill> {
    const { blobs, clock, events } = this.deps;
    const opened = await this.open(req, this.controller.signal);
    const { res, expectedSize } = opened;
    const bypass = (): ActiveFill => {
      let served: ServedBlob | undefined = this.bypass(req, opened);
      const take = (): ServedBlob | undefined => {
        const first = served;
        served = undefined;
        return first;
      };
      return { kind: 'bypass', take };
    };
    if (!(await this.guard.room(expectedSize))) return bypass();
    if (expectedSize !== undefined && expectedSize <= SMALL_BODY) return this.smallFill(req, res, expectedSize);
    let temp;
    try {
      temp = this.guard.guardTemp(await blobs.createTemp(), req.key);
    } catch (err) {
      if (isNoSpace(err)) {
        this.guard.markFull();
        return bypass();
      }
      res.body.destroy();
      throw toLarderError(err);
    }
    const fill = new Fill({ key: req.key, expected: req.expected, expectedSize, maxBytes: req.maxBytes }, temp);
    const started = clock.now();
    events.fillStarted?.(req.key);
    const mediaType = req.mediaType ?? header(res, 'content-type');
    const committed = fill
      .run(res.body, async (r) => {
        await commitFilled(this.deps, temp, r, {
          key: req.key,
          mediaType,
          fetchedAt: clock.now(),
          expiresAt: IMMUTABLE_EXPIRY,
          immutable: true,
          meta: req.meta,
        });
      })
      .then(
        (r) => events.fillFinished?.(req.key, 'ok', r.size, clock.now() - started),
        (err: LarderError) => {
          res.body.destroy();
          if (isNoSpace(err)) {
            this.guard.markFull();
            this.guard.report(req.key);
          }
          events.fillFinished?.(req.key, err.code === 'E_INTEGRITY' ? 'integrity' : 'error', 0, clock.now() - started);
        },
      );
    return { kind: 'fill', fill, committed };
  }

  /** Reads, verifies and answers a small body from memory; commits it afterwards. */
  private async smallFill(req: ImmutableRequest, res: UpstreamResponse, expectedSize: number): Promise<ActiveFill> {
    const mediaType = req.mediaType ?? header(res, 'content-type');
    const spec = { key: req.key, expected: req.expected, expectedSize, maxBytes: req.maxBytes };
    const { small, committed } = await fillSmall(this.deps, this.guard, res, spec, {
      key: req.key, mediaType, fetchedAt: this.deps.clock.now(), expiresAt: IMMUTABLE_EXPIRY, immutable: true, meta: req.meta,
    }, {
      verified: () => this.verified.add(req.key),
      settled: () => this.verified.delete(req.key),
    });
    return { kind: 'memory', small, committed };
  }

  /** Stops fills in flight (shutdown). */
  abortAll(): void {
    this.controller.abort();
  }

  /** Waits until fills in flight have settled. */
  async drain(): Promise<void> {
    await this.deps.later?.flush();
    const all = [...this.fills.values()].map((p) => p.then((f) => (f.kind === 'bypass' ? undefined : f.committed)).catch(() => undefined));
    await Promise.all(all);
  }
}

/** A body held in memory as a stream (or a range of it). */
function bufferStream(body: Buffer, range?: ByteRange): Readable {
  return Readable.from([range ? body.subarray(range.start, range.end + 1) : body], { objectMode: false });
}

/** A positional reader factory for a committed blob, when the store offers one. */
function readerOf(blobs: CoreDeps['blobs'], digest: string): (() => Promise<BlobReader>) | undefined {
  const open = blobs.openReader?.bind(blobs);
  return open ? () => open(digest) : undefined;
}
