/**
 * Cross-node single-flight on etcd: a cold key is claimed by creating
 * `<prefix>fill/<sha256 of the key>` under this node's session lease, in a
 * transaction that succeeds only if the key does not exist. A node that
 * finds it taken watches it (and re-reads it every lease period, in case a
 * watch event is missed) until it is deleted: by the filler once its entry
 * is published, or by etcd when the filler's lease expires (it died). Then
 * it tries again (the core then looks in the shared index first).
 *
 * When etcd cannot be reached, `turn` answers undefined: the node fills
 * alone (per-node single-flight) and the miss is counted as degraded.
 */
import { createHash } from 'node:crypto';
import type { FillCoordinator, FillTurn } from '../core/cluster.js';
import type { EtcdSession } from './etcd-session.js';

export interface EtcdFillsHooks {
  /** A miss filled without cluster coordination (etcd unreachable: the error). */
  degraded(err: unknown): void;
}

export class EtcdFills implements FillCoordinator {
  constructor(
    private readonly session: EtcdSession,
    private readonly hooks: EtcdFillsHooks,
  ) {}

  private keyOf(key: string): string {
    return `${this.session.opts.prefix}fill/${createHash('sha256').update(key).digest('hex')}`;
  }

  async turn(key: string, signal: AbortSignal): Promise<FillTurn | undefined> {
    const k = this.keyOf(key);
    for (;;) {
      signal.throwIfAborted();
      let revision: string;
      try {
        const r = await this.claim(k).catch(() => this.claim(k)); // a second try: one slow or lost call is not an outage
        this.session.observe();
        if (r.succeeded) return { release: () => this.release(k) };
        revision = r.header.revision;
      } catch (err) {
        this.session.observe(err);
        this.hooks.degraded(err);
        return undefined;
      }
      await this.gone(k, revision, signal);
    }
  }

  /** Creates `k` under the session lease unless it exists (the answer says whether it did, and the revision). */
  private async claim(k: string): Promise<{ succeeded: boolean; header: { revision: string } }> {
    const { client, opts } = this.session;
    const lease = await this.session.leaseId();
    return client.if(k, 'Create', '==', 0).then(client.put(k).value(opts.node).lease(lease)).commit();
  }

  /** Ends a claim: the key is deleted (when etcd is unreachable the session lease's expiry ends it). */
  private release(k: string): void {
    const { client, opts } = this.session;
    void client
      .if(k, 'Value', '==', opts.node)
      .then(client.delete().key(k))
      .commit()
      .catch(() => undefined);
  }

  /** Resolves once `k` is deleted after `revision`, or found absent, or etcd fails to answer (the next claim attempt decides). */
  private async gone(k: string, revision: string, signal: AbortSignal): Promise<void> {
    const { client, opts } = this.session;
    const watcher = client
      .watch()
      .key(k)
      .startRevision(String(BigInt(revision) + 1n))
      .only('delete')
      .watcher();
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      await new Promise<void>((resolve) => {
        watcher.on('delete', () => resolve());
        watcher.on('error', () => resolve());
        onAbort = () => resolve();
        signal.addEventListener('abort', onAbort, { once: true });
        const period = Math.max(250, (opts.leaseTtlSec * 1000) / 4);
        timer = setInterval(() => {
          client
            .get(k)
            .exists()
            .then(
              (exists) => !exists && resolve(),
              () => resolve(),
            );
        }, period);
      });
    } finally {
      clearInterval(timer);
      if (onAbort) signal.removeEventListener('abort', onAbort);
      void watcher.cancel().catch(() => undefined);
    }
  }
}
