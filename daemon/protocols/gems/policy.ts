/**
 * The supply-chain policy on RubyGems. The compact index carries no publish
 * time, so with an age gate a version's time is its `created_at` from the
 * RubyGems API (`/api/v1/versions/<gem>.json`, one cached document per gem;
 * an upstream without that API has no times and is not age-gated, the
 * blocklist still applies). Lines of held-back and blocked versions are left
 * out of `/info/<gem>` (its md5 ETag is that of the served lines, so Bundler's
 * checks hold; the md5 `/versions` lists then differs and Bundler simply
 * fetches the info file again). A direct `.gem` request for one is refused
 * with 403 and the policy's sentence as plain text. `/versions`, `/names`
 * and the full index (`specs.4.8.gz`, `quick/`) are served unfiltered.
 */
import { createHash } from 'node:crypto';
import { toLarderError } from '../../core/errors.js';
import { type Decision, type PolicyDecider, policyRefusal } from '../../core/policy/index.js';
import type { InfoLine } from './compact.js';

/** The OSV ecosystem of gems. */
export const GEMS_ECOSYSTEM = 'RubyGems';

/** Reads the publish times of a gem's versions (`<version>[-<platform>]` → ms). */
export type GemTimes = () => Promise<Record<string, number>>;

export class GemsPolicy {
  constructor(private readonly policy: PolicyDecider) {}

  /** Whether some version of the gem could be withheld (false: serve the index as it is). */
  active(remote: string, name: string): boolean {
    return this.policy.listed(GEMS_ECOSYSTEM, name) || this.policy.minAgeMs('gems', remote, name) > 0;
  }

  /** Publish times, when the age gate applies and the upstream has them (else none: the gate is skipped). */
  private async timesFor(remote: string, name: string, times: GemTimes): Promise<Record<string, number>> {
    if (this.policy.minAgeMs('gems', remote, name) === 0) return {};
    // Only an upstream without the API (404) has no times; any other failure fails the request, not the gate open.
    return times().catch((err: unknown) => {
      if (toLarderError(err).code === 'E_NOT_FOUND') return {};
      throw err;
    });
  }

  private decide(remote: string, name: string, line: InfoLine, times: Record<string, number>): Decision {
    const published = times[line.full] ?? times[line.version];
    const pinRef = `gems:${name}@${line.full}`;
    return this.policy.decide({ protocol: 'gems', ecosystem: GEMS_ECOSYSTEM, remote, name, version: line.version, published, pinRef });
  }

  /** The info file without the lines of withheld versions, or undefined when none is withheld. */
  async filterInfo(remote: string, name: string, body: Buffer, lines: InfoLine[], times: GemTimes): Promise<Buffer | undefined> {
    const t = await this.timesFor(remote, name, times);
    const withheld = new Set(lines.filter((l) => this.decide(remote, name, l, t).verdict !== 'allowed').map((l) => l.full));
    if (withheld.size === 0) return undefined;
    const kept = body
      .toString('utf8')
      .split('\n')
      .filter((l) => !withheld.has(l.slice(0, l.indexOf(' '))));
    return Buffer.from(kept.join('\n'));
  }

  /** Refuses a `.gem` of a withheld version (403, plain text, the policy's sentence). */
  async check(remote: string, name: string, line: InfoLine, times: GemTimes): Promise<void> {
    const d = this.decide(remote, name, line, await this.timesFor(remote, name, times));
    this.policy.count(remote, d, { name, version: line.full });
    if (d.verdict === 'allowed') return;
    throw policyRefusal(this.policy.explain({ name, version: line.full }, d), d);
  }
}

export const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');
