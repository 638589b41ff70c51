/**
 * Go's part of the config: remotes of `type: go` (a module proxy and the
 * checksum databases proxied beside it) and the `go:` routing section. In a
 * mirror hierarchy remote R resolves through `<parent>/go/R/`, and sumdb D
 * through `<parent>/go/R/sumdb/D/`.
 */
import { z } from 'zod';
import { defaultNamed, defaultOnlySection, httpUrl, remoteFields } from '../../config/fields.js';
import type { ConfigSection, RemoteConfig, RemoteKind } from '../contract.js';

export const GoRemoteSchema = z
  .object({
    type: z.literal('go'),
    ...remoteFields,
    sumdbs: z
      .array(z.string().regex(/^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$/, 'expected a checksum database name like sum.golang.org'))
      .default([])
      .describe('Checksum databases proxied at /go/<remote>/sumdb/<name>/; go asks any other one directly'),
    sumdbUrls: z
      .record(z.string(), httpUrl('Base URL of a checksum database'))
      .optional()
      .describe('Where a proxied checksum database lives (default https://<name>/)'),
  })
  .strict();
export type GoRemoteConfig = z.output<typeof GoRemoteSchema>;

export const isGoRemote = (c: RemoteConfig): c is GoRemoteConfig => c.type === 'go';

const withSlash = (u: string): string => (u.endsWith('/') ? u : `${u}/`);

export const goRemote: RemoteKind<GoRemoteConfig> = {
  type: 'go',
  schema: GoRemoteSchema,
  parentPrefixes(name, config, base, parent) {
    const pairs = config.sumdbs.map((db) => ({
      upstream: withSlash(config.sumdbUrls?.[db] ?? `https://${db}/`),
      parent: new URL(`go/${name}/sumdb/${db}/`, parent).toString(),
    }));
    return [...pairs, { upstream: base.toString(), parent: new URL(`go/${name}/`, parent).toString() }];
  },
};

export const goSection: ConfigSection = { key: 'go', schema: defaultOnlySection, remotesNamed: defaultNamed('go') };
