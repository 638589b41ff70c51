/**
 * What every remote entry of the config has, and what a protocol says about
 * one remote `type` it serves. A leaf: the upstream clients, the config
 * schema and the protocol contract all use it without importing each other.
 */
import type { z } from 'zod';

export interface RemoteConfig {
  type: string;
  url: string;
  ttl?: number | undefined;
  negativeTtl?: number | undefined;
  timeout?: number | undefined;
  auth?: { username?: string | undefined; password?: string | undefined; token?: string | undefined } | undefined;
  offline?: boolean | undefined;
}

/** Mirror hierarchy: URLs starting with `upstream` go to `parent` + the rest (and back, for a fallback). */
export interface PrefixPair {
  upstream: string;
  parent: string;
}

/** One remote `type` a protocol serves. */
export interface RemoteKind<C extends RemoteConfig = RemoteConfig> {
  /** The `type:` of `remotes.<name>` entries, e.g. "npm". */
  readonly type: string;
  /** Validates one entry (strict, with the common remote fields). */
  readonly schema: z.ZodType<C, z.ZodTypeDef, unknown>;
  /** Where this remote's upstream URLs go on a parent Larder (most specific first). */
  parentPrefixes(name: string, config: C, base: URL, parent: URL): PrefixPair[];
}
