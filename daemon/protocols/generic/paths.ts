/**
 * Validation of `/files/<remote>/<path>` request paths. A path is split into
 * segments, each percent-decoded once; anything that could leave the
 * remote's base (`..`, encoded slashes or backslashes, NUL, control
 * characters, empty segments) is refused, and the length is bounded. The
 * decoded path is the cache key; the canonically re-encoded path is what is
 * resolved against the remote's base URL.
 */
import { LarderError } from '../../core/errors.js';

/** Longest accepted request path below `/files`, in characters. */
export const MAX_PATH_LENGTH = 2048;

export interface FilesPath {
  /** Remote name (first segment). */
  remote: string;
  /** Decoded path below the remote, without a leading slash. */
  path: string;
  /** The same path, canonically percent-encoded, safe to resolve against the base URL. */
  encoded: string;
}

const REMOTE_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
// %2F (slash), %5C (backslash), %00 (NUL) would change the meaning of the path once decoded.
const FORBIDDEN_ESCAPES = /%(?:2f|5c|00)/i;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

function bad(why: string): LarderError {
  return new LarderError('E_BAD_REQUEST', `invalid path: ${why}`);
}

/** Percent-encodes one decoded segment, keeping the RFC 3986 pchar sub-delimiters readable. */
export function encodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(/%(24|26|2B|2C|3B|3D|3A|40)/g, (m) => decodeURIComponent(m));
}

/** Parses the part of the URL path after `/files` (starting with "/"). */
export function parseFilesPath(sub: string): FilesPath {
  if (sub.length > MAX_PATH_LENGTH) throw bad(`longer than ${MAX_PATH_LENGTH} characters`);
  if (!sub.startsWith('/')) throw bad('expected /<remote>/<path>');
  if (sub.includes('\\') || FORBIDDEN_ESCAPES.test(sub)) throw bad('encoded slashes, backslashes and NUL are not allowed');
  const parts = sub.slice(1).split('/');
  const remote = parts.shift() ?? '';
  if (!REMOTE_NAME.test(remote)) throw new LarderError('E_NOT_FOUND', 'expected /files/<remote>/<path>');
  if (parts.length === 0 || (parts.length === 1 && parts[0] === ''))
    throw new LarderError('E_NOT_FOUND', `expected /files/${remote}/<path>`);
  const decoded: string[] = [];
  for (const raw of parts) {
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      throw bad('malformed percent-encoding');
    }
    if (seg === '') throw bad('empty path segment');
    if (seg === '.' || seg === '..') throw bad('dot segments are not allowed');
    if (CONTROL.test(seg) || seg.includes('/') || seg.includes('\\')) throw bad('control characters are not allowed');
    decoded.push(seg);
  }
  return { remote, path: decoded.join('/'), encoded: decoded.map(encodeSegment).join('/') };
}

/** Index key of a file of a remote, by decoded path. */
export function fileKey(remote: string, path: string): string {
  return `files:${remote}:${path}`;
}

/** Index key of content addressed by its digest within a remote (apt by-hash and hash-resolved indexes). */
export function hashKey(remote: string, algo: string, hex: string): string {
  return `files:${remote}:#${algo}:${hex}`;
}
