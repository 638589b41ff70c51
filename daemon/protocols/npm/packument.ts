/**
 * Packument derivation, done once per upstream change: tarball URLs are
 * rewritten to absolute mirror URLs at upstream-identical paths, the
 * abbreviated ("corgi") form is cut from the full one, and a small map of
 * tarball file → upstream URL + digests is kept for tarball misses.
 * `integrity`, `shasum`, `signatures` and `attestations` are never touched.
 */
import { LarderError } from '../../core/errors.js';
import type { Derived } from '../../core/document-cache.js';

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
  for (const [v, manifest] of Object.entries(versions)) {
    if (!isObject(manifest)) continue;
    const d = manifest.dist;
    if (isObject(d) && typeof d.tarball === 'string') {
      const file = tarballFile(d.tarball);
      if (file && /^[A-Za-z0-9_~-][A-Za-z0-9._~+-]*\.tgz$/.test(file)) {
        const info: DistInfo = { u: ctx.owns(d.tarball) ? d.tarball : ctx.conventional(ctx.name, file) };
        if (typeof d.integrity === 'string') info.i = d.integrity;
        if (typeof d.shasum === 'string') info.s = d.shasum;
        dist[file] = info;
        d.tarball = `${ctx.mirrorBase}${ctx.name}/-/${file}`;
      }
    }
    const a: Json = {};
    for (const f of ABBREV_VERSION_FIELDS) if (manifest[f] !== undefined) a[f] = manifest[f];
    abbrevVersions[v] = a;
  }
  const abbrev: Json = {
    name: doc.name ?? ctx.name,
    modified: doc.modified ?? (isObject(doc.time) ? doc.time.modified : undefined),
    'dist-tags': doc['dist-tags'] ?? {},
    versions: abbrevVersions,
  };
  return {
    variants: {
      full: { body: Buffer.from(JSON.stringify(doc)), mediaType: FULL_TYPE },
      abbrev: { body: Buffer.from(JSON.stringify(abbrev)), mediaType: ABBREV_TYPE },
      dist: { body: Buffer.from(JSON.stringify(dist)), mediaType: 'application/json' },
    },
    meta: { versions: Object.keys(versions).length },
  };
}

/** Whether the client asked for the abbreviated form (npm/pnpm/yarn install Accept). */
export function wantsAbbreviated(accept: string | undefined): boolean {
  return accept?.includes(ABBREV_TYPE) === true;
}
