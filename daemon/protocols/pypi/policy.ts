/**
 * The supply-chain policy on PyPI: a version's publish time is the earliest
 * PEP 700 `upload-time` of its files (JSON pages only; an upstream that gives
 * HTML pages has no publish times, so the age gate cannot apply there, while
 * the blocklist still does, by the version read from each file name). Files
 * of held-back or blocked versions are left out of both served forms of a
 * page, and a direct request for one is refused (403, plain text, the
 * policy's sentence). The fast path asks nothing per version: when the
 * newest upload is older than the age gate and no record lists the project,
 * the cached forms are served as they are.
 */
import type { ServedDocument } from '../../core/document-cache.js';
import { type Decision, type PolicyDecider, policyRefusal } from '../../core/policy/index.js';
import { canonicalVersion, isFileOfVersion } from './filenames.js';
import { normalizeName } from './names.js';
import { fromJson } from './page-model.js';
import { projectHtml } from './render.js';

/** The OSV ecosystem of PyPI projects. */
const ECOSYSTEM = 'PyPI';
const SDIST_EXT = ['.tar.gz', '.tar.bz2', '.tar.xz', '.tgz', '.zip', '.tar'];

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Withheld versions (canonical form) with the decision for each. */
export type Withheld = Map<string, Decision>;

/** The version a wheel or sdist file name of `project` carries, as written; undefined if it has neither form. */
export function fileVersion(filename: string, project: string): string | undefined {
  const name = normalizeName(project);
  if (filename.toLowerCase().endsWith('.whl')) {
    const parts = filename.slice(0, -'.whl'.length).split('-');
    return (parts.length === 5 || parts.length === 6) && normalizeName(parts[0]!) === name ? parts[1]!.replace(/_/g, '-') : undefined;
  }
  const ext = SDIST_EXT.find((e) => filename.toLowerCase().endsWith(e));
  if (!ext) return undefined;
  const stem = filename.slice(0, -ext.length);
  for (let i = stem.indexOf('-'); i > 0; i = stem.indexOf('-', i + 1)) {
    const v = stem.slice(i + 1);
    if (normalizeName(stem.slice(0, i)) === name && isFileOfVersion(filename, project, v)) return v;
  }
  return undefined;
}

/** Each version of a served JSON page: as written in its first file, and its earliest upload time. */
function versionsOf(doc: Json, project: string): Map<string, { version: string; published?: number }> {
  const out = new Map<string, { version: string; published?: number }>();
  for (const f of Array.isArray(doc.files) ? doc.files : []) {
    if (!isObject(f) || typeof f.filename !== 'string') continue;
    const version = fileVersion(f.filename, project);
    if (version === undefined) continue;
    const key = canonicalVersion(version);
    const t = typeof f['upload-time'] === 'string' ? Date.parse(f['upload-time']) : Number.NaN;
    const v = out.get(key) ?? { version };
    if (Number.isFinite(t) && (v.published === undefined || t < v.published)) v.published = t;
    out.set(key, v);
  }
  return out;
}

/** A version's earliest upload time and its files, from a page's served JSON form (for `larder policy explain`). */
export function versionFiles(json: Buffer, project: string, version: string): { published?: number; files: string[] } {
  const doc = JSON.parse(json.toString('utf8')) as Json;
  const key = canonicalVersion(version);
  const files = (Array.isArray(doc.files) ? doc.files : [])
    .filter((f): f is Json & { filename: string } => isObject(f) && typeof f.filename === 'string')
    .map((f) => f.filename)
    .filter((n) => {
      const v = fileVersion(n, project);
      return v !== undefined && canonicalVersion(v) === key;
    });
  const published = versionsOf(doc, project).get(key)?.published;
  return published === undefined ? { files } : { published, files };
}

export class PypiPolicy {
  constructor(private readonly policy: PolicyDecider) {}

  /** Whether some version of the page could be withheld (false: serve the cached forms as they are). */
  mayWithhold(remote: string, project: string, served: ServedDocument): boolean {
    if (this.policy.listed(ECOSYSTEM, project)) return true;
    const minAge = this.policy.minAgeMs('pypi', remote, project);
    const newest = served.entry.meta?.newest;
    return minAge > 0 && typeof newest === 'number' && this.policy.now() - newest < minAge;
  }

  private decide(remote: string, project: string, version: string, published: number | undefined): Decision {
    // PyPI pins are written `pypi:<project>==<version>`.
    const pinRef = `pypi:${project}==${version}`;
    return this.policy.decide({ protocol: 'pypi', ecosystem: ECOSYSTEM, remote, name: project, version, published, pinRef });
  }

  /** The versions of a page (its served JSON form) to withhold, or undefined when there are none. */
  withheld(remote: string, project: string, json: Buffer): Withheld | undefined {
    const out: Withheld = new Map();
    for (const [key, v] of versionsOf(JSON.parse(json.toString('utf8')) as Json, project)) {
      const d = this.decide(remote, project, v.version, v.published);
      if (d.verdict !== 'allowed') out.set(key, d);
    }
    return out.size ? out : undefined;
  }

  /** Refuses a file of a withheld version (403 with the policy's sentence); `json` loads the page's served JSON form. */
  async check(remote: string, project: string, filename: string, json: () => Promise<Buffer>): Promise<void> {
    const listed = this.policy.listed(ECOSYSTEM, project);
    const minAge = this.policy.minAgeMs('pypi', remote, project);
    if (!listed && minAge === 0) return;
    const version = fileVersion(filename, project);
    if (version === undefined) return;
    const published =
      minAge > 0
        ? versionsOf(JSON.parse((await json()).toString('utf8')) as Json, project).get(canonicalVersion(version))?.published
        : undefined;
    const d = this.decide(remote, project, version, published);
    this.policy.count(remote, d, { name: project, version });
    if (d.verdict === 'allowed') return;
    throw policyRefusal(this.policy.explain({ name: project, version }, d), d);
  }
}

/** Both forms of a page without the files of withheld versions, from its served JSON form. */
export function withholdFiles(json: Buffer, project: string, withheld: Withheld): { json: Buffer; html: Buffer } {
  const doc = JSON.parse(json.toString('utf8')) as Json;
  const files = (Array.isArray(doc.files) ? doc.files : []).filter((f) => {
    if (!isObject(f) || typeof f.filename !== 'string') return true;
    const v = fileVersion(f.filename, project);
    return v === undefined || !withheld.has(canonicalVersion(v));
  });
  const out = { ...doc, files };
  const pyFiles = fromJson(out, 'http://invalid/').map((f): [typeof f, string] => [f, f.url]);
  return { json: Buffer.from(JSON.stringify(out)), html: projectHtml(project, pyFiles) };
}
