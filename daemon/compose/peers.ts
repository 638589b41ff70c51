/**
 * Part of the composition root: LAN peers (`peers:` config). Builds the
 * peer API routes (answering from committed immutable blobs), the index of
 * digests they answer by, and the PeerSource the blob cache asks before the
 * upstream. Nothing is built when `peers.enabled` is false.
 */
import type { Context } from 'koa';
import type { LoadedConfig } from '../config/load.js';
import type { BlobStore, IndexStore, PeerSource } from '../core/ports.js';
import type { Entry } from '../core/types.js';
import { peerRoutes } from '../http/peer-routes.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/registry.js';
import { discoveryMethods } from '../peers/config.js';
import { PeerDigestIndex } from '../peers/digest-index.js';
import { GotUpstreamClient } from '../upstream/client.js';
import { LanPeers } from '../upstream/peers.js';

export interface PeerParts {
  /** Asked by the blob cache before the upstream (undefined: peers are off). */
  source?: PeerSource;
  /** The `extra` app route of `/_/peer/v1/…` (answers false when peers are off). */
  routes(ctx: Context): Promise<boolean>;
  /** The core's `blobCommitted` event. */
  committed(entry: Entry): void;
}

export function peerSetup(cfg: LoadedConfig, d: { index: IndexStore; blobs: BlobStore; metrics: Metrics; log: Logger }): PeerParts {
  const p = cfg.peers;
  if (!p.enabled || p.token === undefined) return { routes: async () => false, committed: () => undefined };
  const methods = discoveryMethods(p);
  if (methods.includes('mdns')) d.log.warn('peers.discover: mdns is not built yet; only the peers.static list is used');
  const digests = new PeerDigestIndex(d.index);
  const source = new LanPeers({
    peers: methods.includes('static') ? p.static : [],
    token: p.token,
    budgetMs: p.budget,
    client: new GotUpstreamClient({ timeoutMs: 5_000 }),
    onServed: (_peer, bytes) => {
      d.metrics.peerHits.inc();
      d.metrics.peerBytes.inc(bytes);
    },
    onFailure: (peer, reason) => {
      d.metrics.peerFailures.inc({ reason });
      d.log.warn({ peer, reason }, 'LAN peer dropped for a while');
    },
  });
  d.log.info({ peers: source.healthy().length }, 'LAN peers enabled');
  return {
    source,
    routes: peerRoutes({ token: p.token, digests, blobs: d.blobs, onServed: (bytes) => d.metrics.peerServedBytes.inc(bytes) }),
    committed: (entry) => digests.add(entry),
  };
}
