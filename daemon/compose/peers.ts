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
import type { PeerDirectory } from '../peers/discovery.js';
import { PeerDigestIndex } from '../peers/digest-index.js';
import { PeerRequestVerifier } from '../peers/request-signature.js';
import { GotUpstreamClient } from '../upstream/client.js';
import { LanPeers } from '../upstream/peers.js';
import type { PeersReport, PeersSummary } from '../admin/contract.js';
import { PeerDayTally } from '../peers/day-tally.js';

export interface PeerParts {
  /** Asked by the blob cache before the upstream (undefined: peers are off). */
  source?: PeerSource;
  /** GET /peers of the admin API, and the peers line of /stats (undefined when peers are off). */
  report(): PeersReport;
  summary(): PeersSummary | undefined;
  /** The core finished a fill (today's misses). */
  filled(): void;
  /** The `extra` app route of `/_/peer/v1/…` (answers false when peers are off). */
  routes(ctx: Context): Promise<boolean>;
  /** The core's `blobCommitted` event. */
  committed(entry: Entry): void;
  /** Once listening: opens discovery (mDNS advertises this daemon's port). */
  start(self: { daemonId: string; port: number; scheme: 'http' | 'https' }): void;
  stop(): Promise<void>;
}

export async function peerSetup(
  cfg: LoadedConfig,
  d: { index: IndexStore; blobs: BlobStore; metrics: Metrics; log: Logger },
): Promise<PeerParts> {
  const p = cfg.peers;
  if (!p.enabled || p.token === undefined) {
    const today = { misses: 0, fromPeers: 0 };
    return {
      report: () => ({ enabled: false, discover: [], peers: [], today }),
      summary: () => undefined,
      filled: () => undefined,
      routes: async () => false,
      committed: () => undefined,
      start: () => undefined,
      stop: async () => undefined,
    };
  }
  // Discovery (and the mDNS packages) is loaded only when peers are enabled.
  const { openPeerDirectory } = await import('../peers/discovery-mdns.js');
  const methods = discoveryMethods(p);
  const digests = new PeerDigestIndex(d.index);
  let directory: PeerDirectory | undefined;
  const tally = new PeerDayTally();
  const source = new LanPeers({
    // Until discovery is open (the port is known once listening), the static list.
    peers: () => directory?.list() ?? (methods.includes('static') ? p.static : []),
    token: p.token,
    budgetMs: p.budget,
    stallMs: p.stall,
    client: new GotUpstreamClient({ timeoutMs: 5_000 }),
    onServed: (_peer, bytes, whole) => {
      if (whole) {
        d.metrics.peerHits.inc();
        tally.peer();
      }
      d.metrics.peerBytes.inc(bytes);
    },
    onResumed: (how) => d.metrics.peerResumes.inc({ how }),
    onAsked: (outcome, ms) => d.metrics.peerAsk.observe({ outcome }, ms / 1000),
    onFellBack: (e) => {
      d.metrics.peerFallbackDelay.observe({ how: e.how }, e.delayMs / 1000);
      d.log.warn(e, 'LAN peer transfer broke off; the upstream went on');
    },
    onFailure: (peer, reason) => {
      d.metrics.peerFailures.inc({ reason });
      d.log.warn({ peer, reason }, 'LAN peer dropped for a while');
    },
  });
  d.log.info({ peers: source.healthy().length }, 'LAN peers enabled');
  return {
    source,
    report: () => ({ enabled: true, discover: methods, peers: source.health(), today: tally.today() }),
    summary: () => {
      const all = source.health();
      return { count: all.length, healthy: all.filter((h) => h.healthy).length, today: tally.today() };
    },
    filled: () => tally.miss(),
    routes: peerRoutes({
      verifier: new PeerRequestVerifier(p.token),
      digests,
      blobs: d.blobs,
      onServed: (bytes) => d.metrics.peerServedBytes.inc(bytes),
    }),
    committed: (entry) => digests.add(entry),
    start(self) {
      const mdns = methods.includes('mdns')
        ? { ...self, onError: (err: Error) => d.log.warn({ err: err.message }, 'mDNS peer discovery failed') }
        : undefined;
      directory = openPeerDirectory({ discover: methods, static: p.static, ...(mdns ? { mdns } : {}) });
      directory.on('change', () => d.log.info({ peers: directory?.list() }, 'LAN peers changed'));
    },
    async stop() {
      await directory?.close();
    },
  };
}
