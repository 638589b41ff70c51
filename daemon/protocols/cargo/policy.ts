/**
 * The supply-chain policy on the Cargo sparse index. A version's publish
 * time is its index line's `pubtime` (crates.io writes it on lines of new
 * publishes; a line without one is not age-gated, the blocklist still
 * applies). Lines of held-back and blocked versions are left out of the
 * served index file (cargo then resolves to the newest allowed version, and
 * a `=<withheld>` requirement fails to resolve), and a direct `.crate`
 * request for one is refused with 403 in cargo's error format, naming the
 * policy and the version. Fast path: when the newest `pubtime` is older
 * than the age gate and no record names the crate, the cached bytes are
 * served as they are.
 */
import { createHash } from 'node:crypto';
import { type Decision, type PolicyDecider, policyRefusal } from '../../core/policy/index.js';
import type { CrateVersions } from './index-file.js';

/** The OSV ecosystem of crates. */
export const CARGO_ECOSYSTEM = 'crates.io';
/** Filtered index files kept in memory, by ETag. */
const FILTERED_KEPT = 64;

export class CargoPolicy {
  private readonly filtered = new Map<string, Buffer>();

  constructor(private readonly policy: PolicyDecider) {}

  /** Whether some version could be withheld (false: serve the index file as it is). */
  mayWithhold(remote: string, crate: string, newest: unknown): boolean {
    if (this.policy.listed(CARGO_ECOSYSTEM, crate)) return true;
    const minAge = this.policy.minAgeMs('cargo', remote, crate);
    return minAge > 0 && typeof newest === 'number' && newest > 0 && this.policy.now() - newest < minAge;
  }

  decide(remote: string, name: string, version: string, published: number | undefined): Decision {
    return this.policy.decide({ protocol: 'cargo', ecosystem: CARGO_ECOSYSTEM, remote, name, version, published });
  }

  /** The versions to withhold, with their decisions. */
  withheld(remote: string, v: CrateVersions): Map<string, Decision> {
    const out = new Map<string, Decision>();
    for (const version of Object.keys(v.cksums)) {
      const d = this.decide(remote, v.name, version, v.published[version]);
      if (d.verdict !== 'allowed') out.set(version, d);
    }
    return out;
  }

  /** The index file without the lines of withheld versions, and its ETag (the cached one, marked with the withheld set). */
  filter(raw: Buffer, etag: string, withheld: ReadonlyMap<string, Decision>): { body: Buffer; etag: string } {
    const h = createHash('sha256')
      .update([...withheld.keys()].join('\n'))
      .digest('hex')
      .slice(0, 12);
    const tag = `${etag.replace(/"$/, '')}-policy-${h}"`;
    const kept = this.filtered.get(tag);
    if (kept) return { body: kept, etag: tag };
    const lines = raw
      .toString('utf8')
      .split('\n')
      .filter((line) => {
        if (!line.trim()) return false;
        try {
          const vers = (JSON.parse(line) as { vers?: unknown }).vers;
          return typeof vers !== 'string' || !withheld.has(vers);
        } catch {
          return true;
        }
      });
    const body = Buffer.from(lines.map((l) => `${l}\n`).join(''));
    if (this.filtered.size >= FILTERED_KEPT) this.filtered.delete(this.filtered.keys().next().value as string);
    this.filtered.set(tag, body);
    return { body, etag: tag };
  }

  /** Refuses a `.crate` of a withheld version (403, cargo's error format, the policy's sentence). */
  async check(remote: string, crate: string, version: string, versions: () => Promise<CrateVersions>): Promise<void> {
    if (!this.policy.listed(CARGO_ECOSYSTEM, crate) && this.policy.minAgeMs('cargo', remote, crate) === 0) return;
    const v = await versions();
    if (!Object.hasOwn(v.cksums, version)) return;
    const d = this.decide(remote, v.name, version, v.published[version]);
    this.policy.count(remote, d, { name: v.name, version });
    if (d.verdict === 'allowed') return;
    throw policyRefusal(this.policy.explain({ name: v.name, version }, d), d);
  }
}
