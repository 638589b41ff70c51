/**
 * The generic files protocol's part of the config: remotes of `type: http`
 * with a layout preset and path rules. In a mirror hierarchy remote R
 * resolves through `<parent>/files/R/` (the parent needs an http remote of
 * the same name). No routing section: every request names its remote.
 */
import { z } from 'zod';
import { duration, remoteFields } from '../../config/fields.js';
import type { RemoteConfig, RemoteKind } from '../contract.js';

/** Whether a rule's `match` is a valid glob or `/regex/` (flags: i). */
function validPattern(match: string): boolean {
  const m = /^\/(.+)\/(i?)$/.exec(match);
  if (!m) return true;
  try {
    new RegExp(m[1]!, m[2]);
    return true;
  } catch {
    return false;
  }
}

export const PathRuleSchema = z
  .object({
    match: z
      .string()
      .min(1)
      .max(1024)
      .refine(validPattern, 'expected a glob (`*`, `**`, `?`) or a valid /regular expression/')
      .describe('Glob on the path below the remote (`*` within a segment, `**` across segments), or /regex/'),
    policy: z
      .enum(['immutable', 'mutable', 'bypass'])
      .describe('immutable: cache forever; mutable: HTTP caching rules; bypass: never store'),
    ttl: duration('Freshness of matching mutable files when the upstream gives none').optional(),
  })
  .strict();

export const HttpRemoteSchema = z
  .object({
    type: z.literal('http'),
    ...remoteFields,
    layout: z.enum(['maven', 'apt', 'github-releases', 'plain']).default('plain').describe('Which paths are immutable'),
    rules: z.array(PathRuleSchema).default([]).describe('Path rules tried before the layout preset; the first match wins'),
  })
  .strict();
export type HttpRemoteConfig = z.output<typeof HttpRemoteSchema>;

export const isHttpRemote = (c: RemoteConfig): c is HttpRemoteConfig => c.type === 'http';

export const httpRemote: RemoteKind<HttpRemoteConfig> = {
  type: 'http',
  schema: HttpRemoteSchema,
  parentPrefixes: (name, _config, base, parent) => [{ upstream: base.toString(), parent: new URL(`files/${name}/`, parent).toString() }],
};
