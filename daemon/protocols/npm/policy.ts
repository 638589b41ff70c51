/**
 * The supply-chain policy on npm: which versions of a packument a client
 * must not see (held back by the age gate, or blocklisted), the packument
 * without them, and the refusal of a direct request for one. Held-back and
 * blocked versions go to `policyRestrictions` (npm-pick-manifest's field):
 * `npm install foo@<held>` then fails with E403 and our message rather than
 * a bare "No matching version". The fast path asks nothing per version:
 * when the newest version is older than the age gate and no record lists the
 * package, the cached forms are served as they are.
 */
import type { DocumentCache, ServedDocument } from '../../core/document-cache.js';
import { compareVersions, type Decision, isPrerelease, type PolicyDecider, policyRefusal, SIGNATURE_ID } from '../../core/policy/index.js';
import type { NpmSignatures } from './signatures.js';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The OSV ecosystem of npm packages. */
const ECOSYSTEM = 'npm';

/** Versions a client must not be served, with the decision for each. */
export type Withheld = Map<string, Decision>;

/** Filtered forms kept in memory, by ETag (a withheld set changes only as versions age in). */
const FILTERED_KEPT = 64;

type Times = Record<string, number | null>;

export class NpmPolicy {
  private readonly filteredForms = new Map<string, Buffer>();
  /** Parsed `time` forms by digest, the recently used ones. */
  private readonly parsedTimes = new Map<string, Times>();
  private readonly newestFirst = new Map<string, [string, number][]>();

  constructor(
    private readonly policy: PolicyDecider,
    private readonly documents: DocumentCache,
    private readonly signatures?: NpmSignatures,
  ) {}

  /** Versions whose registry signature does not hold, as decisions (only under `npmSignatures: require`). */
  private async unsigned(remote: string, name: string, served: ServedDocument): Promise<Withheld> {
    if (this.signatures?.mode !== 'require') return new Map();
    const problems = await this.signatures.problems(remote, name, served);
    return new Map([...problems].map(([v, why]) => [v, { verdict: 'blocked', id: SIGNATURE_ID, summary: why } as const]));
  }

  /** Refuses (require) or counts (warn) a version whose registry signature does not hold. */
  private async checkSignature(remote: string, name: string, version: string, load: () => Promise<ServedDocument>): Promise<void> {
    if (!this.signatures || this.signatures.mode === 'off') return;
    const why = (await this.signatures.problems(remote, name, await load())).get(version);
    if (why === undefined) return;
    const message = `${name}@${version}: ${why}`;
    if (this.signatures.mode === 'warn')
      return this.policy.count(
        remote,
        { verdict: 'allowed', warning: SIGNATURE_ID },
        { name, version, message: `${message} (served: npmSignatures warn)` },
      );
    const d: Decision = { verdict: 'blocked', id: SIGNATURE_ID, summary: why };
    const sentence = this.explain(name, version, d);
    this.policy.count(remote, d, { name, version, message: sentence });
    throw policyRefusal(sentence, d);
  }

  /** Whether some version of the packument could be withheld (false: serve the cached forms as they are). */
  private mayWithhold(remote: string, name: string, served: ServedDocument): boolean {
    if (this.policy.listed(ECOSYSTEM, name)) return true;
    const minAge = this.policy.minAgeMs('npm', remote, name);
    if (minAge === 0) return false;
    const newest = served.entry.meta?.newest;
    return typeof newest !== 'number' || this.policy.now() - newest < minAge;
  }

  /** The publish time of every version (null: the packument has none), from the derived `time` form. */
  private async times(served: ServedDocument): Promise<Times> {
    const ref = served.entry.variants?.time;
    if (!ref) return {};
    // The form is content-addressed: its parse is kept by digest, so a filtered hit does not parse it again.
    const kept = this.parsedTimes.get(ref.digest);
    if (kept) return kept;
    const times = JSON.parse((await this.documents.variant(ref)).toString('utf8')) as Times;
    this.parsedTimes.set(ref.digest, times);
    if (this.parsedTimes.size > FILTERED_KEPT) {
      const first = this.parsedTimes.keys().next().value as string;
      this.parsedTimes.delete(first);
      this.newestFirst.delete(first);
    }
    return times;
  }

  /** The versions that have a publish time, newest first (kept beside the parsed form). */
  private async byAge(served: ServedDocument): Promise<[string, number][]> {
    const digest = served.entry.variants?.time?.digest;
    const kept = digest === undefined ? undefined : this.newestFirst.get(digest);
    if (kept) return kept;
    const entries = Object.entries(await this.times(served)).filter((e): e is [string, number] => e[1] !== null);
    entries.sort((a, b) => b[1] - a[1]);
    if (digest !== undefined && this.parsedTimes.has(digest)) this.newestFirst.set(digest, entries);
    return entries;
  }

  /** Whether no version of this packument can be withheld (what a mirror without a policy answers at once, not awaiting). */
  leavesWhole(remote: string, name: string, served: ServedDocument): boolean {
    return this.signatures?.mode !== 'require' && !this.mayWithhold(remote, name, served);
  }

