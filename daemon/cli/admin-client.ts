/**
 * The CLI's client of the running daemon's admin API. It finds the daemon
 * and its token with the same resolution as `larder serve` (flags, LARDER_*
 * env, config file): listen address (or publicUrl) and <dataDir>/admin-token.
 */
import { readFile } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { join } from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import { listenAddress } from '../config/load.js';

/** Exit codes of the CLI. */
export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3, unauthorized: 4, config: 78 } as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    readonly hint?: string,
  ) {
    super(message);
  }
}

export class AdminClient {
  private constructor(
    readonly base: string,
    private readonly token: string,
  ) {}

  static async fromConfig(cfg: LoadedConfig): Promise<AdminClient> {
    const { host, port } = listenAddress(cfg);
    const h = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
    const base = `http://${h}:${port}`;
    let token = cfg.admin.token;
    if (!token) {
      const file = join(cfg.dataDir, 'admin-token');
      try {
        token = (await readFile(file, 'utf8')).trim();
      } catch {
        throw new CliError(`cannot read the admin token at ${file}`, EXIT.unauthorized, 'start the daemon once with the same --data-dir, or pass --config/--data-dir');
      }
    }
    return new AdminClient(base, token);
  }

  /**
   * A streaming exchange (bundles), over node:http so that neither a long
   * server-side preparation nor a long upload hits a client timeout. The body
   * may be a stream; a 2xx answer is returned unread, others raise as for
   * {@link call} (also when the daemon refused an upload before reading it all).
   */
  stream(method: string, path: string, body?: { json: unknown } | { stream: AsyncIterable<Uint8Array>; type: string }): Promise<IncomingMessage> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` };
    if (body) headers['content-type'] = 'json' in body ? 'application/json' : body.type;
    return new Promise<IncomingMessage>((resolve, reject) => {
      let answered = false;
      const req = httpRequest(new URL(`${this.base}/_/api/v1${path}`), { method, headers }, (res) => {
        answered = true;
        const status = res.statusCode ?? 500;
        if (status < 300) return resolve(res);
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', () => undefined);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let err: { code?: string; message?: string } | undefined;
          try {
            err = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
          } catch {
            err = { message: text.slice(0, 200) };
          }
          reject(new CliError(`${err?.message ?? `HTTP ${status}`}${err?.code ? ` [${err.code}]` : ''}`, status === 401 ? EXIT.unauthorized : EXIT.failed));
        });
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (answered) return;
        if (err.code === 'ECONNREFUSED' || err.code === 'ENOTFOUND') {
          reject(new CliError(`no Larder daemon answers at ${this.base}`, EXIT.unreachable, 'start it with `larder serve`, or pass the same --config/--listen it uses'));
        } else reject(new CliError(`the exchange with ${this.base} failed: ${err.code ?? err.message}`, EXIT.failed));
      });
      if (!body) req.end();
      else if ('json' in body) req.end(JSON.stringify(body.json));
      // An upload cut short by the daemon's answer shows up as that answer.
      else pipeline(Readable.from(body.stream), req).catch(() => undefined);
    });
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.base}/_/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new CliError(`no Larder daemon answers at ${this.base}`, EXIT.unreachable, 'start it with `larder serve`, or pass the same --config/--listen it uses');
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      json = { error: { code: 'E_INTERNAL', message: text.slice(0, 200) } };
    }
    if (!res.ok) {
      const err = (json as { error?: { code?: string; message?: string } }).error;
      const code = res.status === 401 ? EXIT.unauthorized : EXIT.failed;
      throw new CliError(`${err?.message ?? `HTTP ${res.status}`}${err?.code ? ` [${err.code}]` : ''}`, code, res.status === 401 ? 'the token in <dataDir>/admin-token may have been rotated' : undefined);
    }
    return json as T;
  }
}
