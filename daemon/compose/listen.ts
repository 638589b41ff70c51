/**
 * Part of the composition root: the listening server. One place creates it
 * (HTTP, or HTTPS with `tls:` and certificate reloads), applies the
 * connection limits and binds it; a bind failure is a config error.
 */
import type { RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LoadedConfig } from '../config/load.js';
import { LarderError } from '../core/errors.js';
import { applyServerLimits } from '../http/server-limits.js';
import { createListeningServer, type ListeningServer, tlsFiles } from '../http/tls.js';
import type { Logger } from '../log.js';

export interface Listening {
  listening: ListeningServer;
  /** The daemon's own base URL, from the bound address (`http(s)://host:port`). */
  url: string;
  port: number;
}

export async function listen(
  handler: RequestListener,
  cfg: LoadedConfig,
  at: { host: string; port: number },
  log: Logger,
): Promise<Listening> {
  const listening = await createListeningServer(handler, tlsFiles(cfg.tls, cfg.source), log);
  const server = listening.server;
  const { idleTimeout, headerTimeout, requestTimeout, maxConnections } = cfg.limits;
  applyServerLimits(server, { idleMs: idleTimeout, headerTimeoutMs: headerTimeout, requestTimeoutMs: requestTimeout, maxConnections });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new LarderError('E_CONFIG', `cannot listen on ${cfg.listen}: ${err.code ?? err.message}`, { cause: err })),
    );
    server.listen(at.port, at.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const hostPart = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return { listening, url: `${listening.scheme}://${hostPart}:${addr.port}`, port: addr.port };
}
