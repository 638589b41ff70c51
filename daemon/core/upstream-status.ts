/** Turns non-success upstream answers into typed errors, after draining the body. */
import { LarderError } from './errors.js';
import type { UpstreamResponse } from './ports.js';

export function header(res: { headers: UpstreamResponse['headers'] }, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Consumes and discards a body we do not use (keeps the connection reusable). */
export function drain(res: UpstreamResponse): void {
  res.body.resume();
  res.body.on('error', () => undefined);
}

export function isAbsent(status: number): boolean {
  return status === 404 || status === 410;
}

/**
 * The error for an upstream status that is neither success nor "absent".
 * 401/403/429/5xx are never treated as "not found".
 */
export function upstreamStatusError(what: string, res: UpstreamResponse): LarderError {
  drain(res);
  const s = res.status;
  if (s === 429) {
    const ra = Number(header(res, 'retry-after'));
    return new LarderError('E_UPSTREAM_RATE_LIMIT', `${what}: upstream rate limit (429)`, {
      retryAfter: Number.isFinite(ra) ? ra : undefined,
      details: { upstreamStatus: s },
    });
  }
  if (s === 401) return new LarderError('E_UNAUTHORIZED', `${what}: upstream requires authentication`, { details: { upstreamStatus: s } });
  if (s === 403) return new LarderError('E_FORBIDDEN', `${what}: upstream denied access`, { details: { upstreamStatus: s } });
  return new LarderError('E_UPSTREAM_STATUS', `${what}: upstream answered ${s}`, { details: { upstreamStatus: s } });
}

/** Whether an error means "the upstream is unavailable", so cached content may be served stale. */
export function isUpstreamFailure(err: LarderError): boolean {
  return (
    err.code === 'E_UPSTREAM' ||
    err.code === 'E_UPSTREAM_TIMEOUT' ||
    err.code === 'E_UPSTREAM_RATE_LIMIT' ||
    err.code === 'E_OFFLINE' ||
    (err.code === 'E_UPSTREAM_STATUS' && Number(err.details.upstreamStatus) >= 500)
  );
}
