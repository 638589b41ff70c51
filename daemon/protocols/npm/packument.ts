/**
 * Packument derivation, done once per upstream change: tarball URLs are
 * rewritten to absolute mirror URLs at upstream-identical paths, the
 * abbreviated ("corgi") form is cut from the full one, and a small map of
 * tarball file → upstream URL + digests is kept for tarball misses.
 * `integrity`, `shasum`, `signatures` and `attestations` are never touched.
 */
import { LarderError } from '../../core/errors.js';
import type { Derived } from '../../core/types.js';
import { rewriteTarballs } from './rewrite.js';

export const FULL_TYPE = 'application/json';
export const ABBREV_TYPE = 'application/vnd.npm.install-v1+json';

const ABBREV_VERSION_FIELDS = [
  'name',
  'version',
  'dependencies',
  'optionalDependencies',
  'devDependencies',
  'bundleDependencies',
  'bundledDependencies',
  'peerDependencies',
  'peerDependenciesMeta',
  'acceptDependencies',
  'bin',
  'directories',
  'dist',
  'engines',
  '_hasShrinkwrap',
  'hasInstallScript',
  'deprecated',
  'os',
  'cpu',
  'libc',
  'funding',
] as const;

/** Where a tarball comes from, and what it must hash to. */
export interface DistInfo {
  /** Upstream URL (absolute). */
  u: string;
  /** SRI integrity, when the packument has it. */
  i?: string;
  /** Hex sha1, when the packument has it. */
  s?: string;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface DeriveContext {
  name: string;
  /** Mirror base for rewritten tarballs, e.g. "http://127.0.0.1:7420/npm/". */
  mirrorBase: string;
  /** Whether an upstream tarball URL may be fetched as is (same origin as the remote). */
  owns(url: string): boolean;
  /** The conventional upstream URL, for tarball URLs on foreign hosts. */
  conventional(name: string, file: string): string;
}

function tarballFile(url: string): string | undefined {
  try {
    const last = new URL(url).pathname.split('/').pop();
    return last ? decodeURIComponent(last) : undefined;
  } catch {
    return undefined;
  }
}

function isTarballFile(file: string | undefined): file is string {
  return file !== undefined && /^[A-Za-z0-9_~-][A-Za-z0-9._~+-]*\.tgz$/.test(file);
}

export function derivePackument(raw: Buffer, ctx: DeriveContext): Derived {
  let doc: unknown;
  try {
    doc = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new LarderError('E_UPSTREAM', `upstream packument for ${ctx.name} is not JSON`);
  }
  if (!isObject(doc) || !isObject(doc.versions ?? {})) {
    throw new LarderError('E_UPSTREAM', `upstream packument for ${ctx.name} has no versions object`);
  }
  const versions = (doc.versions ?? {}) as Json;
  const dist: Record<string, DistInfo> = {};
  const abbrevVersions: Json = {};
  /** Upstream tarball URL → mirror URL. */
  const rewrites = new Map<string, string>();
  for (const [v, manifest] of Object.entries(versions)) {
    if (!isObject(manifest)) continue;
    let d = manifest.dist;
    if (isObject(d) && typeof d.tarball === 'string') {
      const file = tarballFile(d.tarball);
      if (isTarballFile(file)) {
        const info: DistInfo = { u: ctx.owns(d.tarball) ? d.tarball : ctx.conventional(ctx.name, file) };
        if (typeof d.integrity === 'string') info.i = d.integrity;
        if (typeof d.shasum === 'string') info.s = d.shasum;
        dist[file] = info;
        const mirrored = `${ctx.mirrorBase}${ctx.name}/-/${file}`;
        // Two versions naming one URL cannot be told apart in the bytes: the full form is then serialised again.
        rewrites.set(d.tarball, rewrites.has(d.tarball) ? '' : mirrored);
        d = { ...d, tarball: mirrored };
      }
    }
    const a: Json = {};
    for (const f of ABBREV_VERSION_FIELDS) if (manifest[f] !== undefined) a[f] = manifest[f];
    if (d !== undefined) a.dist = d;
    abbrevVersions[v] = a;
  }
  const abbrev: Json = {
    name: doc.name ?? ctx.name,
    modified: doc.modified ?? (isObject(doc.time) ? doc.time.modified : undefined),
    'dist-tags': doc['dist-tags'] ?? {},
    versions: abbrevVersions,
  };
  const full = [...rewrites.values()].includes('') ? undefined : rewriteTarballs(raw, rewrites);
  const { times, newest } = publishTimes(doc, versions);
  return {
    variants: {
      full: { body: full ?? serialised(doc, ctx), mediaType: FULL_TYPE },
      abbrev: { body: Buffer.from(JSON.stringify(abbrev)), mediaType: ABBREV_TYPE },
      dist: { body: Buffer.from(JSON.stringify(dist)), mediaType: 'application/json' },
      time: { body: Buffer.from(JSON.stringify(times)), mediaType: 'application/json' },
    },
    meta: { versions: Object.keys(versions).length, ...(newest !== undefined ? { newest } : {}) },
  };
}

/** Each version's publish time (ms; null without one) from `time`, and the newest, for the policy's age gate. */
function publishTimes(doc: Json, versions: Json): { times: Record<string, number | null>; newest: number | undefined } {
  const time = isObject(doc.time) ? doc.time : {};
  const times: Record<string, number | null> = {};
  let newest: number | undefined;
  for (const v of Object.keys(versions)) {
    const t = typeof time[v] === 'string' ? Date.parse(time[v]) : Number.NaN;
    times[v] = Number.isFinite(t) ? t : null;
    if (Number.isFinite(t) && (newest === undefined || t > newest)) newest = t;
  }
  return { times, newest };
}

/** The full form serialised from the parsed document, tarball URLs rewritten (when the bytes cannot be rewritten in place). */
function serialised(doc: Json, ctx: DeriveContext): Buffer {
  for (const manifest of Object.values((doc.versions ?? {}) as Json)) {
    if (!isObject(manifest) || !isObject(manifest.dist) || typeof manifest.dist.tarball !== 'string') continue;
    const file = tarballFile(manifest.dist.tarball);
    if (isTarballFile(file)) manifest.dist.tarball = `${ctx.mirrorBase}${ctx.name}/-/${file}`;
  }
  return Buffer.from(JSON.stringify(doc));
}

/** Whether the client asked for the abbreviated form (npm/pnpm/yarn install Accept). */
export function wantsAbbreviated(accept: string | undefined): boolean {
  return accept?.includes(ABBREV_TYPE) === true;
}
