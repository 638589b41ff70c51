/**
 * A userspace stand-in for network distance (this kernel has no netem): a
 * TCP proxy on loopback that adds `delayMs` before each new connection
 * reaches the target (the handshake) and before the first byte of each
 * response (the request's round trip). A response starts whenever the
 * target sends after the client sent: HTTP/1.1 without pipelining, as npm,
 * got and skopeo speak it. Bytes are otherwise forwarded as they come, with
 * backpressure in both directions.
 *
 * It also counts what crosses it (connections, responses, bytes), so the
 * benchmark can say how many upstream connections and requests a client
 * made through it. With `delayMs` 0 it is a plain counting proxy.
 */
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

/** What crossed the proxy since start (or since the last reset). */
export interface DelayProxyStats {
  connections: number;
  /** Request/response turns: the target started answering after the client sent. */
  responses: number;
  bytesUp: number;
  bytesDown: number;
}

/** A running delay proxy. */
export interface DelayProxy {
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  origin: string;
  port: number;
  delayMs: number;
  stats(): DelayProxyStats;
  resetStats(): void;
  close(): Promise<void>;
}

const zero = (): DelayProxyStats => ({ connections: 0, responses: 0, bytesUp: 0, bytesDown: 0 });

/**
 * Forwards target → client. While a response's first byte waits out the
 * delay the target socket is paused, so later chunks queue in the kernel
 * and arrive in order.
 */
function forwardDown(client: Socket, target: Socket, delayMs: number, turn: { pending: boolean }, stats: DelayProxyStats): void {
  let delaying = false;
  let blocked = false;
  const resumeIfFree = (): void => {
    if (!delaying && !blocked) target.resume();
  };
  const write = (chunk: Buffer): void => {
    stats.bytesDown += chunk.length;
    if (!client.write(chunk)) {
      blocked = true;
      target.pause();
    }
  };
  client.on('drain', () => {
    blocked = false;
    resumeIfFree();
  });
  target.on('data', (chunk: Buffer) => {
    if (!turn.pending) return write(chunk);
    turn.pending = false;
    stats.responses += 1;
    if (delayMs <= 0) return write(chunk);
    delaying = true;
    target.pause();
    setTimeout(() => {
      delaying = false;
      if (!client.destroyed) write(chunk);
      resumeIfFree();
    }, delayMs).unref();
  });
  target.on('end', () => {
    // Let a delayed first chunk go out before the client sees the end.
    const finish = (): void => void (delaying ? setTimeout(finish, 1).unref() : client.end());
    finish();
  });
}

/** Forwards client → target and marks that the next target byte starts a response. */
function forwardUp(client: Socket, target: Socket, turn: { pending: boolean }, stats: DelayProxyStats): void {
  client.on('data', (chunk: Buffer) => {
    turn.pending = true;
    stats.bytesUp += chunk.length;
    if (!target.write(chunk)) client.pause();
  });
  target.on('drain', () => client.resume());
  client.on('end', () => target.end());
}

/** Starts a proxy to `target` (`http://host:port`) on 127.0.0.1, port 0. */
export async function startDelayProxy(target: string, delayMs: number): Promise<DelayProxy> {
  const { hostname, port } = new URL(target);
  const stats = zero();
  const sockets = new Set<Socket>();
  const track = (s: Socket): void => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  };
  const server = createServer({ pauseOnConnect: true }, (client) => {
    track(client);
    stats.connections += 1;
    setTimeout(() => {
      if (client.destroyed) return;
      const upstream = connect({ host: hostname, port: Number(port), noDelay: true });
      track(upstream);
      client.setNoDelay(true);
      const turn = { pending: false };
      upstream.once('connect', () => {
        forwardUp(client, upstream, turn, stats);
        forwardDown(client, upstream, delayMs, turn, stats);
        client.resume();
      });
      upstream.once('close', (hadError) => void (hadError && client.destroy()));
      client.once('close', () => upstream.destroy());
    }, delayMs).unref();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const bound = (server.address() as AddressInfo).port;
  return {
    origin: `http://127.0.0.1:${bound}`,
    port: bound,
    delayMs,
    stats: () => ({ ...stats }),
    resetStats: () => void Object.assign(stats, zero()),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
