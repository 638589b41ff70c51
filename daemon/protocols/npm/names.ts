/**
 * Parsing of npm registry paths. Scoped names arrive as `@s%2fn`, `@s%2Fn`
 * or `@s/n` and map to one name; every segment is decoded once and checked
 * against npm's name rules, so nothing hostile survives into a cache key or
 * an upstream URL.
 */
import { LarderError } from '../../core/errors.js';
import { decodePathSegment } from '../adapter.js';

const NAME_PART = /^[A-Za-z0-9_~-][A-Za-z0-9._~-]*$/;
const SCOPE = /^@[A-Za-z0-9_~-][A-Za-z0-9._~-]*$/;
const TARBALL = /^[A-Za-z0-9_~-][A-Za-z0-9._~+-]*\.tgz$/;
const VERSION_OR_TAG = /^[A-Za-z0-9._~+-]{1,256}$/;

export type NpmRoute =
  | { kind: 'packument'; name: string }
  | { kind: 'version'; name: string; spec: string }
  | { kind: 'tarball'; name: string; file: string }
  | { kind: 'special'; path: string };

export function badName(why: string): LarderError {
  return new LarderError('E_BAD_NAME', why);
}

/** Control characters and backslashes: refused in any decoded segment. */
const FORBIDDEN = /[\u0000-\u001f\\]/;

function decodeSegment(seg: string): string {
  return decodePathSegment(seg, FORBIDDEN, 'control characters or backslashes in path');
}

/** Names npm itself refuses to publish or install, old packages included (validate-npm-package-name). */
const REFUSED_NAMES = new Set(['node_modules', 'favicon.ico']);

/** A name no registry can hold: 404 at once, without asking the upstream. */
function refusedName(name: string, why: string): LarderError {
  return new LarderError('E_NOT_FOUND', `no such package ${JSON.stringify(name.slice(0, 100))}: npm refuses names that ${why}`);
}

/**
 * Validates a full package name (`name` or `@scope/name`) against the rules
 * npm applies to every name, old ones included: 1–214 characters, URL-safe,
 * not `node_modules` or `favicon.ico`, no leading dot or underscore. Capitals
 * are allowed (old packages such as JSONStream have them). A name that
 * breaks them is answered 404 without an upstream request.
 */
export function checkName(name: string): string {
  if (name.length === 0 || name.length > 214) throw refusedName(name, 'are empty or longer than 214 characters');
  const slash = name.indexOf('/');
  if (name.startsWith('@')) {
    if (slash < 0 || name.indexOf('/', slash + 1) >= 0) throw refusedName(name, 'have a scope but not one slash');
    if (!SCOPE.test(name.slice(0, slash)) || !NAME_PART.test(name.slice(slash + 1))) {
      throw refusedName(name, 'are not URL-safe');
    }
  } else if (slash >= 0 || !NAME_PART.test(name)) {
    throw refusedName(name, 'are not URL-safe');
  } else if (name.startsWith('.') || name.startsWith('_')) {
    throw refusedName(name, 'start with a dot or an underscore');
  } else if (REFUSED_NAMES.has(name.toLowerCase())) {
    throw refusedName(name, `are ${name.toLowerCase()}`);
  }
  return name;
}

/** Decodes a name that may carry an encoded slash (`@s%2fn`). */
export function decodeName(raw: string): string {
  return decodeSegment(raw);
}

export function scopeOf(name: string): string | undefined {
  return name.startsWith('@') ? name.slice(0, name.indexOf('/')) : undefined;
}

/**
 * A packument path with nothing to decode but a scope's encoded slash (`/name`, `/@s%2fn`): the
 * common request, answered without splitting and decoding segments (checkName still applies).
 */
const PLAIN_PACKUMENT = /^\/(?:(@[A-Za-z0-9_~-][A-Za-z0-9._~-]*)%2[fF])?([A-Za-z0-9_~-][A-Za-z0-9._~-]*)$/;

/** Parses a path below the npm mount (e.g. "/@s%2fn/-/n-1.0.0.tgz"). */
export function parseNpmPath(path: string): NpmRoute {
  if (!path.startsWith('/') || path.length > 1024) throw badName('path too long or not absolute');
  // `/-` is the registry's own namespace (`/-/v1/search`, `/-/ping`…), never a package named `-`.
  const plain = path === '/-' ? null : PLAIN_PACKUMENT.exec(path);
  if (plain) return { kind: 'packument', name: checkName(plain[1] === undefined ? plain[2]! : `${plain[1]}/${plain[2]}`) };
  const raw = path.slice(1).split('/');
  if (raw[0] === '-') return { kind: 'special', path: path };
  const segs = raw.map(decodeSegment);
  if (segs.some((s) => s === '' || s === '.' || s === '..')) throw badName('empty or dot segments in path');
  let name: string;
  let rest: string[];
  const first = segs[0]!;
  if (first.startsWith('@') && !first.includes('/')) {
    if (segs.length < 2) throw badName(`incomplete scoped name ${JSON.stringify(first)}`);
    name = `${first}/${segs[1]}`;
    rest = segs.slice(2);
  } else {
    name = first;
    rest = segs.slice(1);
  }
  checkName(name);
  if (rest.length === 0) return { kind: 'packument', name };
  if (rest.length === 1) {
    if (!VERSION_OR_TAG.test(rest[0]!)) throw badName('invalid version or tag');
    return { kind: 'version', name, spec: rest[0]! };
  }
  if (rest.length === 2 && rest[0] === '-') {
    if (!TARBALL.test(rest[1]!)) throw badName(`invalid tarball file name ${JSON.stringify(rest[1]!.slice(0, 100))}`);
    return { kind: 'tarball', name, file: rest[1]! };
  }
  throw new LarderError('E_NOT_FOUND', 'no such npm registry path');
}

/** The upstream path of a packument: scoped names with an encoded slash, as npm itself asks. */
export function upstreamDocPath(name: string): string {
  return name.startsWith('@') ? `@${encodeURIComponent(name.slice(1))}` : encodeURIComponent(name);
}
