/**
 * RubyGems paths below the `/gems` mount (`/<remote>/…` first for a named
 * remote):
 *
 *   /                                  200 (gem probes the source root before using the compact index)
 *   /versions, /names                  compact index lists
 *   /info/<gem>                        compact index info file
 *   /gems/<name>-<version>[-<platform>].gem
 *   /specs.4.8.gz, /latest_specs.4.8.gz, /prerelease_specs.4.8.gz
 *   /quick/Marshal.4.8/<name>-<version>[-<platform>].gemspec.rz
 *
 * Every segment is decoded once and checked, so nothing hostile reaches a
 * cache key or an upstream URL.
 */
import { LarderError } from '../../core/errors.js';
import { decodePathSegment } from '../adapter.js';

const GEM_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$/;
const GEM_FILE = /^[A-Za-z0-9_][A-Za-z0-9._+-]{0,250}$/;
export const FULL_INDEX = new Set(['specs.4.8.gz', 'latest_specs.4.8.gz', 'prerelease_specs.4.8.gz']);
const KEYWORDS = new Set(['', 'versions', 'names', 'info', 'gems', 'quick', ...FULL_INDEX]);

export type GemsRoute =
  | { kind: 'root'; remote: string | undefined }
  | { kind: 'versions' | 'names'; remote: string | undefined }
  | { kind: 'info'; remote: string | undefined; name: string }
  | { kind: 'gem'; remote: string | undefined; file: string }
  | { kind: 'index'; remote: string | undefined; file: string }
  | { kind: 'quick'; remote: string | undefined; file: string };

export function isGemName(name: string): boolean {
  return GEM_NAME.test(name) && !name.includes('..');
}

/** Whether `<stem>` (a gem file name without `.gem` / `.gemspec.rz`) is safe in a key and an upstream URL. */
export function isGemStem(stem: string): boolean {
  return GEM_FILE.test(stem) && !stem.includes('..');
}

function badName(why: string): LarderError {
  return new LarderError('E_BAD_NAME', why);
}

function decode(seg: string): string {
  return decodePathSegment(seg, /[\u0000-\u001f\\/]/, 'control characters or slashes in a path segment');
}

/** The stem of a file name ending in `suffix`, checked. */
function stem(raw: string, suffix: string): string {
  const file = decode(raw);
  if (!file.endsWith(suffix)) throw new LarderError('E_NOT_FOUND', 'no such gem file');
  const s = file.slice(0, -suffix.length);
  if (!isGemStem(s)) throw badName(`invalid gem file name ${JSON.stringify(file.slice(0, 100))}`);
  return s;
}

/** Parses a path below the mount; `isRemote` tells whether a first segment names a gems remote. */
export function parseGemsPath(path: string, isRemote: (name: string) => boolean): GemsRoute {
  if (!path.startsWith('/') || path.length > 2048) throw badName('path too long or not absolute');
  let segs = path.slice(1).split('/');
  let remote: string | undefined;
  if (segs.length >= 1 && isRemote(segs[0]!) && (segs.length === 1 || KEYWORDS.has(segs[1]!))) {
    remote = segs[0]!;
    segs = segs.length === 1 ? [''] : segs.slice(1);
  }
  const notFound = new LarderError('E_NOT_FOUND', 'Not Found');
  const [first, ...rest] = segs as [string, ...string[]];
  if (rest.length === 0) {
    if (first === '') return { kind: 'root', remote };
    if (first === 'versions' || first === 'names') return { kind: first, remote };
    if (FULL_INDEX.has(first)) return { kind: 'index', remote, file: first };
    throw notFound;
  }
  if (first === 'info' && rest.length === 1) {
    const name = decode(rest[0]!);
    if (!isGemName(name)) throw badName(`invalid gem name ${JSON.stringify(name.slice(0, 100))}`);
    return { kind: 'info', remote, name };
  }
  if (first === 'gems' && rest.length === 1) return { kind: 'gem', remote, file: stem(rest[0]!, '.gem') };
  if (first === 'quick' && rest.length === 2 && rest[0] === 'Marshal.4.8') {
    return { kind: 'quick', remote, file: stem(rest[1]!, '.gemspec.rz') };
  }
  throw notFound;
}
