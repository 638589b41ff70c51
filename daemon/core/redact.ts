/**
 * Redaction of what must not leave the daemon:
 *
 * - `redactCredentials`: credentials inside URLs anywhere in a text (remote
 *   `url`, `parent.url`, checksum-database URLs, messages quoting them): the
 *   userinfo becomes `[redacted]`, and query parameters that look like
 *   secrets keep their name but lose their value. For the admin API's
 *   /config and /stats, logs and error bodies.
 * - `hideHosts`: for errors shown to protocol clients (anonymous): every URL
 *   and every host:port becomes "upstream", so no internal address leaks.
 * - `redactDeep`: both of the first over every string of a JSON-like value.
 */
import { LarderError } from './errors.js';

const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi;
const SECRET_PARAM = /token|secret|passw|pwd|key|auth|sig|credential|session|x-amz-/i;
const MASK = '[redacted]';

function redactOneUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    // Not parseable as a URL: still drop anything that looks like userinfo.
    return raw.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/i, `$1${MASK}@`);
  }
  let changed = false;
  if (u.username || u.password) {
    u.username = MASK;
    u.password = '';
    changed = true;
  }
  for (const k of [...u.searchParams.keys()]) {
    if (SECRET_PARAM.test(k)) {
      u.searchParams.set(k, MASK);
      changed = true;
    }
  }
  return changed ? u.toString().replace(/%5Bredacted%5D/gi, MASK) : raw;
}

/** The text with credentials inside any URL in it removed. */
export function redactCredentials(text: string): string {
  if (!text.includes('://')) return text;
  return text.replace(URL_IN_TEXT, redactOneUrl);
}

const HOST_PORT = /(?:\b(?:\d{1,3}(?:\.\d{1,3}){3}|localhost|[a-z0-9-]+(?:\.[a-z0-9-]+)+)|\[[0-9a-f:.]+\]):\d{1,5}\b/gi;
const BARE_IP = /\b\d{1,3}(?:\.\d{1,3}){3}\b|\[[0-9a-f:]*:[0-9a-f:.]*\]/gi;

/** The text with every URL and every host:port replaced by "upstream". */
export function hideHosts(text: string): string {
  return text.replace(URL_IN_TEXT, 'upstream').replace(HOST_PORT, 'upstream').replace(BARE_IP, 'upstream');
}

/** A copy of a JSON-like value with credentials removed from every string in it (other objects are kept as they are). */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redactCredentials(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => redactDeep(v)) as T;
  if (value && typeof value === 'object' && [Object.prototype, null].includes(Object.getPrototypeOf(value))) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = redactDeep(v);
    return out as T;
  }
  return value;
}

/** The error as a protocol client may see it: the same code and status, a message naming no host and no credential. */
export function forClient(err: LarderError): LarderError {
  const message = hideHosts(redactCredentials(err.message));
  if (message === err.message) return err;
  return new LarderError(err.code, message, {
    status: err.status,
    expose: err.expose,
    details: err.details,
    retryAfter: err.retryAfter,
  });
}
