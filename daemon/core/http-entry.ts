/**
 * The index entry of an HTTP-cache file: built from the upstream's
 * validators and caching headers when a body is stored, and refreshed from
 * a 304's headers when it is revalidated (RFC 9111 §4.3.4).
 */
import { header } from './upstream-status.js';
import { expiresAt, type FreshnessHeaders } from './http-freshness.js';
import type { EntryFields } from './fill/commit.js';
import type { UpstreamResponse } from './ports.js';
import type { Entry, Validators } from './types.js';

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

/** The validators a response carries. */
export function validatorsOf(res: UpstreamResponse): Validators {
  const validators: Validators = {};
  const etag = header(res, 'etag');
  const lastModified = header(res, 'last-modified');
  if (etag) validators.etag = etag;
  if (lastModified) validators.lastModified = lastModified;
  return validators;
}

/** The entry fields of a new body: validators, media type, caching headers and expiry. */
export function storedFields(
  key: string,
  res: UpstreamResponse,
  at: { received: number; expiry: number; immutable: boolean; meta?: Entry['meta'] },
): EntryFields {
  const meta: NonNullable<Entry['meta']> = { ...at.meta };
  const cacheControl = header(res, 'cache-control');
  const expires = header(res, 'expires');
  if (cacheControl !== undefined) meta.cacheControl = cacheControl;
  if (expires !== undefined) meta.expires = expires;
  return {
    key,
    mediaType: header(res, 'content-type'),
    validators: validatorsOf(res),
    fetchedAt: at.received,
    expiresAt: at.expiry,
    immutable: at.immutable,
    meta,
  };
}

/** An expiry capped by `maxTtlMs`, when one is set. */
export function capped(maxTtlMs: number | undefined, expiry: number, now: number): number {
  return maxTtlMs === undefined ? expiry : Math.min(expiry, now + maxTtlMs);
}

/** The entry after a 304: headers the 304 carries replace the stored ones. */
export function revalidated(entry: Entry, res: UpstreamResponse, fallbackMs: number, now: number): Entry {
  const meta = { ...entry.meta };
  const h = freshnessHeaders(res);
  if (h.cacheControl !== undefined) meta.cacheControl = h.cacheControl;
  if (h.expires !== undefined) meta.expires = h.expires;
  const validators: Validators = { ...entry.validators, ...validatorsOf(res) };
  const merged: FreshnessHeaders = {
    cacheControl: typeof meta.cacheControl === 'string' ? meta.cacheControl : undefined,
    expires: typeof meta.expires === 'string' ? meta.expires : undefined,
    date: h.date,
    lastModified: validators.lastModified,
    age: h.age,
  };
  return { ...entry, meta, validators, fetchedAt: now, expiresAt: expiresAt(merged, fallbackMs, now) };
}
