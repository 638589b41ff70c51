/**
 * A "thin link" between two daemons on loopback: a TCP proxy on port 0 that
 * forwards to a target port, limiting the bandwidth towards the client (the
 * direction downloads take), and that can be cut (every connection dropped,
 * new ones refused) and restored.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';

export interface ThinLink {
  /** `http://127.0.0.1:<port>` of the proxy. */
  url: string;
  /** Bytes per second towards the client (0 = unlimited). */
  setRate(bytesPerSecond: number): void;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startThinLink(targetPort: number, bytesPerSecond = 0): Promise<ThinLink> {
  let rate = bytesPerSecond;
  let down = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    if (down) return void client.destroy();
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
    client.pipe(upstream);
    // Towards the client: at most `rate` bytes per second, in slices of a tenth of a second.
    let budget = 0;
    let last = Date.now();
    upstream.on('data', (chunk: Buffer) => {
      if (rate <= 0) {
        if (!client.write(chunk)) {
          upstream.pause();
          client.once('drain', () => upstream.resume());
        }
        return;
      }
      upstream.pause();
      const send = (rest: Buffer): void => {
        if (client.destroyed) return;
        const now = Date.now();
        budget = Math.min(rate / 10, budget + ((now - last) / 1000) * rate);
        last = now;
        const n = Math.min(rest.length, Math.max(0, Math.floor(budget)));
        if (n > 0) {
          client.write(rest.subarray(0, n));
          budget -= n;
        }
        if (n < rest.length) setTimeout(() => send(rest.subarray(n)), 20);
        else upstream.resume();
      };
      send(chunk);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    setRate: (r) => {
      rate = r;
    },
    cut() {
      down = true;
      for (const s of sockets) s.destroy();
    },
    restore() {
      down = false;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
