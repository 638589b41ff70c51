/**
 * Small HTTP clients for generic-remote tests: a raw request that sends the
 * path exactly as given (no URL normalization, unlike fetch or curl), and
 * curl as a real client.
 */
import { execFile } from 'node:child_process';
import { request, type IncomingHttpHeaders } from 'node:http';

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** False when the connection failed before the announced body was complete. */
  complete: boolean;
}

/** GET (or another method) of a raw path on `base` (http://host:port). */
export function raw(base: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<RawResponse> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let done = false;
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        done = true;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), complete: true });
      });
      res.on('error', () => undefined);
      res.on('close', () => {
        if (!done) resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), complete: false });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

export interface CurlRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function curl(args: string[]): Promise<CurlRun> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', ...args], { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}
