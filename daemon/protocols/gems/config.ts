/**
 * RubyGems' part of the config: remotes of `type: gems` (a gem server with
 * the compact index, such as https://rubygems.org/) and the `gems:` routing
 * section. In a mirror hierarchy remote R resolves through
 * `<parent>/gems/R/` (the parent needs a gems remote of the same name).
 */
import { z } from 'zod';
import { defaultNamed, defaultOnlySection, remoteFields } from '../../config/fields.js';
import type { ConfigSection, RemoteConfig, RemoteKind } from '../contract.js';

export const GemsRemoteSchema = z.object({ type: z.literal('gems'), ...remoteFields }).strict();
export type GemsRemoteConfig = z.output<typeof GemsRemoteSchema>;

export const isGemsRemote = (c: RemoteConfig): c is GemsRemoteConfig => c.type === 'gems';

export const gemsRemote: RemoteKind<GemsRemoteConfig> = {
  type: 'gems',
  schema: GemsRemoteSchema,
  parentPrefixes: (name, _config, base, parent) => [{ upstream: base.toString(), parent: new URL(`gems/${name}/`, parent).toString() }],
};

export const gemsSection: ConfigSection = { key: 'gems', schema: defaultOnlySection, remotesNamed: defaultNamed('gems') };
