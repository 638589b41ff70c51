/**
 * The one HTTP client for every upstream (got). Returns any status with a
 * streaming body; maps network failures and timeouts to LarderError at this
 * edge, with credentials removed from any URL in a message.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { PassThrough } from 'node:stream';
import got, { RequestError, type Got } from 'got';
import { LarderError } from '../core/errors.js';
import type { UpstreamClient, UpstreamRequest, UpstreamResponse } from '../core/ports.js';
import { checkTarget, systemResolver, type Resolver } from './address-class.js';

export const USER_AGENT = 'larder/0.1 (+caching mirror)';

/** Removes userinfo and query strings that may carry tokens. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    if (u.search) u.search = '?…';
    return u.toString();
  } catch {
    return '(invalid url)';
  }
}

/** Errors of requests whose connection was reset before any answer came (safe to send again when idempotent). */
const resets = new WeakSet<object>();

function isResetBeforeAnswer(err: unknown): boolean {
  return typeof err === 'object' && err !== null && resets.has(err);
}

function errorCode(err: unknown): string | undefined {
  return err instanceof RequestError ? err.code : (err as { code?: string } | null)?.code;
}

export function mapUpstreamError(err: unknown, url: string): LarderError {
  const code = errorCode(err);
  const where = redactUrl(url);
  if (err instanceof LarderError) return err;
  // A refusal thrown by a hook (a redirect to a private address) arrives wrapped by got.
  if (err instanceof RequestError && err.cause instanceof LarderError) return err.cause;
  if (code === 'ETIMEDOUT' || (err as { name?: string } | null)?.name === 'TimeoutError') {
    return new LarderError('E_UPSTREAM_TIMEOUT', `upstream timed out: ${where}`, { expose: true });
  }
  if ((err as { name?: string } | null)?.name === 'AbortError' || code === 'ERR_ABORTED') {
    return new LarderError('E_UPSTREAM', `upstream request aborted: ${where}`);
  }
  return new LarderError('E_UPSTREAM', `upstream unreachable (${code ?? 'error'}): ${where}`, { expose: true });
}

export interface GotClientOptions {
  /** Default timeout (ms) for connect, response headers and idle body gaps. */
  timeoutMs?: number;
  maxSockets?: number;
  /** Resolves names for the redirect check (tests give their own). */
  resolve?: Resolver;
  /** Resolves names for connecting (default dns.lookup; tests point made-up names at 127.0.0.1). */
  dnsLookup?: typeof import('node:dns').lookup;
  /** Extra trusted CA certificates (PEM) for https upstreams (tests use their own CA). */
  ca?: string | Buffer;
}

/** True when a redirect goes from https to plain http. */
function isDowngrade(from: string | undefined, to: string | URL | undefined): boolean {
  if (!from || !to) return false;
  return new URL(from).protocol === 'https:' && new URL(to).protocol === 'http:';
}

export class GotUpstreamClient implements UpstreamClient {
  private readonly got: Got;
  private readonly timeoutMs: number;

  constructor(opts: GotClientOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    const agentOpts = { keepAlive: true, maxSockets: opts.maxSockets ?? 64 };
    const resolve = opts.resolve ?? systemResolver;
    this.got = got.extend({
      agent: { http: new HttpAgent(agentOpts), https: new HttpsAgent(agentOpts) },
      throwHttpErrors: false,
      retry: { limit: 0 },
      decompress: true,
      followRedirect: true,
      maxRedirects: 5,
      headers: { 'user-agent': USER_AGENT },
      ...(opts.dnsLookup ? { dnsLookup: opts.dnsLookup } : {}),
      ...(opts.ca ? { https: { certificateAuthority: opts.ca } } : {}),
      hooks: {
        // got already drops Authorization on a redirect to another host; a redirect to an address more
        // private than the remote's (loopback, link-local, LAN) is refused (see address-class.ts).
        // got keeps credentials when host and port are unchanged, which https://h/ → http://h/ is
        // (both default ports): a downgrade to plain HTTP drops them too (as curl does since 7.83), and
        // the redirect is still followed (public mirrors redirect to plain-HTTP CDNs with signed URLs).
        beforeRedirect: [
          async (options, response) => {
            const origin = (options.context as { origin?: string }).origin;
            if (origin && options.url) await checkTarget('redirect', options.url, origin, resolve);
            if (isDowngrade(response.url, options.url)) {
              for (const h of ['authorization', 'proxy-authorization', 'cookie']) delete options.headers[h];
              options.username = '';
              options.password = '';
            }
          },
        ],
      },
    });
  }

