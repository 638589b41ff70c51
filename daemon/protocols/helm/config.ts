/**
 * Helm's part of the config: remotes of `type: helm` whose `url` is a chart
 * repository (the directory holding `index.yaml`). Every request names its
 * remote (`/helm/<remote>/`), so there is no routing section. In a mirror
 * hierarchy remote R resolves through `<parent>/helm/R/` (the parent needs a
 * helm remote of the same name).
 */
import { z } from 'zod';
import { remoteFields } from '../../config/fields.js';
import type { RemoteConfig, RemoteKind } from '../contract.js';

export const HelmRemoteSchema = z.object({ type: z.literal('helm'), ...remoteFields }).strict();
export type HelmRemoteConfig = z.output<typeof HelmRemoteSchema>;

export const isHelmRemote = (c: RemoteConfig): c is HelmRemoteConfig => c.type === 'helm';

export const helmRemote: RemoteKind<HelmRemoteConfig> = {
  type: 'helm',
  schema: HelmRemoteSchema,
  parentPrefixes: (name, _config, base, parent) => [{ upstream: base.toString(), parent: new URL(`helm/${name}/`, parent).toString() }],
};
