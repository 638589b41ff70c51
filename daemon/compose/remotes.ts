/**
 * Part of the composition root: the upstream client and one Remote per
 * configured remote, with the defaults a remote's config may leave out.
 */
import type { LoadedConfig } from '../config/load.js';
import { GotUpstreamClient } from '../upstream/client.js';
import { Remote, type RemoteSettings } from '../upstream/remote.js';

const DEFAULT_TTL_MS = 5 * 60_000;
const DEFAULT_NEGATIVE_TTL_MS = 30_000;
const DEFAULT_TIMEOUT_MS = 30_000;

export function upstreamClient(): GotUpstreamClient {
  return new GotUpstreamClient({ timeoutMs: DEFAULT_TIMEOUT_MS });
}

export function buildRemotes(
  cfg: LoadedConfig,
  client: GotUpstreamClient,
  d: Pick<RemoteSettings, 'isOffline' | 'parent' | 'hop'> & { observe(name: string): RemoteSettings['observe'] },
): Map<string, Remote> {
  const remotes = new Map<string, Remote>();
  for (const [name, rc] of Object.entries(cfg.remotes)) {
    remotes.set(
      name,
      new Remote(
        {
          name,
          config: rc,
          ttlMs: rc.ttl ?? DEFAULT_TTL_MS,
          negativeTtlMs: rc.negativeTtl ?? DEFAULT_NEGATIVE_TTL_MS,
          timeoutMs: rc.timeout ?? DEFAULT_TIMEOUT_MS,
          maxArtifactBytes: cfg.storage.maxArtifactSize,
          isOffline: d.isOffline,
          observe: d.observe(name),
          parent: d.parent,
          hop: d.hop,
        },
        client,
      ),
    );
  }
  return remotes;
}
