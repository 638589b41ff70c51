/**
 * Crate names, versions and the paths of the sparse index protocol below
 * `/cargo`: `/index/…` is the default remote, `/<remote>/index/…` a named
 * one; `…/index/config.json`, `…/index/<prefix>/<name>` (cargo's prefix
 * folders `1/`, `2/`, `3/<c>/`, `<ab>/<cd>/`, lower-cased), and the
 * downloads Larder's `config.json` points cargo at,
 * `/<remote>/dl/<name>/<version>/download`. Every segment is decoded and
 * checked against a strict grammar before it is used: nothing else reaches
 * a cache key or an upstream URL.
 */
import { LarderError } from '../../core/errors.js';

/** Registries allow ASCII letters, digits, `-` and `_` (crates.io: at most 64). */
const CRATE_NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** A semantic version as cargo writes it in the index and in download URLs. */
const VERSION = /^\d{1,20}\.\d{1,20}\.\d{1,20}(?:-[0-9A-Za-z.-]{1,100})?(?:\+[0-9A-Za-z.-]{1,100})?$/;
const SEGMENT = /^[A-Za-z0-9._+-]{1,128}$/;
const MAX_SEGMENTS = 8;

export const isCrateName = (name: string): boolean => CRATE_NAME.test(name);
export const isCrateVersion = (version: string): boolean => VERSION.test(version) && !version.includes('..');

/** cargo's folder of an index file (without the name): `1`, `2`, `3/a`, `se/rd`. */
export function indexPrefix(name: string): string {
  if (name.length === 1) return '1';
  if (name.length === 2) return '2';
  if (name.length === 3) return `3/${name.slice(0, 1)}`;
  return `${name.slice(0, 2)}/${name.slice(2, 4)}`;
}

/** Path of a crate's index file below the index root, lower-cased as the sparse protocol asks. */
export function indexPath(name: string): string {
  const lower = name.toLowerCase();
  return `${indexPrefix(lower)}/${lower}`;
}

export type CargoRoute =
  | { kind: 'config'; remote: string | undefined }
  | { kind: 'index'; remote: string | undefined; name: string }
  | { kind: 'crate'; remote: string; name: string; version: string };

const notHere = (): LarderError => new LarderError('E_NOT_FOUND', 'not a path of the cargo sparse index protocol');

function segments(path: string): string[] {
  const raw = path.split('/').slice(1);
  if (raw.length === 0 || raw.length > MAX_SEGMENTS) throw notHere();
  return raw.map((s) => {
    let decoded: string;
    try {
      decoded = decodeURIComponent(s);
    } catch {
      throw notHere();
    }
    if (!SEGMENT.test(decoded) || decoded === '.' || decoded === '..') throw notHere();
    return decoded;
  });
}

/** Parses a path below the mount; `isRemote` says whether a name is a cargo remote. */
export function parseCargoPath(path: string, isRemote: (name: string) => boolean): CargoRoute {
  const segs = segments(path);
  let remote: string | undefined;
  let rest = segs;
  if (segs.length > 1 && isRemote(segs[0]!) && (segs[1] === 'index' || segs[1] === 'dl')) {
    remote = segs[0]!;
    rest = segs.slice(1);
  } else if (segs[0] !== 'index') {
    throw notHere();
  }
  if (rest[0] === 'dl') {
    const [, name, version, tail] = rest;
    if (!remote || rest.length !== 4 || tail !== 'download' || !isCrateName(name!) || !isCrateVersion(version!)) throw notHere();
    return { kind: 'crate', remote, name: name!.toLowerCase(), version: version! };
  }
  const file = rest.slice(1);
  if (file.length === 1 && file[0] === 'config.json') return { kind: 'config', remote };
  const name = file[file.length - 1]?.toLowerCase() ?? '';
  if (!isCrateName(name) || file.join('/').toLowerCase() !== indexPath(name)) throw notHere();
  return { kind: 'index', remote, name };
}
