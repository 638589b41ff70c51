/**
 * The upstream side of HttpCache: one exchange with the upstream
 * (unconditional, or conditional on a stored entry's validators) and what
 * comes of it (a refreshed entry, a fill, a bypass, a stale answer on
 * failure), and the uncached, verified requests of bypassed answers.
 */
import { announcedSize } from './blob-fetch.js';
import type { CoreDeps } from './deps.js';
import { LarderError, notFound, toLarderError } from './errors.js';
import type { ActiveFill } from './fill/fill-job.js';
import type { FillPipeline } from './fill/pipeline.js';
import { verifyingStream } from './fill/verify.js';
import { capped, freshnessHeaders, revalidated, storedFields } from './http-entry.js';
import { expiresAt, isStorable, staleOnErrorAllowed } from './http-freshness.js';
import type { UpstreamResponse } from './ports.js';
import type { NegativeCache } from './single-flight.js';
import { isNoSpace } from './storage-guard.js';
import { IMMUTABLE_EXPIRY, type Entry, type ExpectedDigest, type Validators } from './types.js';
import { drain, isAbsent, isUpstreamFailure, upstreamStatusError } from './upstream-status.js';

export interface HttpCacheRequest {
  key: string;
  /** How errors name the file (default: the key). */
  label?: string;
  /** Immutable files are never revalidated. */
  immutable: boolean;
  /** Freshness lifetime when the upstream gives none; caps the Last-Modified heuristic. */
  fallbackTtlMs: number;
  /** Upper bound on freshness whatever the upstream says (0: revalidate every use). */
  maxTtlMs?: number;
  /** Digests the protocol knows in advance (path, sidecar, index file). */
  expected?: readonly ExpectedDigest[];
  expectedSize?: number;
  /** Digests announced by the response itself (e.g. `x-checksum-sha1`). */
  expectFromResponse?(res: UpstreamResponse): ExpectedDigest[];
  maxBytes?: number;
  offline?: boolean;
  negativeTtlMs?: number;
  meta?: Entry['meta'];
  /** Runs after a new body is committed (not after a 304), before followers see the new entry. */
  onCommitted?(entry: Entry, previous: Entry | undefined): Promise<void> | void;
  /** Opens the upstream response; `validators` are empty for unconditional requests. */
  fetch(validators: Validators, signal: AbortSignal): Promise<UpstreamResponse>;
}

/** What the client is told about the representation. */
export interface ClientView {
  etag?: string;
  lastModified?: string;
  mediaType?: string;
}

/** What one exchange came to: a stored entry to serve, a fill in progress, or an answer not to store. */
export type Outcome =
  | { kind: 'entry'; entry: Entry; state: 'HIT' | 'REVALIDATED' | 'STALE' }
  | { kind: 'fill'; fill: ActiveFill; view: ClientView }
  | { kind: 'bypass'; take(): UpstreamResponse | undefined };

/** What an exchange uses of its HttpCache. */
export interface ExchangeContext {
  deps: CoreDeps;
  /** Keys the upstream answered as absent, until their negative TTL ends. */
  negative: NegativeCache;
  pipeline: FillPipeline;
  /** Aborted by HttpCache.abortAll (shutdown). */
  signal: AbortSignal;
}

