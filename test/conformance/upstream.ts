/**
 * A small upstream for the protocol conformance suite: static routes on
 * 127.0.0.1:0, a count of requests per path, and faults a case can switch
 * on per path (a wrong byte in an otherwise complete body, or a body cut
 * short of its Content-Length), and an outage (the port closed).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface Answer {
  status?: number;
  headers?: Record<string, string>;
  body: Buffer | string;
}

export type Fault = 'corrupt' | 'truncate';

export class FixtureUpstream {
  private server: Server | undefined;
  private readonly routes = new Map<string, (req: IncomingMessage) => Answer>();
  private readonly counts = new Map<string, number>();
  private readonly faults = new Map<string, Fault>();
  private readonly sockets = new Set<Socket>();
  /** Every request target seen (paths with their query), in order. */
  readonly seen: string[] = [];
  url = '';

  /** Answers `path` (no query) with a fixed answer, or one made per request. */
  route(path: string, answer: Answer | ((req: IncomingMessage) => Answer)): void {
    this.routes.set(path, typeof answer === 'function' ? answer : () => answer);
  }

  /** GET requests the path received. */
  count(path: string): number {
    return this.counts.get(path) ?? 0;
  }

  fault(path: string, fault: Fault | undefined): void {
    if (fault) this.faults.set(path, fault);
    else this.faults.delete(path);
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const target = req.url ?? '/';
      this.seen.push(target);
      const path = target.split('?')[0]!;
      const make = this.routes.get(path);
      if (req.method === 'GET') this.counts.set(path, this.count(path) + 1);
      if (!make) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
        return;
      }
      const a = make(req);
      const body = Buffer.from(a.body);
      const headers = { 'content-length': String(body.length), ...a.headers };
      res.writeHead(a.status ?? 200, headers);
      if (req.method === 'HEAD') return void res.end();
      const fault = this.faults.get(path);
      if (fault === 'corrupt') {
        const wrong = Buffer.from(body);
        wrong[wrong.length - 1] = wrong[wrong.length - 1]! ^ 0xff;
        res.end(wrong);
      } else if (fault === 'truncate') {
        res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.destroy());
      } else {
        res.end(body);
      }
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Closes the port: every later request is refused. */
  async down(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    for (const sock of this.sockets) sock.destroy();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
