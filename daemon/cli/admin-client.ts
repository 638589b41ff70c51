/**
 * The CLI's client of the running daemon's admin API. It finds the daemon
 * and its token with the same resolution as `larder serve` (flags, LARDER_*
 * env, config file): listen address (or publicUrl) and <dataDir>/admin-token.
 */
import { readFile } from 'node:fs/promises';
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
   * A streaming exchange (bundles): the body may be a stream, the answer's
   * body is left unread. Errors are raised as for {@link call}.
   */
  async stream(method: string, path: string, body?: { json: unknown } | { stream: AsyncIterable<Uint8Array>; type: string }): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` };
    // undici (Node's fetch) streams an async iterable body; the DOM types do not know that.
    let payload: string | AsyncIterable<Uint8Array> | undefined;
    if (body && 'json' in body) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body.json);
    } else if (body) {
      headers['content-type'] = body.type;
      payload = body.stream;
    }
    let res: Response;
    try {
      res = await fetch(`${this.base}/_/api/v1${path}`, { method, headers, body: payload, duplex: 'half' } as unknown as RequestInit);
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      if (cause === 'ECONNREFUSED' || cause === 'ENOTFOUND') {
        throw new CliError(`no Larder daemon answers at ${this.base}`, EXIT.unreachable, 'start it with `larder serve`, or pass the same --config/--listen it uses');
      }
      throw new CliError(`the exchange with ${this.base} failed: ${cause ?? (err as Error).message}`, EXIT.failed);
    }
    if (!res.ok) {
      const text = await res.text();
      let err: { code?: string; message?: string } | undefined;
      try {
        err = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
      } catch {
        err = { message: text.slice(0, 200) };
      }
      throw new CliError(`${err?.message ?? `HTTP ${res.status}`}${err?.code ? ` [${err.code}]` : ''}`, res.status === 401 ? EXIT.unauthorized : EXIT.failed);
    }
    return res;
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
