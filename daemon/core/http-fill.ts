/**
 * Starts the streaming fill of an HttpCache exchange: the upstream body goes
 * to a temp file through a Fill (hashing, verification, growing-file reads),
 * then to the CAS, then into the index with the upstream's validators and
 * caching headers. The temp file is removed on any failure; nothing is
 * indexed unless every expected digest and the size matched.
 */
import { LarderError, toLarderError } from './errors.js';
import { commitFilled } from './commit-entry.js';
import { Fill } from './fill.js';
import { header } from './upstream-status.js';
import { verifyingStream } from './pass-through.js';
import type { ServedBlob } from './served.js';
import type { CoreDeps } from './deps.js';
import type { ClientView, HttpCacheRequest } from './http-cache.js';
import type { UpstreamResponse } from './ports.js';
import type { Entry, Validators } from './types.js';
import { expiresAt, type FreshnessHeaders } from './http-freshness.js';

export interface FillOutcome {
  kind: 'fill';
  view: ClientView;
  /** A view of the growing body for one more client. */
  served(): ServedBlob;
  /** Whether every byte arrived and verified (only the commit may be pending). */
  verified(): boolean;
  /** Settles (never rejects) once the body is committed and indexed, or has failed. */
  committed: Promise<void>;
}

export interface FillTiming {
  /** When the response headers arrived (ms). */
  received: number;
  /** Absolute expiry of the new entry. */
  expiry: number;
  /** The entry being replaced, if any. */
  previous: Entry | undefined;
}

/** The size the response must have: the protocol's, else Content-Length. */
export function announcedSize(req: HttpCacheRequest, res: UpstreamResponse): number | undefined {
  const lengthHeader = header(res, 'content-length');
  const announced = lengthHeader === undefined ? Number.NaN : Number(lengthHeader);
  return req.expectedSize ?? (Number.isSafeInteger(announced) && announced >= 0 ? announced : undefined);
}

/** The response with its body verified on the fly (streamed through, not stored: the disk is full). */
export function verifiedPassThrough(req: HttpCacheRequest, res: UpstreamResponse): UpstreamResponse {
  const expected = [...(req.expected ?? []), ...(req.expectFromResponse?.(res) ?? [])];
  return { ...res, body: verifyingStream(res.body, { key: req.key, expected, expectedSize: announcedSize(req, res), maxBytes: req.maxBytes }) };
}

export async function startHttpFill(deps: CoreDeps, req: HttpCacheRequest, res: UpstreamResponse, at: FillTiming): Promise<FillOutcome> {
  const { blobs, clock, events } = deps;
  const expected = [...(req.expected ?? []), ...(req.expectFromResponse?.(res) ?? [])];
  const expectedSize = announcedSize(req, res);
  if (expectedSize !== undefined && req.maxBytes !== undefined && expectedSize > req.maxBytes) {
    res.body.destroy();
    throw new LarderError('E_UPSTREAM', `${req.key}: ${expectedSize} bytes exceeds the limit of ${req.maxBytes}`);
  }
  let temp;
  try {
    temp = await blobs.createTemp();
    if (deps.guard) temp = deps.guard.guardTemp(temp, req.key);
  } catch (err) {
    res.body.destroy();
    throw toLarderError(err);
  }
  const fill = new Fill({ key: req.key, expected, expectedSize, maxBytes: req.maxBytes }, temp);
  const started = clock.now();
  events.fillStarted?.(req.key);

  const validators: Validators = {};
  const etag = header(res, 'etag');
  const lastModified = header(res, 'last-modified');
  if (etag) validators.etag = etag;
  if (lastModified) validators.lastModified = lastModified;
  const mediaType = header(res, 'content-type');
  const meta: NonNullable<Entry['meta']> = { ...req.meta };
  const cacheControl = header(res, 'cache-control');
  const expires = header(res, 'expires');
  if (cacheControl !== undefined) meta.cacheControl = cacheControl;
  if (expires !== undefined) meta.expires = expires;

  const committed = fill
    .run(res.body, async (r) => {
      const entry = await commitFilled(deps, temp, r, {
        key: req.key,
        mediaType,
        validators,
        fetchedAt: at.received,
        expiresAt: at.expiry,
        immutable: req.immutable,
        meta,
      });
      try {
        await req.onCommitted?.(entry, at.previous);
      } catch {
        // A failing hook must not undo a verified, committed body.
      }
    })
    .then(
      (r) => events.fillFinished?.(req.key, 'ok', r.size, clock.now() - started),
      (err: LarderError) => {
        res.body.destroy();
        events.fillFinished?.(req.key, err.code === 'E_INTEGRITY' ? 'integrity' : 'error', 0, clock.now() - started);
      },
    );

  const done = fill.done.then(() => undefined);
  done.catch(() => undefined); // failures reach readers through their streams
  return {
    kind: 'fill',
    view: { etag, lastModified, mediaType },
    committed,
    verified: () => fill.state === 'verified',
    served: () => ({
      state: 'MISS',
      size: fill.knownSize,
      mediaType,
      digest: fill.result?.digest,
      open: (range) => fill.reader(range?.start ?? 0, range?.end),
      done,
    }),
  };
}

/** The caching-relevant headers of a response. */
export function freshnessHeaders(res: UpstreamResponse): FreshnessHeaders {
  return {
    cacheControl: header(res, 'cache-control'),
    expires: header(res, 'expires'),
    date: header(res, 'date'),
    lastModified: header(res, 'last-modified'),
    age: header(res, 'age'),
    vary: header(res, 'vary'),
  };
}

export function capped(req: HttpCacheRequest, expiry: number, now: number): number {
  return req.maxTtlMs === undefined ? expiry : Math.min(expiry, now + req.maxTtlMs);
}

/** The entry after a 304: headers the 304 carries replace the stored ones. */
export function revalidated(entry: Entry, res: UpstreamResponse, fallbackMs: number, now: number): Entry {
  const meta = { ...entry.meta };
  const h = freshnessHeaders(res);
  if (h.cacheControl !== undefined) meta.cacheControl = h.cacheControl;
  if (h.expires !== undefined) meta.expires = h.expires;
  const validators: Validators = { ...entry.validators };
  if (header(res, 'etag')) validators.etag = header(res, 'etag');
  if (h.lastModified) validators.lastModified = h.lastModified;
  const merged: FreshnessHeaders = {
    cacheControl: typeof meta.cacheControl === 'string' ? meta.cacheControl : undefined,
    expires: typeof meta.expires === 'string' ? meta.expires : undefined,
    date: h.date,
    lastModified: validators.lastModified,
    age: h.age,
  };
  return { ...entry, meta, validators, fetchedAt: now, expiresAt: expiresAt(merged, fallbackMs, now) };
}
