/**
 * OCI distribution errors: `{"errors":[{"code","message","detail"}]}` with the
 * status the spec gives each code. The adapter raises LarderErrors carrying
 * the OCI code in `details.oci`; errors from the core (which know nothing of
 * OCI) are mapped by their LarderError code.
 */
import { LarderError, type ErrorCode } from '../../core/errors.js';
import type { RenderedError } from '../adapter.js';

/** Error codes of the OCI distribution spec (plus distribution's UNAVAILABLE/UNKNOWN). */
export type OciErrorCode =
  | 'BLOB_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'TAG_INVALID'
  | 'SIZE_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'TOOMANYREQUESTS'
  | 'UNAVAILABLE'
  | 'UNKNOWN';

const OCI_CODES: ReadonlySet<string> = new Set<OciErrorCode>([
  'BLOB_UNKNOWN',
  'DIGEST_INVALID',
  'MANIFEST_UNKNOWN',
  'MANIFEST_INVALID',
  'NAME_INVALID',
  'NAME_UNKNOWN',
  'TAG_INVALID',
  'SIZE_INVALID',
  'UNAUTHORIZED',
  'DENIED',
  'UNSUPPORTED',
  'TOOMANYREQUESTS',
  'UNAVAILABLE',
  'UNKNOWN',
]);

/** The Larder code (and so the status) each OCI code is raised with. */
const LARDER_CODE: Record<OciErrorCode, ErrorCode> = {
  BLOB_UNKNOWN: 'E_NOT_FOUND',
  MANIFEST_UNKNOWN: 'E_NOT_FOUND',
  NAME_UNKNOWN: 'E_NOT_FOUND',
  DIGEST_INVALID: 'E_BAD_REQUEST',
  MANIFEST_INVALID: 'E_BAD_REQUEST',
  NAME_INVALID: 'E_BAD_NAME',
  TAG_INVALID: 'E_BAD_NAME',
  SIZE_INVALID: 'E_TOO_LARGE',
  UNAUTHORIZED: 'E_UNAUTHORIZED',
  DENIED: 'E_FORBIDDEN',
  UNSUPPORTED: 'E_READ_ONLY',
  TOOMANYREQUESTS: 'E_UPSTREAM_RATE_LIMIT',
  UNAVAILABLE: 'E_UPSTREAM',
  UNKNOWN: 'E_INTERNAL',
};

/** The OCI code used for a core error that carries none. */
const FROM_LARDER: Partial<Record<ErrorCode, OciErrorCode>> = {
  E_BAD_NAME: 'NAME_INVALID',
  E_NOT_FOUND: 'NAME_UNKNOWN',
  E_METHOD_NOT_ALLOWED: 'UNSUPPORTED',
  E_READ_ONLY: 'UNSUPPORTED',
  E_UNAUTHORIZED: 'UNAUTHORIZED',
  E_FORBIDDEN: 'DENIED',
  E_UPSTREAM_RATE_LIMIT: 'TOOMANYREQUESTS',
  E_UPSTREAM: 'UNAVAILABLE',
  E_UPSTREAM_TIMEOUT: 'UNAVAILABLE',
  E_UPSTREAM_STATUS: 'UNAVAILABLE',
  E_INTEGRITY: 'UNAVAILABLE',
  E_OFFLINE: 'UNAVAILABLE',
  E_SHUTTING_DOWN: 'UNAVAILABLE',
  // The memory budget is full for now (503 with Retry-After): a client retries later.
  E_BUSY: 'UNAVAILABLE',
  // The cache disk is full (507): a condition of this server that eviction clears, so a client retries later,
  // as for UNAVAILABLE; the spec has no storage code, and UNKNOWN reads as a fault.
  E_STORAGE_FULL: 'UNAVAILABLE',
  // A request body over limits.maxBody (413): SIZE_INVALID is the spec's one code about a body's length
  // ("provided length did not match content length"); the spec has no payload-too-large code of its own.
  E_TOO_LARGE: 'SIZE_INVALID',
};

/** A LarderError that renders as the given OCI code. */
export function ociError(code: OciErrorCode, message: string, detail?: Record<string, string>): LarderError {
  return new LarderError(LARDER_CODE[code], message, { details: { oci: code, ...(detail ? { detail } : {}) } });
}

/** Re-raises a core "not found" as the OCI code of the object that was looked up; other errors unchanged. */
export function asUnknown(err: unknown, code: 'MANIFEST_UNKNOWN' | 'BLOB_UNKNOWN' | 'NAME_UNKNOWN', message: string): unknown {
  if (err instanceof LarderError && err.code === 'E_NOT_FOUND' && err.details.oci === undefined) return ociError(code, message);
  return err;
}

/** The OCI code an error renders as. */
export function ociCodeOf(err: LarderError): OciErrorCode {
  const explicit = err.details.oci;
  if (typeof explicit === 'string' && OCI_CODES.has(explicit)) return explicit as OciErrorCode;
  return FROM_LARDER[err.code] ?? 'UNKNOWN';
}

/** Renders an error in the OCI wire format. */
export function renderOciError(err: LarderError): RenderedError {
  const code = ociCodeOf(err);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'docker-distribution-api-version': 'registry/2.0',
  };
  if (err.retryAfter !== undefined) headers['retry-after'] = String(err.retryAfter);
  const entry: { code: string; message: string; detail?: unknown } = {
    code,
    message: err.expose ? err.message : 'internal error',
  };
  if (err.details.detail !== undefined) entry.detail = err.details.detail;
  return { status: err.status, headers, body: Buffer.from(JSON.stringify({ errors: [entry] })) };
}
