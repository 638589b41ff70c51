/**
 * What the admin API client decodes: every failed exchange into an
 * {@link AdminError} with a stable `code` (the API's own `E_…` code from its
 * error body, `E_HTTP_<status>` for an answer without one, and E_NETWORK /
 * E_TIMEOUT / E_ABORTED / E_BAD_RESPONSE when there was no usable answer),
 * and the `/events` stream's server-sent messages into LiveEvents. Imports
 * only the contract, so it bundles for the browser.
 */
import type * as C from './contract.js';

/** Codes the client gives failures that carry no answer from the API. */
export const CLIENT_ERROR = { network: 'E_NETWORK', timeout: 'E_TIMEOUT', aborted: 'E_ABORTED', badResponse: 'E_BAD_RESPONSE' } as const;

/** A failed admin API exchange; `status` is 0 when no HTTP answer came. */
export class AdminError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AdminError';
  }

  /** The credentials were refused (401), or a session-cookie request was (403). */
  get unauthorized(): boolean {
    return this.status === 401 || this.status === 403;
  }
}

function apiError(v: unknown): { code: string; message: string } | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const e = (v as { error?: unknown }).error;
  if (typeof e !== 'object' || e === null) return undefined;
  const { code, message } = e as { code?: unknown; message?: unknown };
  if (typeof code !== 'string' || !code) return undefined;
  return { code, message: typeof message === 'string' && message ? message : code };
}

/** Decodes a non-2xx answer: the API's `{ error: { code, message } }`, else `E_HTTP_<status>`. */
export function decodeError(status: number, body: string, statusText = ''): AdminError {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  const e = apiError(json);
  if (e) return new AdminError(e.code, status, e.message);
  const text = body.trim().slice(0, 200);
  return new AdminError(`E_HTTP_${status}`, status, text || statusText || `HTTP ${status}`);
}

/** Decodes an exchange that produced no answer (refused, reset, timed out, aborted). */
export function transportError(err: unknown, base: string): AdminError {
  if (err instanceof AdminError) return err;
  const name = err instanceof Error ? err.name : '';
  if (name === 'TimeoutError') {
    return new AdminError(CLIENT_ERROR.timeout, 0, `the Larder daemon at ${base} did not answer in time`, { cause: err });
  }
  if (name === 'AbortError') return new AdminError(CLIENT_ERROR.aborted, 0, 'the request was cancelled', { cause: err });
  const cause = err instanceof Error ? (err.cause as { code?: unknown } | undefined) : undefined;
  const why = typeof cause?.code === 'string' ? ` (${cause.code})` : '';
  return new AdminError(CLIENT_ERROR.network, 0, `cannot reach the Larder daemon${base ? ` at ${base}` : ''}${why}`, { cause: err });
}

/** The kinds of LiveEvent on the `/events` stream. */
export const LIVE_EVENT_TYPES: ReadonlyArray<C.LiveEvent['type']> = ['stats', 'job', 'pin', 'pin-removed', 'activity'];

/**
 * Decodes one server-sent message of `/events` into a LiveEvent, or
 * undefined when it is not one. Accepts both wire shapes: a whole LiveEvent
 * (`{"type":"stats","data":{…}}`), and a named event (`event: stats`) whose
 * data is the payload.
 */
export function parseLiveEvent(eventName: string, raw: string): C.LiveEvent | undefined {
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof data !== 'object' || data === null) return undefined;
  const types: readonly string[] = LIVE_EVENT_TYPES;
  const obj = data as { type?: unknown; data?: unknown };
  if (typeof obj.type === 'string' && types.includes(obj.type) && 'data' in obj) return obj as C.LiveEvent;
  return types.includes(eventName) ? ({ type: eventName, data } as C.LiveEvent) : undefined;
}
