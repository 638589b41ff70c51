/** RFC 9110 single byte-range parsing. Multiple ranges are served as 200 (legal). */

export type RangeResult = { kind: 'none' } | { kind: 'range'; start: number; end: number } | { kind: 'unsatisfiable' };

export function parseRange(header: string | undefined, size: number): RangeResult {
  if (!header) return { kind: 'none' };
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return { kind: 'none' };
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return { kind: 'unsatisfiable' };
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return { kind: 'none' };
  }
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start >= size || size === 0) return { kind: 'unsatisfiable' };
  return { kind: 'range', start, end };
}

/** Whether an If-None-Match header matches an ETag (weak comparison). */
export function etagMatches(ifNoneMatch: string | undefined, etag: string | undefined): boolean {
  if (!ifNoneMatch || !etag) return false;
  if (ifNoneMatch.trim() === '*') return true;
  const strip = (t: string) => t.trim().replace(/^W\//, '');
  const want = strip(etag);
  return ifNoneMatch.split(',').some((t) => strip(t) === want);
}

/**
 * RFC 9110 §13.2.2 for GET/HEAD: If-None-Match when present (weak
 * comparison), else If-Modified-Since against Last-Modified.
 */
export function notModified(
  ifNoneMatch: string | undefined,
  ifModifiedSince: string | undefined,
  headers: Record<string, string>,
): boolean {
  if (ifNoneMatch) return etagMatches(ifNoneMatch, headers.etag);
  if (!ifModifiedSince || !headers['last-modified']) return false;
  const since = Date.parse(ifModifiedSince);
  const modified = Date.parse(headers['last-modified']);
  return !Number.isNaN(since) && !Number.isNaN(modified) && modified <= since;
}

/** If-Range (RFC 9110 §13.1.5): a strong ETag equal to ours, or a date equal to our Last-Modified. */
export function ifRangeMatches(ifRange: string, headers: Record<string, string>): boolean {
  const v = ifRange.trim();
  if (v.startsWith('"')) return headers.etag !== undefined && !headers.etag.startsWith('W/') && v === headers.etag;
  return headers['last-modified'] !== undefined && v === headers['last-modified'];
}
