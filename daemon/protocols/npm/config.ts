/**
 * npm's part of the config: remotes of `type: npm` and the `npm:` routing
 * section (`default`, and `scopes` sending `@scope/*` to a named remote).
 * In a mirror hierarchy every npm remote resolves through the parent's
 * `/npm/` (the parent's own routing picks its remote).
 */
import { z } from 'zod';
import { remoteFields } from '../../config/fields.js';
import type { ConfigSection, RemoteKind } from '../contract.js';

export const NpmRemoteSchema = z.object({ type: z.literal('npm'), ...remoteFields }).strict();
export type NpmRemoteConfig = z.output<typeof NpmRemoteSchema>;

export const npmRemote: RemoteKind<NpmRemoteConfig> = {
  type: 'npm',
  schema: NpmRemoteSchema,
  parentPrefixes: (_name, _config, base, parent) => [{ upstream: base.toString(), parent: new URL('npm/', parent).toString() }],
};

export const NpmSectionSchema = z
  .object({
    default: z.string().optional().describe('Name of the default remote for this protocol'),
    scopes: z.record(z.string().regex(/^@[a-z0-9][a-z0-9._~-]*$/, 'expected an npm scope like "@corp"'), z.string()).optional(),
  })
  .strict();

export const npmSection: ConfigSection = {
  key: 'npm',
  schema: NpmSectionSchema,
  remotesNamed(section) {
    const s = NpmSectionSchema.parse(section);
    const named: Array<[string, string]> = s.default ? [['npm.default', s.default]] : [];
    for (const [scope, name] of Object.entries(s.scopes ?? {})) named.push([`npm.scopes.${scope}`, name]);
    return named;
  },
};
