/**
 * PyPI paths below the `/pypi` mount:
 *
 *   /simple/                       project list of the default remote
 *   /simple/<project>/             project page (PEP 503 / PEP 691)
 *   /<remote>/simple/…             the same for a named remote
 *   /<remote>/files/<project>/<filename>[.metadata]
 *                                  a file (or its PEP 658 metadata) listed on a project page
 *
 * Project names are normalized (PEP 503) and pages always end in "/"; other
 * spellings are redirected. Every segment is decoded once and checked, so
 * nothing hostile reaches a cache key or an upstream URL.
 */
import { LarderError } from '../../core/errors.js';
import { decodePathSegment } from '../adapter.js';

const PROJECT = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,198}[A-Za-z0-9])?$/;
const FILE = /^[A-Za-z0-9][A-Za-z0-9._+~!-]{0,254}$/;

export type PypiRoute =
  | { kind: 'index'; remote: string | undefined }
  | { kind: 'project'; remote: string | undefined; project: string }
  | { kind: 'file'; remote: string | undefined; project: string; file: string; metadata: boolean }
  /** `location` is a path below the mount, e.g. "/simple/foo-bar/". */
  | { kind: 'redirect'; location: string };

/** PEP 503 normalization: runs of `-`, `_`, `.` become one `-`, lower-cased. */
export function normalizeName(name: string): string {
  return name.replace(/[-_.]+/g, '-').toLowerCase();
}

export function isProjectName(name: string): boolean {
  return PROJECT.test(name);
}

/** Whether a distribution file name is safe to use in a mirror URL and a cache key. */
export function isFileName(name: string): boolean {
  return FILE.test(name) && !name.includes('..');
}

function badName(why: string): LarderError {
  return new LarderError('E_BAD_NAME', why);
}

function decode(seg: string): string {
  return decodePathSegment(seg, /[\u0000-\u001f\\/]/, 'control characters or slashes in a path segment');
}

function project(raw: string): string {
  const name = decode(raw);
  if (!isProjectName(name)) throw new LarderError('E_NOT_FOUND', `not a valid project name: ${JSON.stringify(name.slice(0, 100))}`);
  return name;
}

/**
 * Parses a path below the mount. `isRemote` tells whether a first segment
 * names a configured PyPI remote.
 */
export function parsePypiPath(path: string, isRemote: (name: string) => boolean): PypiRoute {
  if (!path.startsWith('/') || path.length > 2048) throw badName('path too long or not absolute');
  let segs = path.slice(1).split('/');
  let remote: string | undefined;
  if (segs.length >= 2 && (segs[1] === 'simple' || segs[1] === 'files') && isRemote(segs[0]!)) {
    remote = segs[0]!;
    segs = segs.slice(1);
  }
  const prefix = remote === undefined ? '' : `/${remote}`;
  const notFound = new LarderError('E_NOT_FOUND', 'no such PyPI path');
  if (segs[0] === 'simple') {
    if (segs.length === 1) return { kind: 'redirect', location: `${prefix}/simple/` };
    if (segs.length === 2 && segs[1] === '') return { kind: 'index', remote };
    const name = project(segs[1]!);
    const norm = normalizeName(name);
    if (segs.length === 2 || (segs.length === 3 && segs[2] === '' && name !== norm)) {
      return { kind: 'redirect', location: `${prefix}/simple/${norm}/` };
    }
    if (segs.length === 3 && segs[2] === '') return { kind: 'project', remote, project: norm };
    throw notFound;
  }
  if (segs[0] === 'files' && segs.length === 3) {
    const norm = normalizeName(project(segs[1]!));
    let file = decode(segs[2]!);
    const metadata = file.endsWith('.metadata');
    if (metadata) file = file.slice(0, -'.metadata'.length);
    if (!isFileName(file)) throw badName(`invalid file name ${JSON.stringify(file.slice(0, 100))}`);
    return { kind: 'file', remote, project: norm, file, metadata };
  }
  throw notFound;
}
