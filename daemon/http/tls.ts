/**
 * The daemon's listening server: plain HTTP, or HTTPS on the same port when
 * the config has `tls: { cert, key }`. The certificate files are watched
 * (chokidar): on a change they are read again and installed with
 * `setSecureContext`, so new connections get the new certificate while open
 * ones keep theirs. Files that cannot be read or do not form a valid
 * context (half-written, key and cert not matching) are logged and the
 * previous context stays in use.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createSecureContext } from 'node:tls';
import chokidar, { type FSWatcher } from 'chokidar';
import { LarderError } from '../core/errors.js';
import type { Logger } from '../log.js';

export interface TlsFiles {
  cert: string;
  key: string;
  ca?: string | undefined;
}

export interface ListeningServer {
  server: Server;
  scheme: 'http' | 'https';
  /** Reads the certificate files again now (what a file change triggers); false when they were refused. */
  reload(): Promise<boolean>;
  /** Stops watching the certificate files. */
  close(): Promise<void>;
}

interface Material {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
}

/** The config's `tls` files, relative ones resolved beside the config file. */
export function tlsFiles(tls: TlsFiles | undefined, source: string): TlsFiles | undefined {
  if (!tls) return undefined;
  const base = /\.ya?ml$/.test(source) ? dirname(resolve(source)) : process.cwd();
  return { cert: resolve(base, tls.cert), key: resolve(base, tls.key), ...(tls.ca ? { ca: resolve(base, tls.ca) } : {}) };
}

async function readMaterial(files: TlsFiles): Promise<Material> {
  const [cert, key, ca] = await Promise.all([
    readFile(files.cert),
    readFile(files.key),
    files.ca ? readFile(files.ca) : Promise.resolve(undefined),
  ]);
  const m: Material = { cert, key, ...(ca ? { ca } : {}) };
  createSecureContext(m); // throws on a bad PEM or a key that does not match the certificate
  return m;
}

/** Creates (not yet listening) the server for `handler`, with TLS when `tls` is given. */
export async function createListeningServer(handler: RequestListener, tls: TlsFiles | undefined, log: Logger): Promise<ListeningServer> {
  if (!tls) return { server: createHttpServer(handler), scheme: 'http', reload: async () => false, close: async () => undefined };
  let material: Material;
  try {
    material = await readMaterial(tls);
  } catch (err) {
    throw new LarderError('E_CONFIG', `config: tls: cannot use ${tls.cert} / ${tls.key}: ${(err as Error).message}`, { cause: err });
  }
  const server: HttpsServer = createHttpsServer(material, handler);
  const reload = async (): Promise<boolean> => {
    try {
      material = await readMaterial(tls);
      server.setSecureContext(material);
      log.info({ cert: tls.cert }, 'tls: certificate reloaded');
      return true;
    } catch (err) {
      log.error(
        { cert: tls.cert, err: (err as Error).message },
        'tls: the new certificate files are not usable; keeping the previous ones',
      );
      return false;
    }
  };
  // Writers replace files in several steps (key, then cert): settle before reading.
  let timer: NodeJS.Timeout | undefined;
  const changed = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => void reload(), 200);
  };
  const watcher: FSWatcher = chokidar.watch([tls.cert, tls.key, ...(tls.ca ? [tls.ca] : [])], {
    ignoreInitial: true,
    awaitWriteFinish: { stabilityThreshold: 100, pollInterval: 50 },
  });
  watcher.on('add', changed).on('change', changed);
  watcher.on('error', (err) => log.warn({ err: String(err) }, 'tls: watching the certificate files failed'));
  return {
    server,
    scheme: 'https',
    reload,
    close: async () => {
      clearTimeout(timer);
      await watcher.close();
    },
  };
}
