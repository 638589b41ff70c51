/**
 * Loopback servers of the test process made reachable from the namespace
 * lab. The test process lives in no lab namespace, so its servers (a
 * docker-registry, a PyPI index on 127.0.0.1) cannot be dialled from one;
 * a Unix socket in the file system can, whatever the network namespace.
 * `exposeOnUnixSocket` (test side) forwards connections on a socket file
 * to a loopback port; this file run as a script inside a lab host's
 * namespace listens on the host's bridge address, one TCP port per socket
 * file, and forwards to it. Prints `{"ports": […]}` once listening.
 * Usage: node --import tsx netns-relay.ts <bridge IPv4> <socket file>…
 */
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

function pipeBoth(a: Socket, b: Socket): void {
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
  a.pipe(b).pipe(a);
}

/** Test side: forwards connections on the socket file `path` to 127.0.0.1:`port`. */
export async function exposeOnUnixSocket(path: string, port: number): Promise<{ close(): Promise<void> }> {
  // Both ends of every forwarded connection, so close() leaves no loopback socket open.
  const sockets = new Set<Socket>();
  const track = (s: Socket): Socket => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    return s;
  };
  const server: Server = createServer((client) => {
    pipeBoth(track(client), track(connect(port, '127.0.0.1')));
  });
  server.listen(path);
  await once(server, 'listening');
  return {
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

async function main(address: string, paths: string[]): Promise<void> {
  const ports: number[] = [];
  for (const path of paths) {
    const relay = createServer((client) => pipeBoth(client, connect(path)));
    relay.listen(0, address);
    await once(relay, 'listening');
    ports.push((relay.address() as AddressInfo).port);
  }
  process.stdout.write(`${JSON.stringify({ ports })}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  void main(process.argv[2] ?? '', process.argv.slice(3));
}
