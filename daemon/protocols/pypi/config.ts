/**
 * PyPI's part of the config: remotes of `type: pypi` (an index and,
 * optionally, the host its files live on) and the `pypi:` routing section.
 * In a mirror hierarchy remote R resolves through `<parent>/pypi/R/simple/`
 * (the parent needs a pypi remote of the same name).
 */
import { z } from 'zod';
import { defaultNamed, defaultOnlySection, httpUrl, remoteFields } from '../../config/fields.js';
import type { ConfigSection, RemoteConfig, RemoteKind } from '../contract.js';

export const PypiRemoteSchema = z
  .object({ type: z.literal('pypi'), ...remoteFields, filesUrl: httpUrl('Base URL of the files host').optional() })
  .strict();
export type PypiRemoteConfig = z.output<typeof PypiRemoteSchema>;

export const isPypiRemote = (c: RemoteConfig): c is PypiRemoteConfig => c.type === 'pypi';

export const pypiRemote: RemoteKind<PypiRemoteConfig> = {
  type: 'pypi',
  schema: PypiRemoteSchema,
  parentPrefixes: (name, _config, base, parent) => [
    { upstream: base.toString(), parent: new URL(`pypi/${name}/simple/`, parent).toString() },
  ],
};

export const pypiSection: ConfigSection = { key: 'pypi', schema: defaultOnlySection, remotesNamed: defaultNamed('pypi') };
