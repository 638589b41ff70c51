/**
 * The policy side of the admin API: `GET /policy` (the config in force,
 * counted refusals, the loaded OSV records, the quarantine) and
 * `GET /policy/explain?ref=…` (why one version is or is not served: allowed,
 * held back until when, blocked by which record, let through by a pin). The
 * protocol reads the version's publish time from its cached metadata.
 */
import type { PolicyConfig } from '../config/policy.js';
import { LarderError } from '../core/errors.js';
import { type Policy, shortDuration } from '../core/policy/index.js';
import type { PolicyHooks } from '../protocols/contract.js';
import type { PolicyExplanation, PolicyRecord, PolicyStatus } from './contract.js';
import type { PolicyQuarantine } from './policy-quarantine.js';

export interface PolicyAdminDeps {
  policy: Policy;
  config: PolicyConfig;
  hooks: ReadonlyMap<string, PolicyHooks>;
  quarantine: PolicyQuarantine;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const duration = (ms: number): string => (ms > 0 ? shortDuration(ms) : '0');

export class PolicyAdmin {
  constructor(private readonly d: PolicyAdminDeps) {}

  /** The loaded OSV records, one row per record id. */
  records(): PolicyRecord[] {
    const byId = new Map<string, PolicyRecord>();
    for (const [ecosystem, name, e] of this.d.policy.blocklist.entries()) {
      const r = byId.get(e.id) ?? { id: e.id, summary: e.summary, affected: [] };
      byId.set(e.id, r);
      r.affected.push({ ecosystem, name, versions: [...e.affected.versions], ranges: e.affected.ranges.length });
    }
    return [...byId.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  status(): PolicyStatus {
    const c = this.d.config;
    const remotes: PolicyStatus['remotes'] = {};
    for (const [name, r] of Object.entries(c.remotes)) {
      remotes[name] = {
        ...(r.minAge !== undefined ? { minAgeMs: r.minAge } : {}),
        ...(r.exclude ? { exclude: [...r.exclude] } : {}),
        ...(r.onBlocked ? { onBlocked: r.onBlocked } : {}),
      };
    }
    return {
      minAge: duration(c.minAge),
      minAgeMs: c.minAge,
      exclude: [...c.exclude],
      onBlocked: c.onBlocked,
      remotes,
      blocklist: { ...(c.blocklist.osv ? { folder: c.blocklist.osv } : {}), ids: [...c.blocklist.ids], records: this.records() },
      counts: this.d.policy.counts(),
      recent: this.d.policy.recent(),
      quarantined: this.d.quarantine.list(),
    };
  }

  async explain(ref: string): Promise<PolicyExplanation> {
    const colon = ref.indexOf(':');
    const protocol = colon > 0 ? ref.slice(0, colon) : '';
    const hooks = this.d.hooks.get(protocol);
    if (!hooks) {
      const known = [...this.d.hooks.keys()].map((p) => `${p}:`).join(', ');
      throw new LarderError(
        'E_BAD_REQUEST',
        `cannot explain ${JSON.stringify(ref.slice(0, 200))}: expected a reference of ${known || 'no protocol'}`,
      );
    }
    const s = await hooks.subject(ref);
    const policy = this.d.policy;
    const pinned = policy.pinned(protocol, s.name, s.version, s.pinRef);
    const d = policy.decide({
      protocol,
      ecosystem: hooks.ecosystem,
      remote: s.remote,
      name: s.name,
      version: s.version,
      published: s.published,
      pinned,
    });
    const gate = policy.minAgeMs(protocol, s.remote, s.name);
    const hit = policy.blocklist.match(hooks.ecosystem, s.name, s.version);
    const quarantined = d.verdict === 'blocked' ? await this.d.quarantine.keys(protocol, s.keys) : [];
    const keys = new Set(s.keys);
    const out: PolicyExplanation = {
      ref,
      protocol,
      remote: s.remote,
      name: s.name,
      version: s.version,
      verdict: d.verdict,
      minAge: duration(gate),
      pinned,
      quarantined: [
        ...quarantined,
        ...this.d.quarantine.list().filter((q) => keys.has(q.key) && !quarantined.some((x) => x.key === q.key)),
      ],
      message: policy.explain({ name: s.name, version: s.version }, d),
    };
    if (s.published !== undefined) out.published = iso(s.published);
    if (gate > 0 && s.published !== undefined) out.until = iso(s.published + gate);
    if (hit) out.osv = { id: hit.id, summary: hit.summary };
    if (d.verdict === 'allowed') out.because = d.because ?? (gate > 0 ? 'old-enough' : 'no-age-gate');
    return out;
  }
}
