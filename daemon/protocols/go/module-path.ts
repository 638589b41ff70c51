/**
 * GOPROXY paths below `/go[/<remote>]`:
 *
 *   /<module>/@v/list                 known versions (mutable)
 *   /<module>/@v/<version>.info       version metadata (immutable for canonical versions)
 *   /<module>/@v/<version>.mod        go.mod (immutable)
 *   /<module>/@v/<version>.zip        module zip (immutable)
 *   /<module>/@latest                 latest version (mutable)
 *   /sumdb/<db>/<supported|latest|lookup/…|tile/…>
 *
 * Module paths and versions arrive case-encoded (`!a` = `A`, no upper-case
 * letters) and are decoded and checked here; malformed encodings are
 * E_BAD_NAME, paths Go would never ask for are E_NOT_FOUND.
 */
import { LarderError } from '../../core/errors.js';
import { decodePathSegment } from '../adapter.js';

export type GoRoute =
  | { kind: 'list'; module: string }
  | { kind: 'latest'; module: string }
  | { kind: 'info' | 'mod' | 'zip'; module: string; version: string }
  | { kind: 'sumdb'; db: string; path: string };

const ELEMENT = /^[A-Za-z0-9_~-](?:[A-Za-z0-9._~-]*[A-Za-z0-9_~-])?$/;
const VERSION = /^[A-Za-z0-9_~+-](?:[A-Za-z0-9._~+-]*[A-Za-z0-9_~+-])?$/;
const CANONICAL = /^v(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+incompatible)?$/;
const DB = /^[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?$/;

function badName(why: string): LarderError {
  return new LarderError('E_BAD_NAME', why);
}

/** Decodes Go's case encoding (`!x` → `X`); upper-case letters or a stray `!` are malformed. */
export function unescapeCase(escaped: string): string {
  let out = '';
  for (let i = 0; i < escaped.length; i++) {
    const c = escaped[i]!;
    if (c >= 'A' && c <= 'Z') throw badName(`upper-case letter in case-encoded path ${JSON.stringify(escaped.slice(0, 200))}`);
    if (c !== '!') {
      out += c;
      continue;
    }
    const next = escaped[++i];
    if (next === undefined || next < 'a' || next > 'z') throw badName(`invalid "!" escape in ${JSON.stringify(escaped.slice(0, 200))}`);
    out += next.toUpperCase();
  }
  return out;
}

/** Go's case encoding of a module path or version. */
export function escapeCase(s: string): string {
  return s.replace(/[A-Z]/g, (c) => `!${c.toLowerCase()}`);
}

/** Whether a module path is one Go could ask a proxy for. */
export function isModulePath(path: string): boolean {
  if (path.length === 0 || path.length > 1024) return false;
  return path.split('/').every((e) => ELEMENT.test(e) && !e.endsWith('.') && e !== '.' && e !== '..');
}

/** A semantic version as Go uses it in .mod/.zip names (`v1.2.3[-pre][+incompatible]`). */
export function isCanonicalVersion(v: string): boolean {
  return v.length <= 256 && CANONICAL.test(v);
}

function decodeSegments(path: string): string {
  return decodePathSegment(path, /[\u0000-\u0020\\%]/, 'control characters, spaces or backslashes in path');
}

function moduleOf(escaped: string): string {
  const module = unescapeCase(escaped);
  if (!isModulePath(module)) throw new LarderError('E_NOT_FOUND', `not a valid module path: ${JSON.stringify(module.slice(0, 200))}`);
  return module;
}

/** Parses a path below the remote (e.g. "/example.com/!upper/mod/@v/v1.0.0.zip"). */
export function parseGoPath(path: string): GoRoute {
  if (!path.startsWith('/') || path.length > 2048) throw badName('path too long or not absolute');
  const p = decodeSegments(path.slice(1));
  if (p.startsWith('sumdb/')) {
    const rest = p.slice('sumdb/'.length);
    const slash = rest.indexOf('/');
    const db = slash < 0 ? rest : rest.slice(0, slash);
    if (!DB.test(db) || slash < 0) throw new LarderError('E_NOT_FOUND', 'no such checksum database path');
    return { kind: 'sumdb', db, path: rest.slice(slash + 1) };
  }
  if (p.endsWith('/@latest')) return { kind: 'latest', module: moduleOf(p.slice(0, -'/@latest'.length)) };
  const at = p.indexOf('/@v/');
  if (at < 0) throw new LarderError('E_NOT_FOUND', 'not a module proxy path');
  const module = moduleOf(p.slice(0, at));
  const file = p.slice(at + '/@v/'.length);
  if (file === 'list') return { kind: 'list', module };
  const m = /^(.+)\.(info|mod|zip)$/.exec(file);
  if (!m) throw new LarderError('E_NOT_FOUND', `not a module proxy file: ${JSON.stringify(file.slice(0, 100))}`);
  const version = unescapeCase(m[1]!);
  const kind = m[2] as 'info' | 'mod' | 'zip';
  if (!VERSION.test(version) || version.length > 256)
    throw new LarderError('E_NOT_FOUND', `not a valid version: ${JSON.stringify(version.slice(0, 100))}`);
  if (kind !== 'info' && !isCanonicalVersion(version))
    throw new LarderError('E_NOT_FOUND', `${kind} files exist only for canonical versions, not ${JSON.stringify(version)}`);
  return { kind, module, version };
}
