/**
 * The framework-neutral contract between the HTTP layer and a protocol
 * adapter. Adapters never see Koa: they get a parsed request and return a
 * response description; the HTTP layer handles HEAD, ranges, conditionals
 * and writing.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { ServedBlob } from '../core/blob-cache.js';
import { LarderError } from '../core/errors.js';
import type { CacheState } from '../core/types.js';

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
