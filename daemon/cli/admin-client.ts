/**
 * The CLI's face of the shared admin client (daemon/admin/client.ts): it
 * finds the daemon and its token with the same resolution as `larder serve`
 * (flags, LARDER_* env, config file): listen address (or publicUrl) and
 * <dataDir>/admin-token, and turns the client's typed errors into CliErrors
 * with the CLI's exit codes. Bundles stream over node:http (see stream()).
 */
import { readFile } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { join } from 'node:path';
import { AdminClient as SharedClient } from '../admin/client.js';
import { CLIENT_ERROR, decodeError, transportError, type AdminError } from '../admin/client-decode.js';
import type { LoadedConfig } from '../config/load.js';
import { listenAddress } from '../config/load.js';

/** Exit codes of the CLI. */
export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3, unauthorized: 4, config: 78 } as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    readonly hint?: string,
    /** The admin API's error code, when the error came from it. */
    readonly code?: string,
  ) {
    super(message);
  }
}

/** The CLI's message, hint and exit code for a failed admin API exchange. */
export function toCliError(e: AdminError, base: string): CliError {
  if (e.code === CLIENT_ERROR.network) {
    const hint = 'start it with `larder serve`, or pass the same --config/--listen it uses';
    return new CliError(`no Larder daemon answers at ${base}`, EXIT.unreachable, hint, e.code);
  }
  if (e.status === 401) {
    return new CliError(`${e.message} [${e.code}]`, EXIT.unauthorized, 'the token in <dataDir>/admin-token may have been rotated', e.code);
  }
  return new CliError(`${e.message} [${e.code}]`, EXIT.failed, undefined, e.code);
}

const REFUSED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']);

export class AdminClient extends SharedClient {
  static async fromConfig(cfg: LoadedConfig): Promise<AdminClient> {
    const { host, port } = listenAddress(cfg);
    const h = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
    // The config's token, unless it was rotated: then the file holds the one in force. Each is tried once after a 401.
    const file = join(cfg.dataDir, 'admin-token');
    const inFile = (await readFile(file, 'utf8').catch(() => '')).trim();
    const candidates = [...new Set([cfg.admin.token, inFile].filter((t): t is string => Boolean(t)))];
    if (!candidates.length) {
      const hint = 'start the daemon once with the same --data-dir, or pass --config/--data-dir';
      throw new CliError(`cannot read the admin token at ${file}`, EXIT.unauthorized, hint);
    }
    let tried = 0;
    const bearer = (): string => candidates[Math.min(tried++, candidates.length - 1)]!;
    // With tls: the daemon speaks HTTPS; a private CA is trusted through NODE_EXTRA_CA_CERTS.
    return new AdminClient({ baseUrl: `${cfg.tls ? 'https' : 'http'}://${h}:${port}`, auth: { bearer } });
  }

  protected override fail(err: AdminError): never {
    throw toCliError(err, this.base);
  }

  /** One JSON call by method and path (the typed methods of the shared client say the same by name). */
  call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.request<T>(method, path, body);
  }

  /**
   * A streaming exchange (bundles), over node:http so that neither a long
   * server-side preparation nor a long upload hits fetch's header and body
   * timeouts. The body may be a stream; a 2xx answer is returned unread,
   * others raise as for {@link call} (also when the daemon refused an upload
   * before reading it all).
   */
  async stream(
    method: string,
    path: string,
    body?: { json: unknown } | { stream: AsyncIterable<Uint8Array>; type: string },
  ): Promise<IncomingMessage> {
    const headers: Record<string, string> = { authorization: (await this.authHeader()) ?? '' };
    if (body) headers['content-type'] = 'json' in body ? 'application/json' : body.type;
    return new Promise<IncomingMessage>((resolve, reject) => {
      let answered = false;
      const url = new URL(`${this.base}/_/api/v1${path}`);
      const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { method, headers }, (res) => {
        answered = true;
        const status = res.statusCode ?? 500;
        if (status < 300) return resolve(res);
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', () => undefined);
        res.on('end', () => {
          reject(toCliError(decodeError(status, Buffer.concat(chunks).toString('utf8'), res.statusMessage), this.base));
          // Refused: what is left of an upload is not sent.
          req.destroy();
        });
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (answered) return;
        if (err.code && REFUSED.has(err.code)) reject(toCliError(transportError(err, this.base), this.base));
        else reject(new CliError(`the exchange with ${this.base} failed: ${err.code ?? err.message}`, EXIT.failed));
      });
      if (!body) req.end();
      else if ('json' in body) req.end(JSON.stringify(body.json));
      // An upload cut short by the daemon's answer shows up as that answer.
      else pipeline(Readable.from(body.stream), req).catch(() => undefined);
    });
  }
}