  /** Whether no version of `name` can be refused: no signature check, not blocklisted, no minimum age. */
  allowsAll(remote: string, name: string): boolean {
    return (
      (!this.signatures || this.signatures.mode === 'off') &&
      !this.policy.listed(ECOSYSTEM, name) &&
      this.policy.minAgeMs('npm', remote, name) === 0
    );
  }

  /** The versions to withhold, or undefined when there are none. */
  async withheld(remote: string, name: string, served: ServedDocument): Promise<Withheld | undefined> {
    const out = await this.unsigned(remote, name, served);
    if (!this.mayWithhold(remote, name, served)) return out.size ? out : undefined;
    // Without a record naming the package, only versions younger than the age gate can be withheld: the others
    // are not asked one by one (a packument has hundreds of versions, a few of them young).
    const ask = (version: string, t: number | null): void => {
      const d = this.policy.decide({ protocol: 'npm', ecosystem: ECOSYSTEM, remote, name, version, published: t ?? undefined });
      if (d.verdict !== 'allowed') out.set(version, d);
    };
    if (this.policy.listed(ECOSYSTEM, name)) {
      for (const [version, t] of Object.entries(await this.times(served))) ask(version, t);
    } else {
      const oldest = this.policy.now() - this.policy.minAgeMs('npm', remote, name);
      for (const [version, t] of await this.byAge(served)) {
        if (t <= oldest) break;
        ask(version, t);
      }
    }
    return out.size ? out : undefined;
  }

  /** Refuses a withheld version (403, npm's `{"error"}` body naming the policy, the version and when it is allowed). */
  async check(remote: string, name: string, version: string, load: () => Promise<ServedDocument>): Promise<void> {
    await this.checkSignature(remote, name, version, load);
    const listed = this.policy.listed(ECOSYSTEM, name);
    const minAge = this.policy.minAgeMs('npm', remote, name);
    if (!listed && minAge === 0) return;
    let published: number | undefined;
    if (minAge > 0) {
      const served = await load();
      if (this.mayWithhold(remote, name, served)) published = (await this.times(served))[version] ?? undefined;
    }
    const d = this.policy.decide({ protocol: 'npm', ecosystem: ECOSYSTEM, remote, name, version, published });
    this.policy.count(remote, d, { name, version });
    if (d.verdict !== 'allowed') throw policyRefusal(this.policy.explain({ name, version }, d), d);
  }

  /** A filtered form by its ETag, made once while it stays among the recently used. */
  filtered(etag: string, make: () => Buffer): Buffer {
    let body = this.filteredForms.get(etag);
    if (body) this.filteredForms.delete(etag);
    else body = make();
    this.filteredForms.set(etag, body);
    if (this.filteredForms.size > FILTERED_KEPT) this.filteredForms.delete(this.filteredForms.keys().next().value as string);
    return body;
  }

  /** The sentence for one withheld version. */
  explain(name: string, version: string, d: Decision): string {
    if (d.verdict === 'blocked' && d.id === SIGNATURE_ID) {
      return `${name}@${version} ${d.summary}: refused by the Larder policy npmSignatures: require`;
    }
    return this.policy.explain({ name, version }, d);
  }
}

/** The version a tarball file name carries (`foo-1.2.3.tgz` of `foo` or `@s/foo`), if it has that form. */
export function tarballVersion(name: string, file: string): string | undefined {
  const base = `${name.slice(name.lastIndexOf('/') + 1)}-`;
  return file.startsWith(base) && file.endsWith('.tgz') ? file.slice(base.length, -'.tgz'.length) : undefined;
}

/**
 * A packument (full or abbreviated) without the withheld versions: `versions`
 * and `time` drop them, a dist-tag naming one moves to the newest allowed
 * version below it (a release tag only to a release), and
 * `policyRestrictions` lists them with one message.
 */
export function withholdVersions(doc: Json, withheld: Withheld, explain: (version: string, d: Decision) => string): Json {
  const versions: Json = { ...(isObject(doc.versions) ? doc.versions : {}) };
  const restricted: Json = {};
  const lines: string[] = [];
  for (const [v, d] of withheld) {
    if (!Object.hasOwn(versions, v)) continue;
    delete versions[v];
    restricted[v] = { name: doc.name, version: v };
    lines.push(explain(v, d));
  }
  const tags: Json = {};
  const allowed = Object.keys(versions).sort(compareVersions);
  for (const [tag, v] of Object.entries(isObject(doc['dist-tags']) ? doc['dist-tags'] : {})) {
    if (typeof v !== 'string' || !withheld.has(v)) {
      tags[tag] = v;
      continue;
    }
    const pre = isPrerelease(v);
    const to = allowed.filter((x) => compareVersions(x, v) < 0 && (pre || !isPrerelease(x))).pop();
    if (to !== undefined) tags[tag] = to;
  }
  const out: Json = { ...doc, 'dist-tags': tags, versions };
  if (isObject(doc.time)) out.time = Object.fromEntries(Object.entries(doc.time).filter(([k]) => !withheld.has(k)));
  if (lines.length) out.policyRestrictions = { message: lines.join('\n'), versions: restricted };
  return out;
}
