/**
 * Notices of blobs the cluster's eviction removed from S3:
 * `<prefix>evicted/<hex>` → the entry keys that went with the blob, under a
 * lease of a few minutes (a notice only matters to nodes running now). Every
 * node watches the prefix and drops its local copies of those entries and
 * the blob, so none keeps serving an entry whose body may be read from S3
 * and is gone there. The watch resumes from its revision after etcd comes
 * back; a node that misses a notice (down longer than its lease) keeps its
 * local copy, and a read of a body it lacks then fails as a missing blob.
 */
import type { Lease, Watcher } from 'etcd3';
import type { EtcdSession } from './etcd-session.js';

const NOTICE_TTL_SEC = 300;

export class EvictionNotices {
  private watcher: Watcher | undefined;
  private lease: Lease | undefined;

  constructor(
    private readonly session: EtcdSession,
    private readonly onEvicted: (digest: string, keys: string[]) => Promise<void>,
  ) {}

  private get dir(): string {
    return `${this.session.opts.prefix}evicted/`;
  }

  /** Publishes a notice (one lease is shared by the notices of a few minutes). */
  async publish(digest: string, keys: string[]): Promise<void> {
    if (!this.lease || this.lease.revoked()) {
      const lease = this.session.client.lease(NOTICE_TTL_SEC, { autoKeepAlive: false });
      lease.on('lost', () => {
        if (this.lease === lease) this.lease = undefined;
      });
      this.lease = lease;
      setTimeout(
        () => {
          if (this.lease === lease) this.lease = undefined;
        },
        (NOTICE_TTL_SEC * 1000) / 2,
      ).unref();
    }
    const id = await this.lease.grant();
    await this.session.client
      .put(this.dir + digest.slice('sha256:'.length))
      .value(JSON.stringify(keys))
      .lease(id)
      .exec();
  }

  start(): void {
    const w = this.session.client.watch().prefix(this.dir).watcher();
    w.on('put', (kv) => {
      let keys: string[] = [];
      try {
        const v: unknown = JSON.parse(kv.value.toString());
        if (Array.isArray(v)) keys = v.filter((k): k is string => typeof k === 'string');
      } catch {
        // a notice of another form: drop the blob alone
      }
      const digest = `sha256:${kv.key.toString().slice(this.dir.length)}`;
      void this.onEvicted(digest, keys).catch(() => undefined);
    });
    w.on('error', () => undefined); // the client reconnects the watch on its own
    this.watcher = w;
  }

  async stop(): Promise<void> {
    // Not awaited: with etcd unreachable a cancel waits for it.
    void this.watcher?.cancel().catch(() => undefined);
    this.watcher = undefined;
  }
}
