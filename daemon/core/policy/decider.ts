/**
 * The policy decision: blocklist first (it binds pinned and cached versions
 * too), then the age gate (pins, excluded names and versions without a
 * publish time pass it). Rules are the global ones with a remote's
 * overrides on top. Counts what was refused, for `/metrics`.
 */
import type { Clock } from '../ports.js';
import type { Blocklist } from './osv.js';
import type {
  Decision,
  PolicyCount,
  PolicyDecider,
  PolicyEvent,
  PolicyQuery,
  PolicyRules,
  PolicySettings,
  PolicySubjectRef,
} from './types.js';
import { SIGNATURE_ID } from './types.js';

/** Recent refusals kept for the dashboard. */
const RECENT_KEPT = 200;

export const POLICY_OFF: PolicySettings = { minAgeMs: 0, exclude: [], onBlocked: 'refuse', remotes: {} };

/** Whether a name matches an exclude pattern: `*` is any run of characters; `proto:` narrows to one protocol. */
export function excluded(patterns: readonly string[], protocol: string, name: string): boolean {
  return patterns.some((p) => {
    const colon = p.indexOf(':');
    const scoped = colon > 0 && !p.startsWith('@') && /^[a-z]+$/.test(p.slice(0, colon));
    if (scoped && p.slice(0, colon) !== protocol) return false;
    const glob = scoped ? p.slice(colon + 1) : p;
    const re = new RegExp(`^${glob.split('*').map(escapeRegExp).join('.*')}$`);
    return re.test(name);
  });
}

function escapeRegExp(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\/]/g, '\\$&');
}

/** "7d", "36h", "90m": a short form of a duration for messages. */
export function shortDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${Math.round(ms / 1000)}s`;
}

export class Policy implements PolicyDecider {
  private readonly tally = new Map<string, number>();
  private readonly recentEvents: PolicyEvent[] = [];
  /** Told of every counted refusal or warning (the composition root feeds `/metrics`). */
  onCount: ((remote: string, reason: PolicyCount['reason']) => void) | undefined;
  /** Set by the composition root once the pin manager exists. */
  pinnedBy: ((ref: string) => boolean) | undefined;

  constructor(
    private readonly settings: PolicySettings,
    readonly blocklist: Blocklist,
    private readonly clock: Clock,
  ) {}

  now(): number {
    return this.clock.now();
  }

  rules(remote: string): PolicyRules {
    const o = this.settings.remotes[remote] ?? {};
    return {
      minAgeMs: o.minAgeMs ?? this.settings.minAgeMs,
      exclude: [...this.settings.exclude, ...(o.exclude ?? [])],
      onBlocked: o.onBlocked ?? this.settings.onBlocked,
    };
  }

  minAgeMs(protocol: string, remote: string, name: string): number {
    const r = this.rules(remote);
    return r.minAgeMs > 0 && !excluded(r.exclude, protocol, name) ? r.minAgeMs : 0;
  }

  listed(ecosystem: string, name: string): boolean {
    return this.blocklist.listed(ecosystem, name);
  }

  pinned(protocol: string, name: string, version: string, ref = `${protocol}:${name}@${version}`): boolean {
    try {
      return this.pinnedBy?.(ref) === true;
    } catch {
      return false;
    }
  }

  decide(q: PolicyQuery): Decision {
    const rules = this.rules(q.remote);
    const hit = q.ecosystem === undefined ? undefined : this.blocklist.match(q.ecosystem, q.name, q.version);
    if (hit && rules.onBlocked === 'refuse') return { verdict: 'blocked', id: hit.id, summary: hit.summary };
    const warning = hit ? { warning: hit.id } : {};
    if (rules.minAgeMs <= 0) return { verdict: 'allowed', ...warning };
    if (excluded(rules.exclude, q.protocol, q.name)) return { verdict: 'allowed', because: 'excluded', ...warning };
    if (q.published === undefined || !Number.isFinite(q.published)) return { verdict: 'allowed', because: 'no-publish-time', ...warning };
    const until = q.published + rules.minAgeMs;
    if (until <= this.clock.now()) return { verdict: 'allowed', ...warning };
    if (q.pinned ?? this.pinned(q.protocol, q.name, q.version, q.pinRef)) return { verdict: 'allowed', because: 'pinned', ...warning };
    return { verdict: 'held', minAgeMs: rules.minAgeMs, published: q.published, until };
  }

  explain(q: Pick<PolicyQuery, 'name' | 'version'>, d: Decision): string {
    const what = `${q.name}@${q.version}`;
    if (d.verdict === 'held') {
      return (
        `${what} is held back by the Larder policy minAge ${shortDuration(d.minAgeMs)}: published ` +
        `${new Date(d.published).toISOString()}, allowed from ${new Date(d.until).toISOString()}`
      );
    }
    if (d.verdict === 'blocked') {
      return `${what} is blocked by the Larder policy blocklist: ${d.id}${d.summary ? ` (${d.summary})` : ''}`;
    }
    return `${what} is allowed by the Larder policy${d.because ? ` (${d.because})` : ''}${d.warning ? `; listed in ${d.warning} (onBlocked: warn)` : ''}`;
  }

  signatureMode(): 'off' | 'warn' | 'require' {
    return this.settings.npmSignatures ?? 'off';
  }

  count(remote: string, d: Decision, what?: PolicySubjectRef): void {
    const signature = d.verdict === 'blocked' ? d.id === SIGNATURE_ID : d.verdict === 'allowed' && d.warning === SIGNATURE_ID;
    const reason = signature ? 'signature' : d.verdict === 'allowed' ? (d.warning ? 'warned' : undefined) : d.verdict;
    if (!reason) return;
    const key = `${remote}\0${reason}`;
    this.tally.set(key, (this.tally.get(key) ?? 0) + 1);
    this.onCount?.(remote, reason);
    if (!what) return;
    const id = d.verdict === 'blocked' ? d.id : d.verdict === 'allowed' ? d.warning : undefined;
    const event: PolicyEvent = {
      at: this.clock.now(),
      remote,
      name: what.name,
      version: what.version,
      reason,
      message: what.message ?? this.explain(what, d),
    };
    if (d.verdict === 'held') event.until = d.until;
    if (id !== undefined) event.id = id;
    if (this.recentEvents.length >= RECENT_KEPT) this.recentEvents.shift();
    this.recentEvents.push(event);
  }

  /** The most recent refusals and warnings, newest first. */
  recent(): PolicyEvent[] {
    return [...this.recentEvents].reverse();
  }

  counts(): PolicyCount[] {
    return [...this.tally].map(([k, count]) => {
      const [remote, reason] = k.split('\0') as [string, PolicyCount['reason']];
      return { remote, reason, count };
    });
  }
}
