/**
 * Request paths below `/conda`: `/<remote>/channeldata.json`,
 * `/<remote>/<subdir>/<index document>` (repodata in its plain, `.zst` and
 * `.bz2` forms, `current_repodata.json`, `run_exports.json`, the CEP-16
 * shard index), `/<remote>/<subdir>/<package>.conda|.tar.bz2` and
 * `/<remote>/<subdir>/shards/<sha256>.msgpack.zst`. Every segment is
 * checked against a strict pattern before it names a key or an upstream
 * URL: no traversal, no encoded separators, no NUL, bounded lengths.
 */
import { LarderError, notFound } from '../../core/errors.js';
import { pathSegment as segment, pathSegments, REMOTE_NAME } from '../adapter.js';

export type CondaRoute =
  | { kind: 'document'; remote: string; path: string }
  | { kind: 'package'; remote: string; subdir: string; file: string }
  | { kind: 'shard'; remote: string; subdir: string; hex: string };

const SUBDIR = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const PACKAGE = /^[A-Za-z0-9_][A-Za-z0-9._+!-]{0,250}\.(?:conda|tar\.bz2)$/;
const SHARD = /^([0-9a-f]{64})\.msgpack\.zst$/;

/** Index documents of a subdir: mutable, revalidated, passed through byte for byte. */
export const SUBDIR_DOCUMENTS: ReadonlySet<string> = new Set([
  'repodata.json',
  'repodata.json.zst',
  'repodata.json.bz2',
  'current_repodata.json',
  'current_repodata.json.zst',
  'current_repodata.json.bz2',
  'run_exports.json',
  'run_exports.json.zst',
  'run_exports.json.bz2',
  'repodata_shards.msgpack.zst',
]);

export function parseCondaPath(path: string): CondaRoute {
  const parts = pathSegments(path);
  for (const p of parts) segment(p, /^[^/\\\0]*$/, 'path segment');
  if (parts.length < 2) throw notFound('conda path');
  const remote = segment(parts[0]!, REMOTE_NAME, 'remote name');
  if (parts.length === 2 && parts[1] === 'channeldata.json') return { kind: 'document', remote, path: 'channeldata.json' };
  if (parts.length === 3) {
    const subdir = segment(parts[1]!, SUBDIR, 'subdir');
    const name = parts[2]!;
    if (SUBDIR_DOCUMENTS.has(name)) return { kind: 'document', remote, path: `${subdir}/${name}` };
    return { kind: 'package', remote, subdir, file: segment(name, PACKAGE, 'package file name') };
  }
  if (parts.length === 4 && parts[2] === 'shards') {
    const subdir = segment(parts[1]!, SUBDIR, 'subdir');
    const m = SHARD.exec(parts[3]!);
    if (!m) throw new LarderError('E_BAD_REQUEST', 'expected shards/<sha256>.msgpack.zst');
    return { kind: 'shard', remote, subdir, hex: m[1]! };
  }
  throw notFound('conda path');
}

/** Whether a subdir and package file name are valid (references). */
export function validPackage(subdir: string, file: string): boolean {
  return SUBDIR.test(subdir) && PACKAGE.test(file) && !file.includes('..');
}
