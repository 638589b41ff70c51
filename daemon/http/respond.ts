/**
 * Writes a protocol response: X-Larder-Cache, conditional 304s, HEAD, and
 * byte ranges on blobs (cached or still downloading). Streams go through
 * pipeline(), so an upstream or integrity failure destroys the client
 * connection instead of ending a short body as if it were complete.
 */
import type { ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';
import type { Context } from 'koa';
import { isSendable } from '../core/fill/blob-stream.js';
import type { ProtoResponse } from '../protocols/adapter.js';
import { PROTOCOL_SECURITY_HEADERS, protocolHeaders } from './guard.js';
import { ifRangeMatches, notModified, parseRange } from './range.js';

export interface Written {
  bytes: number;
  fromCache: boolean;
}

/** What a 304 leaves out of the 200's headers: those that describe a body it does not have (RFC 9110 §15.4.5). */
const BODY_HEADERS = new Set(['content-type', 'content-length', 'content-encoding', 'content-range', 'accept-ranges', 'transfer-encoding']);

export function writeResponse(ctx: Context, res: ProtoResponse, onDone: (w: Written) => void): void {
  const head = ctx.method === 'HEAD';
  // Sandboxed, and typed: an upstream's own Content-Security-Policy or nosniff never replaces ours (see guard.ts).
  const headers = protocolHeaders(res.headers);
  if (res.cache) headers['x-larder-cache'] = res.cache;
  const fromCache = res.cache === 'HIT' || res.cache === 'STALE' || res.cache === 'REVALIDATED';
  const raw = ctx.res;
  const body = res.body;
  const blob = body.type === 'blob' ? body.blob : undefined;
  if (blob?.digest && !headers.etag) headers.etag = `"${blob.digest.slice(7)}"`;

  if (res.status === 200 && notModified(ctx.get('if-none-match') || undefined, ctx.get('if-modified-since') || undefined, headers)) {
    const keep: Record<string, string> = {};
    for (const [k, v] of Object.entries(headers)) if (!BODY_HEADERS.has(k.toLowerCase())) keep[k] = v;
    if (body.type === 'stream') body.stream.destroy();
    finish(ctx, 304, keep, Buffer.alloc(0));
    onDone({ bytes: 0, fromCache: true });
    return;
  }

  if (body.type === 'buffer' || body.type === 'empty') {
    const data = body.type === 'buffer' ? body.data : Buffer.alloc(0);
    headers['content-length'] = String(data.length);
    finish(ctx, res.status, headers, data);
    onDone({ bytes: head ? 0 : data.length, fromCache });
    return;
  }

  let status = res.status;
  let range: { start: number; end: number } | undefined;
  if (blob) {
    const size = blob.size;
    if (size !== undefined) {
      headers['accept-ranges'] = 'bytes';
      const ifRange = ctx.get('if-range');
      const rangeAllowed = !ifRange || ifRangeMatches(ifRange, headers);
      const r = rangeAllowed ? parseRange(ctx.get('range') || undefined, size) : { kind: 'none' as const };
      if (r.kind === 'unsatisfiable') {
        finish(ctx, 416, { ...PROTOCOL_SECURITY_HEADERS, 'content-range': `bytes */${size}`, 'content-length': '0' }, Buffer.alloc(0));
        onDone({ bytes: 0, fromCache });
        return;
      }
      if (r.kind === 'range') {
        range = { start: r.start, end: r.end };
        status = 206;
        headers['content-range'] = `bytes ${r.start}-${r.end}/${size}`;
        headers['content-length'] = String(r.end - r.start + 1);
      } else {
        headers['content-length'] = String(size);
      }
    }
  } else if (body.type === 'stream' && body.length !== undefined) {
    headers['content-length'] = String(body.length);
  }

  // Koa answers only if writeHead throws (a header value it refuses): the error becomes a clean 5xx.
  raw.writeHead(status, headers);
  ctx.respond = false;
  if (head) {
    if (body.type === 'stream') body.stream.destroy();
    raw.end();
    onDone({ bytes: 0, fromCache });
    return;
  }
  const stream = blob ? blob.open(range) : body.type === 'stream' ? body.stream : undefined;
  if (isSendable(stream)) {
    // A committed blob, or a fill's body: sent through reused buffers (see blob-stream.ts, fill-reader.ts).
    stream.sendTo(raw).then(
      (bytes) => onDone({ bytes, fromCache }),
      () => {
        destroy(raw);
        onDone({ bytes: 0, fromCache });
      },
    );
    return;
  }
  if (!stream) {
    raw.end();
    return;
  }
  let bytes = 0;
  stream.on('data', (c: Buffer) => {
    bytes += c.length;
  });
  pipeline(stream, raw, (err) => {
    if (err) destroy(raw);
    onDone({ bytes, fromCache });
  });
}

/**
 * Writes a buffered answer straight to the socket (no body for HEAD, 204,
 * 205 and 304). Koa's header and body setters cost a warm hit a few KB of garbage
 * and a tenth of its time, for nothing an answer this simple needs.
 */
function finish(ctx: Context, status: number, headers: Record<string, string>, data: Buffer): void {
  const raw = ctx.res;
  const bodiless = status === 204 || status === 205 || status === 304;
  if (bodiless) {
    // As Koa did: no length or type for an answer that never has a body (RFC 9110 §8.6, §15.3.5).
    delete headers['content-length'];
    delete headers['content-type'];
    delete headers['transfer-encoding'];
  } else if (data.length > 0 && headers['content-type'] === undefined) headers['content-type'] = 'application/octet-stream';
  raw.writeHead(status, headers);
  ctx.respond = false;
  if (ctx.method === 'HEAD' || bodiless) raw.end();
  else raw.end(data);
}

function destroy(res: ServerResponse): void {
  if (!res.destroyed) res.destroy();
}