/** One upstream exchange: unconditional, or conditional on the entry's validators. */
export async function exchange(x: ExchangeContext, req: HttpCacheRequest, entry: Entry | undefined): Promise<Outcome> {
  const { clock, index } = x.deps;
  let res: UpstreamResponse;
  try {
    res = await req.fetch(entry && !req.immutable ? (entry.validators ?? {}) : {}, x.signal);
  } catch (err) {
    return failed(x, req, entry, toLarderError(err));
  }
  const received = clock.now();
  if (res.status === 304 && entry) {
    drain(res);
    const updated = revalidated(entry, res, req.fallbackTtlMs, received);
    updated.expiresAt = capped(req.maxTtlMs, updated.expiresAt, received);
    // A full disk only costs the new expiry: the stored entry is still complete.
    await index.putEntry(updated, []).catch((err: unknown) => {
      if (!isNoSpace(err)) throw err;
    });
    return { kind: 'entry', entry: updated, state: 'REVALIDATED' };
  }
  if (isAbsent(res.status)) {
    drain(res);
    x.negative.add(req.key, received + (req.negativeTtlMs ?? 30_000));
    if (entry) await index.deleteEntry(req.key);
    throw notFound(req.label ?? req.key);
  }
  if (res.status !== 200) return failed(x, req, entry, upstreamStatusError(req.label ?? req.key, res));
  x.negative.delete(req.key);
  if (!isStorable(freshnessHeaders(res))) {
    if (entry) await index.deleteEntry(req.key);
    let taken = false;
    return {
      kind: 'bypass',
      take: () => {
        if (taken) return undefined;
        taken = true;
        return res;
      },
    };
  }
  const expectedSize = announcedSize(req.expectedSize, res);
  if (expectedSize !== undefined && req.maxBytes !== undefined && expectedSize > req.maxBytes) {
    res.body.destroy();
    throw new LarderError('E_UPSTREAM', `${req.key}: ${expectedSize} bytes exceeds the limit of ${req.maxBytes}`);
  }
  const previous = entry;
  const ttl = req.immutable ? undefined : req.fallbackTtlMs;
  const expiry = ttl === undefined ? IMMUTABLE_EXPIRY : capped(req.maxTtlMs, expiresAt(freshnessHeaders(res), ttl, received), received);
  const fields = storedFields(req.key, res, { received, expiry, immutable: req.immutable, meta: req.meta });
  const fill = await x.pipeline.start({
    spec: {
      key: req.key,
      expected: [...(req.expected ?? []), ...(req.expectFromResponse?.(res) ?? [])],
      expectedSize,
      maxBytes: req.maxBytes,
    },
    res,
    fields,
    onCommitted: (committed) => req.onCommitted?.(committed, previous),
  });
  const view: ClientView = { etag: fields.validators?.etag, lastModified: fields.validators?.lastModified, mediaType: fields.mediaType };
  return { kind: 'fill', fill, view };
}

function failed(x: ExchangeContext, req: HttpCacheRequest, entry: Entry | undefined, e: LarderError): Outcome {
  const cc = typeof entry?.meta?.cacheControl === 'string' ? entry.meta.cacheControl : undefined;
  if (entry && isUpstreamFailure(e) && staleOnErrorAllowed(cc, entry.expiresAt, x.deps.clock.now())) {
    x.deps.events.staleServed?.(req.key, e.code);
    return { kind: 'entry', entry, state: 'STALE' };
  }
  throw e;
}

/** A second, uncached request for a follower of a bypassed (no-store) exchange. */
export async function direct(x: ExchangeContext, req: HttpCacheRequest): Promise<UpstreamResponse> {
  const res = await req.fetch({}, x.signal);
  if (res.status === 200) return verified(req, res);
  if (isAbsent(res.status)) {
    drain(res);
    throw notFound(req.label ?? req.key);
  }
  throw upstreamStatusError(req.label ?? req.key, res);
}

/**
 * An answer streamed through unstored (no-store, or a second client while the
 * disk is full), verified on the fly when the protocol knows a digest or a
 * size: a wrong body fails the transfer instead of ending cleanly.
 */
export function verified(req: HttpCacheRequest, res: UpstreamResponse): UpstreamResponse {
  const expected = [...(req.expected ?? []), ...(req.expectFromResponse?.(res) ?? [])];
  if (expected.length === 0 && req.expectedSize === undefined) return res;
  const spec = { key: req.key, expected, expectedSize: announcedSize(req.expectedSize, res), maxBytes: req.maxBytes };
  return { ...res, body: verifyingStream(res.body, spec) };
}
