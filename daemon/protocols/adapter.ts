/**
 * The framework-neutral contract between the HTTP layer and a protocol
 * adapter. Adapters never see Koa: they get a parsed request and return a
 * response description; the HTTP layer handles HEAD, ranges, conditionals
 * and writing.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { ServedBlob } from '../core/blob-cache.js';
import type { LarderError } from '../core/errors.js';
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
