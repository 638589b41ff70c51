/**
 * The daemon's persistent identity: a random id kept in <dataDir>/daemon-id,
 * created at first start. It names the daemon in `Via` headers (loop
 * detection) and to its parent in a mirror hierarchy; a copied data
 * directory keeps it, a fresh one gets a new id.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import type { DataPaths } from './paths.js';

const ID = /^[a-z0-9]{8,64}$/;

/** Reads the daemon id, creating it (atomically) when absent or malformed. */
export async function loadDaemonId(paths: DataPaths): Promise<string> {
  try {
    const id = (await readFile(paths.daemonId, 'utf8')).trim();
    if (ID.test(id)) return id;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const id = randomBytes(8).toString('hex');
  const tmp = `${paths.daemonId}.${process.pid}.tmp`;
  await writeFile(tmp, `${id}\n`, { mode: 0o644 });
  await rename(tmp, paths.daemonId);
  return id;
}
