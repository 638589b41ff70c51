/**
 * A shaping TCP proxy on loopback for the peers benchmark: one "upstream
 * link" of `mbit` Mbit/s shared by every connection (downstream bytes are
 * paced through one queue) and `latencyMs` one way in each direction (each
 * new connection also waits one round trip, the handshake). Chunks of one
 * connection keep their order (one FIFO and one timer per direction). It
 * counts the bytes that cross the link, so the benchmark can say what went
 * over the uplink.
 */
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

export interface ShapingProxy {
  origin: string;
  /** Bytes target → client (down) and client → target (up) since the last reset. */
  stats(): { bytesDown: number; bytesUp: number; connections: number };
  resetStats(): void;
  close(): Promise<void>;
}

/** A one-direction pipe: chunks are delivered at their due time, in order; the source pauses while a lot is queued. */
class DelayedPipe {
  private readonly queue: Array<{ at: number; chunk: Buffer }> = [];
  private queued = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly from: Socket,
    private readonly to: Socket,
    private readonly due: (bytes: number) => number,
  ) {
    from.on('data', (chunk: Buffer) => {
      this.queue.push({ at: this.due(chunk.length), chunk });
      this.queued += chunk.length;
      if (this.queued > 1 << 20) from.pause();
      this.pump();
    });
    from.on('end', () => this.push(() => to.end()));
  }

  private ending: (() => void) | undefined;

  private push(end: () => void): void {
    this.ending = end;
    this.pump();
  }

  private pump(): void {
    if (this.timer) return;
    const now = performance.now();
    while (this.queue.length > 0 && this.queue[0]!.at <= now) {
      const { chunk } = this.queue.shift()!;
      this.queued -= chunk.length;
      if (!this.to.destroyed) this.to.write(chunk);
    }
    if (this.queued <= 1 << 20 && this.from.isPaused()) this.from.resume();
    if (this.queue.length === 0) {
      this.ending?.();
      this.ending = undefined;
      return;
    }
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.pump();
      },
      Math.max(0, this.queue[0]!.at - now),
    );
  }
}

/** Starts a proxy to `target` (`http://host:port`) on 127.0.0.1, port 0. */
export async function startShapingProxy(target: string, o: { mbit: number; latencyMs: number }): Promise<ShapingProxy> {
  const { hostname, port } = new URL(target);
  const stats = { bytesDown: 0, bytesUp: 0, connections: 0 };
  const bytesPerMs = (o.mbit * 1e6) / 8 / 1000;
  /** When the shared downlink is free again (ms, performance.now()). */
  let linkFree = 0;
  const sockets = new Set<Socket>();
  const track = (s: Socket): void => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  };
  const server = createServer({ pauseOnConnect: true }, (client) => {
    track(client);
    stats.connections++;
    setTimeout(() => {
      if (client.destroyed) return;
      const upstream = connect({ host: hostname, port: Number(port), noDelay: true });
      track(upstream);
      client.setNoDelay(true);
      upstream.once('connect', () => {
        new DelayedPipe(client, upstream, (n) => {
          stats.bytesUp += n;
          return performance.now() + o.latencyMs;
        });
        new DelayedPipe(upstream, client, (n) => {
          stats.bytesDown += n;
          const start = Math.max(performance.now(), linkFree);
          linkFree = start + n / bytesPerMs;
          return linkFree + o.latencyMs;
        });
        client.resume();
      });
      upstream.once('close', (hadError) => void (hadError && client.destroy()));
      client.once('close', () => upstream.destroy());
    }, 2 * o.latencyMs).unref();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const bound = (server.address() as AddressInfo).port;
  return {
    origin: `http://127.0.0.1:${bound}`,
    stats: () => ({ ...stats }),
    resetStats: () => void Object.assign(stats, { bytesDown: 0, bytesUp: 0, connections: 0 }),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
