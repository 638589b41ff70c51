/**
 * OCI's part of the config: remotes of `type: oci` (with the registry
 * `host` each stands for) and the `oci:` routing section (`default`). In a
 * mirror hierarchy `<base>v2/…` goes to `<parent>/v2/<host>/…` (the
 * path-prefix layout).
 */
import { z } from 'zod';
import { defaultNamed, defaultOnlySection, remoteFields } from '../../config/fields.js';
import type { ConfigSection, RemoteConfig, RemoteKind } from '../contract.js';

export const OciRemoteSchema = z
  .object({
    type: z.literal('oci'),
    ...remoteFields,
    host: z.string().min(1).describe('Registry host this remote stands for, e.g. docker.io'),
  })
  .strict();
export type OciRemoteConfig = z.output<typeof OciRemoteSchema>;

export const isOciRemote = (c: RemoteConfig): c is OciRemoteConfig => c.type === 'oci';

export const ociRemote: RemoteKind<OciRemoteConfig> = {
  type: 'oci',
  schema: OciRemoteSchema,
  parentPrefixes: (_name, config, base, parent) => [
    { upstream: new URL('v2/', base).toString(), parent: new URL(`v2/${config.host.toLowerCase()}/`, parent).toString() },
  ],
};

export const ociSection: ConfigSection = { key: 'oci', schema: defaultOnlySection, remotesNamed: defaultNamed('oci') };
