/**
 * The supply-chain policy model, shared by every protocol: the resolved
 * config (global, with per-remote overrides), what a protocol asks about one
 * version, and the answer. Protocol-neutral: a protocol names itself by its
 * plug-in name ("npm", "pypi", "go", "cargo", "rubygems").
 */

/** What `onBlocked` asks for: refuse the version, or serve it and count a warning. */
export type OnBlocked = 'refuse' | 'warn';

/** One level of the policy config (the global one, or a remote's override of some fields). */
export interface PolicyRules {
  /** Versions younger than this are held back (0: no age gate). */
  minAgeMs: number;
  /** Name patterns that skip the age gate: "@corp/*", "npm:left-pad" (a `protocol:` prefix narrows to one protocol). */
  exclude: readonly string[];
  onBlocked: OnBlocked;
}

export interface PolicySettings extends PolicyRules {
  /** Per-remote overrides, by remote name. */
  remotes: Readonly<Record<string, Partial<PolicyRules>>>;
  /** npm registry signature checks (absent: off). */
  npmSignatures?: 'off' | 'warn' | 'require';
}

/** One question: may this version be served to a client? */
export interface PolicyQuery {
  /** The protocol plug-in's name ("npm"). */
  protocol: string;
  /** Its OSV ecosystem ("npm", "PyPI", "Go", "crates.io", "RubyGems"); without one the blocklist is not asked. */
  ecosystem?: string | undefined;
  remote: string;
  name: string;
  version: string;
  /** When the upstream says the version was published (ms since the epoch); undefined: unknown, the age gate is skipped. */
  published?: number | undefined;
  /** Whether the operator pinned this version (the age gate lets pins through; the blocklist does not). */
  pinned?: boolean | undefined;
  /** The protocol's reference to this version as a pin names it (default `<protocol>:<name>@<version>`). */
  pinRef?: string | undefined;
}

export type Decision =
  | {
      verdict: 'allowed';
      /** Why the age gate did not apply when it could have. */
      because?: 'pinned' | 'excluded' | 'no-publish-time';
      /** A blocklist record that matched under `onBlocked: warn`. */
      warning?: string;
    }
  | { verdict: 'held'; minAgeMs: number; published: number; until: number }
  | { verdict: 'blocked'; id: string; summary: string };

/** The id of a `blocked` decision (or the `warning` of an allowed one) for a registry signature that does not hold. */
export const SIGNATURE_ID = 'signature';

/** Counted refusals, for `/metrics`. */
export interface PolicyCount {
  remote: string;
  reason: 'held' | 'blocked' | 'warned' | 'signature';
  count: number;
}

/** The version a counted refusal is about, and the sentence the client saw when not the policy's own. */
export interface PolicySubjectRef {
  name: string;
  version: string;
  message?: string;
}

/** One refusal (or warning) served to a client, kept among the most recent for the dashboard. */
export interface PolicyEvent {
  at: number;
  remote: string;
  name: string;
  version: string;
  reason: PolicyCount['reason'];
  /** Held back until (ms), for `held`. */
  until?: number;
  /** The OSV record (or "signature") for `blocked`, `signature` and `warned`. */
  id?: string;
  /** The sentence the client saw. */
  message: string;
}

/** What protocols use (ProtocolServices.policy). */
export interface PolicyDecider {
  /**
   * The age gate of a package: ms, or 0 when off or the name is excluded. With
   * `newest` (the publish time of its newest version) a protocol can tell in O(1)
   * that nothing is held back: `minAgeMs === 0 || now - newest >= minAgeMs`.
   */
  minAgeMs(protocol: string, remote: string, name: string): number;
  /** Whether any blocklist record names the package in an OSV ecosystem (then each version must be asked). */
  listed(ecosystem: string, name: string): boolean;
  decide(q: PolicyQuery): Decision;
  /** Whether the operator pinned `ref` (default `protocol:name@version`). */
  pinned(protocol: string, name: string, version: string, ref?: string): boolean;
  /** The client-facing sentence for a refusal: names the policy, the version and when it will be allowed. */
  explain(q: Pick<PolicyQuery, 'name' | 'version'>, d: Decision): string;
  /** Counts a refusal (or a warning) actually served to a client; with `what`, keeps it among the recent ones. */
  count(remote: string, d: Decision, what?: PolicySubjectRef): void;
  counts(): PolicyCount[];
  now(): number;
  /** `policy.npmSignatures`: whether npm registry signatures are checked, and what a failure gets. */
  signatureMode(): 'off' | 'warn' | 'require';
}
