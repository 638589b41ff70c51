/**
 * Immutable artifacts (tarballs, layers, wheels…): lookup → single-flight →
 * fetch → tee to temp + clients → verify → commit → index.
 */
import { Readable } from 'node:stream';
import { LarderError, notFound, toLarderError } from './errors.js';
import { Fill } from './fill.js';
import { NegativeCache } from './single-flight.js';
import { header, isAbsent, upstreamStatusError } from './upstream-status.js';
import { AccessTracker, type CoreDeps } from './deps.js';
import type { UpstreamResponse } from './ports.js';
import { IMMUTABLE_EXPIRY, type CacheState, type Entry, type ExpectedDigest } from './types.js';

export interface ImmutableRequest {
  key: string;
  /** Digests the protocol supplies; sha256 is always computed for the CAS address. */
  expected: ExpectedDigest[];
  expectedSize?: number;
  maxBytes?: number;
  mediaType?: string;
  meta?: Entry['meta'];
  /** Do not contact the upstream (offline remote / mode). */
  offline?: boolean;
  negativeTtlMs?: number;
  /** Opens the upstream response. Called at most once per fill. */
  fetch(signal: AbortSignal): Promise<UpstreamResponse>;
}

export interface ByteRange {
  start: number;
  end: number;
}

export interface ServedBlob {
  state: CacheState;
  /** Total size when known (always for HIT). */
  size: number | undefined;
  mediaType: string | undefined;
  /** `sha256:<hex>` once known. */
  digest: string | undefined;
  /** The whole body when it is in memory (fast path for small hits). */
  body?: Buffer | undefined;
  /** Opens the body or a range of it. */
  open(range?: ByteRange): Readable;
  /** Resolves when a MISS fill is committed and indexed (HIT: immediately); never rejects. */
  done: Promise<void>;
}

interface ActiveFill {
  fill: Fill;
  /** Settles (never rejects) once the fill is committed and indexed, or failed. */
  committed: Promise<void>;
}

export class BlobCache {
  private readonly fills = new Map<string, Promise<ActiveFill>>();
  private readonly negative = new NegativeCache();
  private readonly controller = new AbortController();
  private readonly warming = new Set<string>();

  constructor(
    private readonly deps: CoreDeps,
    private readonly access: AccessTracker,
  ) {}

  /** Number of upstream fills in flight (a gauge). */
  get inflight(): number {
    return this.fills.size;
  }

  /** Cached entry for a key, if any (no upstream contact). */
  peek(key: string): Entry | undefined {
    return this.deps.index.getEntry(key);
  }

  async get(req: ImmutableRequest): Promise<ServedBlob> {
    const entry = this.deps.index.getEntry(req.key);
    if (entry) return this.serveEntry(entry, 'HIT');
    let pending = this.fills.get(req.key);
    if (!pending) {
      const now = this.deps.clock.now();
      if (this.negative.has(req.key, now)) throw notFound(req.key);
      if (req.offline) throw new LarderError('E_OFFLINE', `${req.key} is not cached and its remote is offline`);
      pending = this.startFill(req);
      this.fills.set(req.key, pending);
      pending.catch(() => this.fills.delete(req.key));
    }
    const { fill, committed } = await pending;
    return {
      state: 'MISS',
      size: fill.knownSize,
      mediaType: req.mediaType,
      digest: fill.result?.digest,
      open: (range) => fill.reader(range?.start ?? 0, range?.end),
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
          ? Readable.from([range ? cached.subarray(range.start, range.end + 1) : cached], { objectMode: false })
          : blobs.createReadStream(entry.digest, range),
      done: Promise.resolve(),
    };
  }

  private async startFill(req: ImmutableRequest): Promise<ActiveFill> {
    const { blobs, index, clock, events } = this.deps;
    const signal = this.controller.signal;
    const res = await req.fetch(signal);
    if (res.status !== 200) {
      if (isAbsent(res.status)) {
        res.body.resume();
        this.negative.add(req.key, clock.now() + (req.negativeTtlMs ?? 30_000));
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
    let temp;
    try {
      temp = await blobs.createTemp();
    } catch (err) {
      res.body.destroy();
      throw toLarderError(err);
    }
    const fill = new Fill({ key: req.key, expected: req.expected, expectedSize, maxBytes: req.maxBytes }, temp);
    const started = clock.now();
    events.fillStarted?.(req.key);
    const mediaType = req.mediaType ?? header(res, 'content-type');
    // A failed fill must not be joined by the next request: that one retries upstream.
    fill.once('failed', () => this.fills.delete(req.key));
    const committed = fill
      .run(res.body, async (r) => {
        await temp.commit(r.digest);
        const now = clock.now();
        const entry: Entry = {
          key: req.key,
          digest: r.digest,
          size: r.size,
          mediaType,
          verified: r.digests,
          fetchedAt: now,
          expiresAt: IMMUTABLE_EXPIRY,
          immutable: true,
          meta: req.meta,
        };
        await index.putEntry(entry, [[r.digest, { size: r.size, createdAt: now, lastAccess: now }]]);
      })
      .then(
        (r) => events.fillFinished?.(req.key, 'ok', r.size, clock.now() - started),
        (err: LarderError) => {
          res.body.destroy();
          events.fillFinished?.(req.key, err.code === 'E_INTEGRITY' ? 'integrity' : 'error', 0, clock.now() - started);
        },
      )
      .finally(() => this.fills.delete(req.key));
    return { fill, committed };
  }

  /** Stops fills in flight (shutdown). */
  abortAll(): void {
    this.controller.abort();
  }

  /** Waits until fills in flight have settled. */
  async drain(): Promise<void> {
    const all = [...this.fills.values()].map((p) => p.then((f) => f.committed).catch(() => undefined));
    await Promise.all(all);
  }
}