  async request(req: UpstreamRequest): Promise<UpstreamResponse> {
    try {
      return await this.attempt(req);
    } catch (err) {
      // A kept-alive socket the server closed just as it was reused resets before any answer:
      // an idempotent request without a body is sent once more on a new connection.
      if (!isResetBeforeAnswer(err) || (req.method ?? 'GET') === 'POST' || req.signal?.aborted) throw err;
      return this.attempt(req);
    }
  }

  private attempt(req: UpstreamRequest): Promise<UpstreamResponse> {
    const t = req.timeoutMs ?? this.timeoutMs;
    const link = req.signal ? linkSignal(req.signal) : undefined;
    return new Promise<UpstreamResponse>((resolve, reject) => {
      const s = this.got.stream(req.url, {
        method: req.method ?? 'GET',
        headers: req.headers ?? {},
        body: req.body,
        signal: link?.signal,
        context: { origin: req.url },
        timeout: { lookup: t, connect: t, secureConnect: t, socket: t, response: t },
      });
      let settled = false;
      s.once('response', (res: { statusCode: number; headers: UpstreamResponse['headers']; url: string }) => {
        settled = true;
        const headers = { ...res.headers };
        // got decodes gzip/br/deflate: the announced length is that of the encoded bytes.
        if (headers['content-encoding'] && headers['content-encoding'] !== 'identity') {
          delete headers['content-length'];
          delete headers['content-encoding'];
        }
        const body = new PassThrough({ highWaterMark: 256 * 1024 });
        body.once('close', () => link?.unlink());
        // Registered before pipeline's own handler, which destroys `body` with got's raw error first:
        // a reset or stall mid-body must reach the reader as E_UPSTREAM / E_UPSTREAM_TIMEOUT, not E_INTERNAL.
        // A body read to its end is left alone, and the reader learns of an error through the stream's
        // state (`errored`, its own listeners): this listener keeps an error that comes before the reader
        // attached, or after it left, from being an uncaught 'error' event.
        body.on('error', () => undefined);
        s.on('error', (err) => {
          if (!body.destroyed && !body.readableEnded) body.destroy(mapUpstreamError(err, req.url));
        });
        // pipe, not pipeline(): the same backpressure without an AbortController (and the DOMException of its
        // abort) per response, which a cold install pays for every tarball and packument. A reader that stops
        // early (the body closes before got's stream ended) aborts the upstream request.
        body.once('close', () => {
          if (!s.readableEnded && !s.destroyed) s.destroy();
        });
        s.pipe(body);
        resolve({ status: res.statusCode, headers, body, url: res.url });
      });
      s.once('error', (err: unknown) => {
        if (settled) return;
        link?.unlink();
        const mapped = mapUpstreamError(err, req.url);
        if (errorCode(err) === 'ECONNRESET') resets.add(mapped);
        reject(mapped);
      });
    });
  }
}

/**
 * A per-request signal that follows a long-lived one (a cache's shutdown
 * signal). got leaves its abort listener on the signal it is given after a
 * stream ends, so handing it the shared signal would grow one listener per
 * upstream request for the life of the daemon; `unlink` detaches ours.
 */
function linkSignal(parent: AbortSignal): { signal: AbortSignal; unlink(): void } {
  const ac = new AbortController();
  if (parent.aborted) {
    ac.abort(parent.reason);
    return { signal: ac.signal, unlink: () => undefined };
  }
  const onAbort = (): void => ac.abort(parent.reason);
  parent.addEventListener('abort', onAbort, { once: true });
  return { signal: ac.signal, unlink: () => parent.removeEventListener('abort', onAbort) };
}
