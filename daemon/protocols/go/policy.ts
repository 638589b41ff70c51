/**
 * The supply-chain policy on the Go module proxy: a version's publish time
 * is its `.info` `Time`. `@v/list` leaves held-back and blocked versions
 * out, `@latest` answers the newest allowed version's `.info`, and a direct
 * `.info`/`.mod`/`.zip` request for one is refused with 403 and the
 * policy's sentence. 403, not 404/410: on 404/410 the go command tries the
 * next proxy in GOPROXY (often `direct`), which would bypass the policy; on
 * 403 it stops and prints the body.
 */
import { compareVersions, type Decision, isPrerelease, type PolicyDecider, policyRefusal } from '../../core/policy/index.js';

/** The OSV ecosystem of Go modules. */
const ECOSYSTEM = 'Go';

/** Reads a canonical version's `.info` `Time` (ms), undefined when it has none. */
export type PublishTime = (version: string) => Promise<number | undefined>;

const bare = (v: string): string => v.replace(/^v/, '');

export class GoPolicy {
  constructor(private readonly policy: PolicyDecider) {}

  /** Whether any version of the module could be withheld (false: serve as it is). */
  active(remote: string, module: string): boolean {
    return this.policy.listed(ECOSYSTEM, module) || this.policy.minAgeMs('go', remote, module) > 0;
  }

  async decide(remote: string, module: string, version: string, time: PublishTime): Promise<Decision> {
    const published = this.policy.minAgeMs('go', remote, module) > 0 ? await time(version).catch(() => undefined) : undefined;
    return this.policy.decide({ protocol: 'go', ecosystem: ECOSYSTEM, remote, name: module, version, published });
  }

  /** The `@v/list` body without withheld versions. */
  async filterList(remote: string, module: string, body: Buffer, time: PublishTime): Promise<Buffer> {
    const kept: string[] = [];
    for (const v of body
      .toString('utf8')
      .split('\n')
      .map((l) => l.trim())) {
      if (v && (await this.decide(remote, module, v, time)).verdict === 'allowed') kept.push(v);
    }
    return Buffer.from(kept.map((v) => `${v}\n`).join(''));
  }

  /** The newest allowed version of a filtered list (a release before any pre-release), if any. */
  newest(list: Buffer): string | undefined {
    const all = list.toString('utf8').split('\n').filter(Boolean);
    const sorted = all.sort((a, b) => compareVersions(bare(a), bare(b)));
    const releases = sorted.filter((v) => !isPrerelease(bare(v)));
    return (releases.length ? releases : sorted).pop();
  }

  /** Refuses a withheld version (403 with the policy's sentence). */
  async check(remote: string, module: string, version: string, time: PublishTime): Promise<void> {
    if (!this.active(remote, module)) return;
    const d = await this.decide(remote, module, version, time);
    this.policy.count(remote, d, { name: module, version });
    if (d.verdict === 'allowed') return;
    throw policyRefusal(this.policy.explain({ name: module, version }, d), d);
  }
}

/** The `Time` of a `.info` body in ms, undefined when absent or not a time. */
export function infoTime(body: Buffer): number | undefined {
  try {
    const t = (JSON.parse(body.toString('utf8')) as { Time?: unknown }).Time;
    const ms = typeof t === 'string' ? Date.parse(t) : Number.NaN;
    return Number.isFinite(ms) ? ms : undefined;
  } catch {
    return undefined;
  }
}
