/**
 * `Range` on the compact index, as Bundler uses it: it keeps a local copy of
 * `/versions` and `/info/<gem>`, asks for `bytes=<size-1>-` with
 * `If-None-Match: <md5 of its copy>` and appends what comes back, then checks
 * the md5 of the result against the ETag. A 200 with the whole file is
 * always a correct answer too (the spec allows it), so anything but a plain
 * satisfiable `bytes=N-` / `bytes=N-M` gets the whole file.
 */
import type { IncomingHttpHeaders } from 'node:http';

export interface ByteSpan {
  start: number;
  end: number;
}

const one = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

/** The span to answer 206 with, or undefined for a full 200 (or the 304 the HTTP layer makes of a matching If-None-Match). */
export function byteRange(headers: IncomingHttpHeaders, etag: string | undefined, size: number): ByteSpan | undefined {
  const range = one(headers.range)?.trim();
  if (!range) return undefined;
  const inm = one(headers['if-none-match']);
  const strip = (t: string): string => t.trim().replace(/^W\//, '');
  if (inm && etag && inm.split(',').some((t) => strip(t) === etag || t.trim() === '*')) return undefined;
  const ifRange = one(headers['if-range']);
  if (ifRange !== undefined && ifRange.trim() !== etag) return undefined;
  const m = /^bytes=(\d{1,15})-(\d{0,15})$/.exec(range);
  if (!m) return undefined;
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return undefined;
  return { start, end };
}
