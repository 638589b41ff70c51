/** The policy layer (GET /policy, /policy/explain): the age gate, the OSV blocklist and the quarantine. */

/** One OSV record of the loaded blocklist (GET /policy). */
export interface PolicyRecord {
  id: string;
  summary: string;
  /** The packages it names, with the exact versions and ranges it lists. */
  affected: Array<{ ecosystem: string; name: string; versions: string[]; ranges: number }>;
}

/** A cached artifact of a blocked version, moved out of the store (never served again). */
export interface QuarantinedArtifact {
  key: string;
  digest: string;
  protocol: string;
  name: string;
  version: string;
  /** The OSV record that blocks it. */
  id: string;
  /** When it was quarantined (ms since the epoch). */
  at: number;
}

/** A recent refusal (or warning) a client was served: what, why and, when held back, until when. */
export interface PolicyEventInfo {
  /** ms since the epoch */
  at: number;
  remote: string;
  name: string;
  version: string;
  reason: 'held' | 'blocked' | 'signature' | 'warned';
  /** Held back until (ms since the epoch). */
  until?: number;
  /** The OSV record id (or "signature"). */
  id?: string;
  /** The sentence the client saw. */
  message: string;
}

/** Answer of GET /policy: the config in force, counted refusals, the blocklist and the quarantine. */
export interface PolicyStatus {
  minAge: string;
  minAgeMs: number;
  exclude: string[];
  onBlocked: 'refuse' | 'warn';
  remotes: Record<string, { minAgeMs?: number; exclude?: string[]; onBlocked?: 'refuse' | 'warn' }>;
  blocklist: { folder?: string; ids: string[]; records: PolicyRecord[] };
  counts: Array<{ remote: string; reason: 'held' | 'blocked' | 'signature' | 'warned'; count: number }>;
  /** The most recent refusals and warnings (at most 200, newest first; since the daemon started). */
  recent: PolicyEventInfo[];
  quarantined: QuarantinedArtifact[];
}

/** Answer of GET /policy/explain?ref=…: why a version is or is not served. */
export interface PolicyExplanation {
  ref: string;
  protocol: string;
  remote: string;
  name: string;
  version: string;
  verdict: 'allowed' | 'held' | 'blocked';
  /** Why the age gate did not apply: a pin, an excluded name, no publish time, or no age gate at all. */
  because?: 'pinned' | 'excluded' | 'no-publish-time' | 'old-enough' | 'no-age-gate';
  /** ISO times, when the upstream gives a publish time. */
  published?: string;
  /** Held back until (ISO), under `minAge`. */
  until?: string;
  minAge: string;
  pinned: boolean;
  /** The OSV record that lists the version (blocked, or served with a warning under `onBlocked: warn`). */
  osv?: { id: string; summary: string };
  /** Cached artifacts of the version that are quarantined. */
  quarantined: QuarantinedArtifact[];
  /** One sentence, the one a refused client sees. */
  message: string;
}
