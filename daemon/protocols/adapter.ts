/**
 * The framework-neutral contract between the HTTP layer and a protocol
 * adapter. Adapters never see Koa: they get a parsed request and return a
 * response description; the HTTP layer handles HEAD, ranges, conditionals
 * and writing. Below the contract, small parts adapters share: strict path
 * segments, the read-only refusal, the remote of a type, plain-text errors
 * and the upstream half of an artifact fill.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { ServedBlob } from '../core/blob-cache.js';
import { LarderError, notFound } from '../core/errors.js';
import type { ImmutableRequest } from '../core/served.js';
import type { CacheState } from '../core/types.js';
import type { Remote } from '../upstream/remote.js';

export interface ProtoRequest {
  method: string;
  /** Path below the adapter's mount point, still percent-encoded, starting with "/". */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Reads the request body (bounded). */
  body(): Promise<Buffer>;
}

export type ProtoBody =
  | { type: 'buffer'; data: Buffer }
  | { type: 'blob'; blob: ServedBlob }
  | { type: 'stream'; stream: Readable; length?: number }
  | { type: 'empty' };

export interface ProtoResponse {
  status: number;
  headers: Record<string, string>;
  body: ProtoBody;
  /** Reported in X-Larder-Cache and metrics; omitted for responses that did not touch the cache. */
  cache?: CacheState;
}

export interface RenderedError {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface ProtocolAdapter {
  /** Bounded metric label, e.g. "npm". */
  readonly protocol: string;
  handle(req: ProtoRequest): Promise<ProtoResponse>;
  /** Renders an error in the protocol's own wire format. */
  renderError(err: LarderError): RenderedError;
}

export function json(status: number, value: unknown, headers: Record<string, string> = {}): ProtoResponse {
  return {
    status,
    headers: { 'content-type': 'application/json', ...headers },
    body: { type: 'buffer', data: Buffer.from(JSON.stringify(value)) },
  };
}

/**
 * Percent-decodes one URL path segment (or path) for a protocol's name
 * parser: a malformed encoding, or a character the protocol forbids
 * (`forbidden`, e.g. control characters and slashes), is `E_BAD_NAME`.
 */
export function decodePathSegment(seg: string, forbidden: RegExp, what: string): string {
  let out: string;
  try {
    out = decodeURIComponent(seg);
  } catch {
    throw new LarderError('E_BAD_NAME', 'malformed percent-encoding in path');
  }
  if (forbidden.test(out)) throw new LarderError('E_BAD_NAME', what);
  return out;
}

/** A remote's name as a path segment: what `/<mount>/<remote>/…` accepts. */
export const REMOTE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Percent-decodes one path segment and checks it against the strict pattern
 * of what it names (`what`: "chart name", "subdir"…); malformed encoding,
 * a mismatch or `..` is `E_BAD_REQUEST`.
 */
export function pathSegment(raw: string, pattern: RegExp, what: string): string {
  let s: string;
  try {
    s = decodeURIComponent(raw);
  } catch {
    throw new LarderError('E_BAD_REQUEST', `malformed ${what} in the path`);
  }
  if (!pattern.test(s) || s.includes('..')) throw new LarderError('E_BAD_REQUEST', `invalid ${what} in the path`);
  return s;
}

/** The raw segments of a path below a mount (`/a/b` → `['a', 'b']`), refusing a path over 2 KiB. */
export function pathSegments(path: string): string[] {
  if (path.length > 2048) throw new LarderError('E_BAD_REQUEST', 'path too long');
  return path.split('/').slice(1);
}

/** Refuses anything but GET and HEAD (a read-only mirror; `why` says where writes go). */
export function requireRead(req: ProtoRequest, why: string): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') throw new LarderError('E_METHOD_NOT_ALLOWED', why);
}

/** The remote named `name` if it is one of `type`; otherwise not found. */
export function remoteOfType(remotes: ReadonlyMap<string, Remote>, name: string, type: string): Remote {
  const remote = remotes.get(name);
  if (remote?.settings.config.type !== type) throw notFound(`${type} remote ${name}`);
  return remote;
}

/** An error as one plain-text line, `<status> <message> (<code>)`, never cached; Retry-After when it has one. */
export function renderTextError(err: LarderError): RenderedError {
  const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' };
  if (err.retryAfter !== undefined) headers['retry-after'] = String(err.retryAfter);
  const message = err.expose ? err.message : 'internal error';
  return { status: err.status, headers, body: Buffer.from(`${err.status} ${message} (${err.code})\n`) };
}

/** The remote's part of an artifact fill: its limits and offline state, and a GET of `url` for the bytes as stored. */
export function artifactFetch(remote: Remote, url: string): Pick<ImmutableRequest, 'maxBytes' | 'offline' | 'negativeTtlMs' | 'fetch'> {
  return {
    maxBytes: remote.settings.maxArtifactBytes,
    offline: remote.offline,
    negativeTtlMs: remote.settings.negativeTtlMs,
    fetch: (signal) => remote.request({ url, headers: { accept: '*/*', 'accept-encoding': 'identity' }, signal }),
  };
}
