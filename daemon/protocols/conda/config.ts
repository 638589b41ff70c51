/**
 * Conda's part of the config: remotes of `type: conda` whose `url` is a
 * channel base (the directory holding `<subdir>/repodata.json`). Every
 * request names its remote (`/conda/<remote>/`), so there is no routing
 * section. In a mirror hierarchy remote R resolves through
 * `<parent>/conda/R/` (the parent needs a conda remote of the same name).
 */
import { z } from 'zod';
import { remoteFields } from '../../config/fields.js';
import type { RemoteConfig, RemoteKind } from '../contract.js';

export const CondaRemoteSchema = z.object({ type: z.literal('conda'), ...remoteFields }).strict();
export type CondaRemoteConfig = z.output<typeof CondaRemoteSchema>;

export const isCondaRemote = (c: RemoteConfig): c is CondaRemoteConfig => c.type === 'conda';

export const condaRemote: RemoteKind<CondaRemoteConfig> = {
  type: 'conda',
  schema: CondaRemoteSchema,
  parentPrefixes: (name, _config, base, parent) => [{ upstream: base.toString(), parent: new URL(`conda/${name}/`, parent).toString() }],
};
