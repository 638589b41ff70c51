/**
 * Starts the streaming fill of an HttpCache exchange: the upstream body goes
 * to a temp file through a Fill (hashing, verification, growing-file reads),
 * then to the CAS, then into the index with the upstream's validators and
 * caching headers. The temp file is removed on any failure; nothing is
 * indexed unless every expected digest and the size matched.
 */
import { LarderError, toLarderError } from './errors.js';
import { Fill } from './fill.js';
import { header } from './upstream-status.js';
import type { ServedBlob } from './blob-cache.js';
import type { CoreDeps } from './deps.js';
import type { ClientView, HttpCacheRequest } from './http-cache.js';
import type { UpstreamResponse } from './ports.js';
import type { Entry, Validators } from './types.js';

export interface FillOutcome {
  kind: 'fill';
  view: ClientView;
  /** A view of the growing body for one more client. */
  served(): ServedBlob;
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

export async function startHttpFill(deps: CoreDeps, req: HttpCacheRequest, res: UpstreamResponse, at: FillTiming): Promise<FillOutcome> {
  const { blobs, index, clock, events } = deps;
  const expected = [...(req.expected ?? []), ...(req.expectFromResponse?.(res) ?? [])];
  const lengthHeader = header(res, 'content-length');
  const announced = lengthHeader === undefined ? Number.NaN : Number(lengthHeader);
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
      await temp.commit(r.digest);
      const now = clock.now();
      const entry: Entry = {
        key: req.key,
        digest: r.digest,
        size: r.size,
        mediaType,
        verified: r.digests,
        validators,
        fetchedAt: at.received,
        expiresAt: at.expiry,
        immutable: req.immutable,
        meta,
      };
      await index.putEntry(entry, [[r.digest, { size: r.size, createdAt: now, lastAccess: now }]]);
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

  return {
    kind: 'fill',
    view: { etag, lastModified, mediaType },
    committed,
    served: () => ({
      state: 'MISS',
      size: fill.knownSize,
      mediaType,
      digest: fill.result?.digest,
      open: (range) => fill.reader(range?.start ?? 0, range?.end),
      done: fill.done.then(() => undefined),
    }),
  };
}
