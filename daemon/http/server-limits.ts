/**
 * Timeouts and the connection cap of the listening server, for any node
 * http or https Server (call before `listen`).
 *
 * - idle: a socket with no byte moving either way for `idleMs` is closed:
 *   before its first request, between requests, while its request body
 *   stalls, or while its answer stalls (a client that stopped reading). Bytes
 *   that keep moving re-arm it, so long downloads are never cut. A request
 *   the server is still working on (its body was received, nothing queued to
 *   send: no answer yet, or an answer waiting for upstream bytes) is not cut:
 *   the upstream timeouts bound that. Long-lived routes (the
 *   event stream, the feed's long-poll, a bundle upload) have no idle limit.
 * - headers: the request head must arrive within `headerTimeoutMs` (408).
 * - request body: it must arrive whole within `requestTimeoutMs` of the
 *   request's start (408), except on long-lived routes, which need only keep
 *   moving.
 * - connections: past `maxConnections` open sockets, new ones are closed at once.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface ServerLimits {
  idleMs: number;
  headerTimeoutMs: number;
  requestTimeoutMs: number;
  maxConnections: number;
}

export interface ServerLimitOptions {
  /** Requests that may stay open without moving bytes (SSE, long-poll, streamed uploads). */
  longLived?(req: IncomingMessage): boolean;
}

/** The admin routes that stay open: the event stream, the feed's long-poll, a bundle upload. */
export function isLongLived(req: IncomingMessage): boolean {
  const url = req.url ?? '';
  // Every request asks: the protocol answers leave at once, without splitting their URL.
  if (!url.startsWith('/_/api/v1/')) return false;
  const path = url.split('?', 1)[0];
  if (path === '/_/api/v1/events') return true;
  if (path === '/_/api/v1/feed') return /[?&]wait=/.test(url);
  return path === '/_/api/v1/import' && req.method === 'POST';
}

/** A request body small enough to read and drop after an early answer (keeps the connection). */
const SMALL_REST = 64 * 1024;
/**
 * How long the rest of a larger body is read and dropped after an early answer before the connection is
 * closed (a "lingering close", as nginx does). Closing with the client's bytes unread makes the kernel
 * send a reset, and a client still uploading then meets EPIPE or ECONNRESET before it reads the answer.
 */
const LINGER_MS = 10_000;

function restIsSmall(req: IncomingMessage): boolean {
  const length = Number(req.headers['content-length']);
  return req.headers['transfer-encoding'] === undefined && Number.isFinite(length) && length <= SMALL_REST;
}

/** Whether a request announces a body (a length other than 0, or a transfer coding). */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

interface Current {
  req: IncomingMessage;
  res: ServerResponse;
  longLived: boolean;
}

const TIMEOUT_RESPONSE = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n';

/** Answers 408 when nothing was answered yet, and closes the connection. */
function requestTimedOut(socket: Socket, res: ServerResponse | undefined): void {
  if (socket.destroyed) return;
  if (socket.writable && !res?.headersSent) socket.end(TIMEOUT_RESPONSE);
  socket.destroySoon();
  // A client that does not read the 408 does not keep the socket.
  setTimeout(() => socket.destroy(), 1000).unref();
}

/** Half-closes once the answer is out, reads and drops the rest of the body, then closes (bounded). */
function lingerThenClose(socket: Socket, req: IncomingMessage): void {
  const close = (): void => {
    clearTimeout(cap);
    socket.destroy();
  };
  const cap = setTimeout(close, LINGER_MS);
  cap.unref();
  req.once('end', close);
  req.once('error', close);
  socket.once('close', () => clearTimeout(cap));
  req.resume();
  socket.end();
}

export function applyServerLimits(server: Server, limits: ServerLimits, opts: ServerLimitOptions = {}): void {
  const longLived = opts.longLived ?? isLongLived;
  const current = new WeakMap<Socket, Current>();
  server.timeout = limits.idleMs;
  server.keepAliveTimeout = Math.min(65_000, limits.idleMs || 65_000);
  server.headersTimeout = limits.headerTimeoutMs;
  // Node's own whole-request deadline cannot spare the long-lived routes: the body deadline is kept below instead.
  server.requestTimeout = 0;
  server.maxConnections = limits.maxConnections > 0 ? limits.maxConnections : Number.POSITIVE_INFINITY;
  // How often node checks the header deadline (read when the server starts listening).
  const check = Math.max(50, Math.min(30_000, Math.floor(limits.headerTimeoutMs / 4) || 30_000));
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = check;

  server.on('timeout', (socket: Socket) => {
    const cur = current.get(socket);
    if (cur?.longLived) return;
    // The body arrived and nothing waits to be sent: the server is working on the answer (not started yet,
    // or waiting for upstream bytes, e.g. a range of a fill in flight). The upstream timeouts bound that.
    // A client that stopped reading leaves bytes queued on the socket, and is cut.
    if (cur?.req.complete && socket.writableLength === 0 && !cur.res.writableNeedDrain) return;
    if (cur && !cur.req.complete) requestTimedOut(socket, cur.res);
    else socket.destroy();
  });

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    const cur: Current = { req, res, longLived: longLived(req) };
    current.set(socket, cur);
    if (cur.longLived) socket.setTimeout(0);
    let bodyTimer: NodeJS.Timeout | undefined;
    // A request without Content-Length or Transfer-Encoding has no body (RFC 9112 §6.3): nothing to wait for,
    // and no timer to arm and clear on every GET.
    if (!req.complete && !cur.longLived && limits.requestTimeoutMs > 0 && hasBody(req)) {
      bodyTimer = setTimeout(() => {
        if (!req.complete) requestTimedOut(socket, res);
      }, limits.requestTimeoutMs);
      bodyTimer.unref();
    }
    res.once('close', () => {
      if (current.get(socket) === cur) current.delete(socket);
      if (cur.longLived && !socket.destroyed) socket.setTimeout(limits.idleMs);
      if (req.complete || socket.destroyed) return clearTimeout(bodyTimer);
      // Answered before its body arrived. A small rest is read and dropped by node, so the connection stays
      // usable for the client's next request (closing it under a keep-alive client fails that request);
      // the body deadline still bounds it. A large rest, or one of unknown length, is not kept for another
      // request: once the answer is sent the server half-closes and drops what still arrives, for LINGER_MS
      // at most (the idle timeout still cuts a client that stops sending), so the client reads its answer.
      if (restIsSmall(req)) req.once('end', () => clearTimeout(bodyTimer));
      else {
        clearTimeout(bodyTimer);
        lingerThenClose(socket, req);
      }
    });
  });
}
