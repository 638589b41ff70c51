/**
 * The protocol plug-in contract. Each `daemon/protocols/<name>/index.ts`
 * exports one {@link Protocol}; `registry.ts` lists them, and the
 * composition root, the config schema, references, lockfile planners, pins,
 * bundles, replication and parent routing walk that list instead of naming
 * a protocol. Adding an ecosystem is a folder plus one registry line.
 *
 * What every protocol keeps to (the shared parts rely on it):
 * - index keys start `<name>:<remote>:` (bundle import reports unknown remotes by the second field);
 * - entries it fills carry `meta.protocol = name` (scrub repair is routed by it);
 * - artifacts are verified against the digest its own metadata publishes, before commit;
 * - it passes test/conformance/protocol.suite.ts with a fixture of its own.
 */
import type { z } from 'zod';
import type { BlobCache } from '../core/blob-cache.js';
import type { DocumentCache } from '../core/document-cache.js';
import type { HttpCache } from '../core/http-cache.js';
import type { Clock } from '../core/ports.js';
import type { PolicyDecider } from '../core/policy/types.js';
import type { RefScheme } from '../core/refs.js';
import type { Entry, ExpectedDigest } from '../core/types.js';
import type { Warmer } from '../core/warm.js';
import type { Remote } from '../upstream/remote.js';
import type { RemoteKind } from '../upstream/remote-kind.js';
import type { ProtocolAdapter } from './adapter.js';

/** The fields every `remotes.<name>` entry has (config/fields.ts `remoteFields` validates them). */
export type { PrefixPair, RemoteConfig, RemoteKind } from '../upstream/remote-kind.js';

/** A protocol's top-level routing section (`npm:`, `oci:` …). */
export interface RoutingSection {
  /** The default remote (else the first remote of the protocol's types). */
  default?: string | undefined;
}

export interface ConfigSection {
  /** Its top-level key, e.g. "npm". */
  readonly key: string;
  /** Validates the section (strict); an absent section is `{}`. */
  readonly schema: z.ZodType<RoutingSection, z.ZodTypeDef, unknown>;
  /** Remote names it refers to by config path; each must be a remote of one of the protocol's types. */
  remotesNamed(section: RoutingSection): Array<[path: string, remote: string]>;
}

/** One reference to warm, with the digest a lockfile recorded for it. */
export interface PlannedItem {
  ref: string;
  expect?: ExpectedDigest[];
  /** Expand dependency ranges (default: the job's setting). A lockfile already lists its whole tree, pinned. */
  deps?: boolean;
}

/** Reads one kind of lockfile or manifest into references. */
export interface LockfilePlanner {
  /** What it reads, for messages: "package-lock.json". */
  readonly reads: string;
  /** Tried only after every other planner declined the name (catch-alls such as `*.yaml`). */
  readonly fallback?: boolean;
  /** Whether a file is one it reads, by its lower-cased base name. */
  matches(base: string): boolean;
  /** Throws on unparsable content; the caller names the file. */
  plan(content: string): PlannedItem[];
}

/** What the composition root hands a protocol's factory. */
export interface ProtocolServices {
  /** Every configured remote; a protocol serves those of its own types. */
  remotes: Map<string, Remote>;
  documents: DocumentCache;
  blobs: BlobCache;
  httpCache: HttpCache;
  clock: Clock;
  /** The supply-chain policy (age gate, blocklist): what a client may be served. */
  policy: PolicyDecider;
  /** e.g. "http://127.0.0.1:7420" (no trailing slash); known once listening. */
  publicUrl(): string;
  /** `<section>.default`, else the first remote of the protocol's types. */
  defaultRemote: string | undefined;
  /** The protocol's validated routing section (`{}` without one). */
  section: RoutingSection;
  /** Whether the index holds an entry for a key (scrub repair checks what it stored). */
  indexed(key: string): boolean;
}

/** A running protocol. */
export interface ProtocolInstance {
  /** Mounted at every prefix of {@link Protocol.mounts} (and {@link Protocol.rootPaths}). */
  readonly adapter: ProtocolAdapter;
  /** Pre-warm, pins, bundles and replication go through it; absent: its references cannot be warmed. */
  readonly warmer?: Warmer;
  /** Scrub repair: fetches a damaged entry again; resolves true when it is stored again. */
  repair?(entry: Entry): Promise<boolean>;
  /** What `larder policy explain` and the blocklist quarantine ask of it; absent: the policy cannot explain its references. */
  readonly policy?: PolicyHooks;
}

/** One version as a protocol's metadata describes it to the policy. */
export interface PolicySubject {
  remote: string;
  name: string;
  version: string;
  /** When the upstream says it was published (ms); undefined: unknown. */
  published?: number | undefined;
  /** Index keys of its artifacts that may be cached. */
  keys: string[];
  /** How a pin names this version, when not `<protocol>:<name>@<version>`. */
  pinRef?: string;
}

export interface PolicyHooks {
  /** Its OSV ecosystem ("npm"). */
  readonly ecosystem: string;
  /** Resolves one of its references to a version, reading cached metadata (fetched only when not fresh). */
  subject(ref: string): Promise<PolicySubject>;
  /** The package and version a cached artifact entry holds (undefined: not an artifact of one version). */
  artifact(entry: Entry): { name: string; version: string } | undefined;
}

export interface Protocol {
  /** Bounded name: the metric label, `meta.protocol` and the key prefix, e.g. "npm". */
  readonly name: string;
  /** Remote types it serves (at least one). */
  readonly remotes: readonly RemoteKind[];
  readonly section?: ConfigSection;
  /** URL prefixes without a trailing slash, e.g. ["/npm"]. */
  readonly mounts: readonly string[];
  /** Paths at the root it answers when no mount matched (npm tarballs npm rewrites onto the registry). */
  readonly rootPaths?: RegExp;
  /** Its reference scheme (`npm:`); protocols without one cannot be warmed or pinned. */
  readonly refs?: RefScheme;
  /** Lockfiles and manifests whose references it warms. */
  readonly planners?: readonly LockfilePlanner[];
  /** Remotes of the embedded default config (public upstreams), by name; a config file's `remotes` replaces them all. */
  readonly defaultRemotes?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  create(services: ProtocolServices): ProtocolInstance;
}

/** A string field of an entry's `meta` (scrub repair reads what the fill recorded). */
export function metaText(entry: Entry, field: string): string | undefined {
  const v = entry.meta?.[field];
  return typeof v === 'string' ? v : undefined;
}
