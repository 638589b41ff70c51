/**
 * Typed errors with stable codes. Every failure Larder reports carries one of
 * these codes; protocol adapters render them in their own wire format
 * (npm `{error}`, OCI `{errors:[]}`, plain text for Go…). Never branch on
 * `message`: branch on `code`.
 */
export type ErrorCode =
  | 'E_BAD_REQUEST'
  | 'E_BAD_NAME'
  | 'E_NOT_FOUND'
  | 'E_METHOD_NOT_ALLOWED'
  | 'E_READ_ONLY'
  | 'E_UNAUTHORIZED'
  | 'E_FORBIDDEN'
  | 'E_SCOPE'
  | 'E_RANGE'
  | 'E_INTEGRITY'
  | 'E_BUNDLE_UNSIGNED'
  | 'E_BUNDLE_SIGNATURE'
  | 'E_BUNDLE_UNTRUSTED'
  | 'E_UPSTREAM'
  | 'E_UPSTREAM_TIMEOUT'
  | 'E_UPSTREAM_STATUS'
  | 'E_UPSTREAM_RATE_LIMIT'
  | 'E_OFFLINE'
  | 'E_STORAGE'
  | 'E_STORAGE_FULL'
  | 'E_CONFIG'
  | 'E_SHUTTING_DOWN'
  | 'E_BUSY'
  | 'E_TOO_LARGE'
  | 'E_LOOP'
  | 'E_INTERNAL';

const DEFAULT_STATUS: Record<ErrorCode, number> = {
  E_BAD_REQUEST: 400,
  E_BAD_NAME: 400,
  E_NOT_FOUND: 404,
  E_METHOD_NOT_ALLOWED: 405,
  E_READ_ONLY: 405,
  E_UNAUTHORIZED: 401,
  E_FORBIDDEN: 403,
  /** A scoped token used outside its scope. */
  E_SCOPE: 403,
  E_RANGE: 416,
  E_INTEGRITY: 502,
  /** An air-gap bundle without a signature, imported without allowUnsigned. */
  E_BUNDLE_UNSIGNED: 403,
  /** A bundle's signature does not match its manifest (tampered, or not a signature). */
  E_BUNDLE_SIGNATURE: 400,
  /** A bundle signed by a key that bundles.trustedKeys does not list. */
  E_BUNDLE_UNTRUSTED: 403,
  E_UPSTREAM: 502,
  E_UPSTREAM_TIMEOUT: 504,
  E_UPSTREAM_STATUS: 502,
  E_UPSTREAM_RATE_LIMIT: 429,
  E_OFFLINE: 503,
  E_STORAGE: 500,
  E_STORAGE_FULL: 507,
  E_CONFIG: 500,
  E_SHUTTING_DOWN: 503,
  /** Not enough room in the memory budget right now (sent with Retry-After). */
  E_BUSY: 503,
  /** A request body over the configured limit. */
  E_TOO_LARGE: 413,
  /** A request came back to a daemon it already passed through (mirror hierarchy loop). */
  E_LOOP: 508,
  E_INTERNAL: 500,
};

const BRAND = Symbol.for('larder.error');

export interface LarderErrorOptions {
  status?: number;
  /** Whether the message may be shown to clients (4xx default true, 5xx false). */
  expose?: boolean;
  cause?: unknown;
  /** Extra machine-readable details (never credentials). */
  details?: Record<string, unknown>;
  /** Seconds, for 429/503 answers. */
  retryAfter?: number;
}

export class LarderError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly expose: boolean;
  readonly details: Record<string, unknown>;
  readonly retryAfter: number | undefined;
  readonly [BRAND] = true;

  constructor(code: ErrorCode, message: string, opts: LarderErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'LarderError';
    this.code = code;
    this.status = opts.status ?? DEFAULT_STATUS[code];
    this.expose = opts.expose ?? true;
    this.details = opts.details ?? {};
    this.retryAfter = opts.retryAfter;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as { [BRAND]?: boolean })[BRAND] === true;
  }
}

export function isLarderError(err: unknown): err is LarderError {
  return err instanceof LarderError;
}

/** Wraps anything thrown into a LarderError, keeping LarderErrors as they are. */
export function toLarderError(err: unknown): LarderError {
  if (err instanceof LarderError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new LarderError('E_STORAGE_FULL', 'the cache disk is full', { cause: err, expose: true });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new LarderError('E_INTERNAL', message, { cause: err, expose: false });
}

export const notFound = (what: string): LarderError => new LarderError('E_NOT_FOUND', `${what} not found`);
export const badRequest = (why: string): LarderError => new LarderError('E_BAD_REQUEST', why);
