/**
 * Upstream requests and client responses of the generic adapter: the
 * conditional fetch used by the cache, the uncached pass-through of
 * `bypass` paths, and the mapping of a cache answer to a protocol response
 * (the HTTP layer then handles HEAD, Range/If-Range and conditionals).
 */
import { LarderError, notFound } from '../../core/errors.js';
import type { HttpServed } from '../../core/http-cache.js';
import type { UpstreamResponse } from '../../core/ports.js';
import type { Validators } from '../../core/types.js';
import { drain, header, isAbsent, upstreamStatusError } from '../../core/upstream-status.js';
import type { Remote } from '../../upstream/remote.js';
import type { ProtoRequest, ProtoResponse } from '../adapter.js';

const IMMUTABLE_CACHE_CONTROL = 'public, max-age=31536000, immutable';
const FORWARD_CONDITIONALS = ['range', 'if-range', 'if-none-match', 'if-modified-since'] as const;
const PASS_BACK = ['content-type', 'content-range', 'etag', 'last-modified', 'cache-control', 'accept-ranges'] as const;

/**
 * The fetch function of a cache request: GET `encoded` below the remote's
 * base with the stored validators. Bytes are requested unencoded so that
 * compressed artifacts keep their published digests.
 */
export function fetcher(remote: Remote, encoded: string): (v: Validators, signal: AbortSignal) => Promise<UpstreamResponse> {
  const url = remote.resolve(`./${encoded}`);
  return (validators, signal) => {
    const headers: Record<string, string> = { accept: '*/*', 'accept-encoding': 'identity' };
    if (validators.etag) headers['if-none-match'] = validators.etag;
    if (validators.lastModified) headers['if-modified-since'] = validators.lastModified;
    return remote.request({ url, headers, signal });
  };
}

function passBack(res: UpstreamResponse): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of PASS_BACK) {
    const v = header(res, h);
    if (v !== undefined) out[h] = v;
  }
  return out;
}

function streamOf(res: UpstreamResponse, status: number): ProtoResponse {
  const length = Number(header(res, 'content-length'));
  return {
    status,
    headers: passBack(res),
    body: { type: 'stream', stream: res.body, ...(Number.isSafeInteger(length) && length >= 0 ? { length } : {}) },
    cache: 'BYPASS',
  };
}

/** A `bypass` path: forwarded with the client's range and conditional headers, nothing stored. */
export async function passthrough(req: ProtoRequest, remote: Remote, encoded: string): Promise<ProtoResponse> {
  const headers: Record<string, string> = { accept: '*/*', 'accept-encoding': 'identity' };
  for (const h of FORWARD_CONDITIONALS) {
    const v = req.headers[h];
    if (typeof v === 'string') headers[h] = v;
  }
  const res = await remote.request({ url: remote.resolve(`./${encoded}`), headers });
  if (isAbsent(res.status)) {
    drain(res);
    throw notFound(encoded);
  }
  if (res.status === 304 || res.status === 416) {
    drain(res);
    return { status: res.status, headers: passBack(res), body: { type: 'empty' }, cache: 'BYPASS' };
  }
  if (res.status !== 200 && res.status !== 206) throw upstreamStatusError(encoded, res);
  return streamOf(res, res.status);
}

/** The protocol response for a cache answer. */
export function toResponse(served: HttpServed, immutable: boolean): ProtoResponse {
  if (served.kind === 'bypass') return streamOf(served.response, 200);
  const headers: Record<string, string> = {
    'content-type': served.mediaType ?? 'application/octet-stream',
    'cache-control': immutable ? IMMUTABLE_CACHE_CONTROL : 'no-cache',
  };
  if (served.etag) headers.etag = served.etag;
  if (served.lastModified) headers['last-modified'] = served.lastModified;
  return { status: 200, headers, body: { type: 'blob', blob: served.blob }, cache: served.state };
}

/** Reads a small answer whole (checksum sidecars); refuses more than `max` bytes. */
export async function readSmall(served: HttpServed, max: number): Promise<Buffer> {
  const stream = served.kind === 'bypass' ? served.response.body : served.blob.open();
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of stream as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > max) {
      stream.destroy();
      throw new LarderError('E_UPSTREAM', `checksum file larger than ${max} bytes`);
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks, n);
}
