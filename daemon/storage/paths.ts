/**
 * The on-disk layout of a data directory, built in this one module:
 *
 *   <data>/blobs/sha256/<2 hex>/<64 hex>   committed blobs, named by content
 *   <data>/tmp/<random>                    fills in progress (swept at start)
 *   <data>/index/                          the LMDB environment
 *   <data>/quarantine/<hex>-<time>         blobs that failed a scrub, never served
 *   <data>/admin-token                     admin API token (mode 0600)
 *   <data>/daemon-id                       this daemon's random id (Via, mirror hierarchies)
 *
 * Only digests validated here ever become file names; no part of a request
 * URL reaches the filesystem.
 */
import { join } from 'node:path';
import { LarderError } from '../core/errors.js';

const DIGEST = /^sha256:([0-9a-f]{64})$/;

export class DataPaths {
  constructor(readonly root: string) {}

  get blobsDir(): string {
    return join(this.root, 'blobs', 'sha256');
  }

  get tmpDir(): string {
    return join(this.root, 'tmp');
  }

  get indexDir(): string {
    return join(this.root, 'index');
  }

  get quarantineDir(): string {
    return join(this.root, 'quarantine');
  }

  get adminToken(): string {
    return join(this.root, 'admin-token');
  }

  get daemonId(): string {
    return join(this.root, 'daemon-id');
  }

  /** Directory and file of a blob; throws on anything but `sha256:<64 hex>`. */
  blob(digest: string): { dir: string; file: string } {
    const m = DIGEST.exec(digest);
    if (!m) throw new LarderError('E_BAD_REQUEST', `not a storable digest: ${JSON.stringify(digest.slice(0, 80))}`);
    const hex = m[1]!;
    const dir = join(this.blobsDir, hex.slice(0, 2));
    return { dir, file: join(dir, hex) };
  }

  /** The digest of a blob file name found on disk, or undefined for strays. */
  digestOf(prefix: string, name: string): string | undefined {
    return /^[0-9a-f]{64}$/.test(name) && name.startsWith(prefix) ? `sha256:${name}` : undefined;
  }
}
