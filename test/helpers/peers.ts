/** Helpers of the LAN peer tests: free loopback ports, metric values, peer API requests, a fault-injecting fake peer. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { peerKey, signPeerRequest } from '../../daemon/peers/request-signature.js';
import type { FixtureTarball } from './npm-fixture/types.js';

/** Free loopback ports (bound to port 0 then released), for daemons that must know each other's URL before they start. */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Server>((resolve) => {
          const s = createServer();
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** Sum of a metric's samples whose labels contain `labels` (e.g. `reason="integrity"`). */
export async function metric(base: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^(\S+?)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m && m[1] === name && (m[2] ?? '').includes(labels)) sum += Number(m[3]);
  }
  return sum;
}

/** The sha512 hex of an npm integrity string. */
export function sha512Hex(integrity: string): string {
  return Buffer.from(integrity.replace(/^sha512-/, ''), 'base64').toString('hex');
}

/** The Authorization header value of one peer API request (`target`: the path after the host), signed with `token`. */
export function peerAuthorization(token: string, method: string, target: string): string {
  return signPeerRequest(peerKey(token), method, target);
}

/** A peer API request (HEAD by default), signed with `token` (no Authorization header without one). */
export function peerRequest(base: string, path: string, token: string | undefined, init: RequestInit = {}): Promise<Response> {
  const target = `/_/peer/v1/blobs/${path}`;
  const headers: Record<string, string> = token ? { authorization: peerAuthorization(token, init.method ?? 'HEAD', target) } : {};
  return fetch(`${base}${target}`, {
    method: 'HEAD',
    ...init,
    headers: { ...headers, ...(init.headers as Record<string, string>) },
  });
}

export type FakeMode = 'flip' | 'cut' | 'stall';

/**
 * A fake peer that claims every fixture tarball, then sends it with one byte
 * flipped ('flip'), cuts the transfer half-way ('cut': the socket is
 * destroyed), or sends half and then nothing, keeping the connection open
 * ('stall').
 */
export interface FakePeer {
  url: string;
  requests: Array<{ method: string; path: string }>;
  close(): Promise<void>;
}

export async function startFakePeer(tarballs: FixtureTarball[], mode: FakeMode): Promise<FakePeer> {
  const byHex = new Map(tarballs.map((t) => [sha512Hex(t.integrity), t]));
  const requests: FakePeer['requests'] = [];
  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', path: req.url ?? '' });
    const t = byHex.get((req.url ?? '').split('/').at(-1) ?? '');
    if (!t) return void res.writeHead(404).end();
    void readFile(t.file).then((body) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) });
      if (req.method === 'HEAD') return void res.end();
      if (mode === 'flip') {
        const i = body.length >> 1;
        body[i] = body[i]! ^ 0xff;
        return void res.end(body);
      }
      res.write(body.subarray(0, body.length >> 1));
      if (mode === 'cut') setTimeout(() => res.destroy(), 20);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
