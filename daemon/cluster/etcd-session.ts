/**
 * This node's connection to the cluster's etcd: the client (short deadlines,
 * so a dead etcd is noticed in seconds rather than hangs), a session lease
 * kept alive while the node lives (its fill claims and its registration
 * under `nodes/` are attached to it and vanish when it dies), a health probe
 * for /readyz and /metrics, and the degraded state (etcd unreachable: the
 * node fills alone) with one log line per change.
 */
import { Etcd3, type Lease, type Namespace, type Watcher } from 'etcd3';
import { hideHosts } from '../core/redact.js';

export interface EtcdSessionOptions {
  hosts: string[];
  /** Key prefix of this cluster, `/larder/<name>/`. */
  prefix: string;
  /** This node's name (its daemon id). */
  node: string;
  /** Session lease TTL, whole seconds (etcd's unit). */
  leaseTtlSec: number;
  /** What this node's registration says of it (its URL). */
  describe(): Record<string, string>;
  /** Degraded (etcd unreachable) or back; called once per change. */
  onState(up: boolean, reason: string | undefined): void;
  probeMs?: number;
  callTimeoutMs?: number;
}

/** What a failed etcd call says, without addresses (/readyz is anonymous). */
function describeError(err: unknown): string {
  const e = err as { name?: string; message?: string };
  return hideHosts(`${e.name ?? 'Error'}: ${e.message ?? String(err)}`).slice(0, 300);
}

/**
 * Cancels every watch of a namespace of the client, now and for a few seconds
 * after (a campaign's internal watch may be created by a call in flight).
 * The etcd3 client retries a watch whose stream broke on a timer that keeps
 * the process alive, also after `close()`, and gives no handle on the watches
 * it makes itself; cancelling a disconnected watch just forgets it.
 */
export function cancelWatches(ns: Namespace): void {
  const sweep = (): void => {
    const m = (ns as unknown as { watchManager?: { watchers?: Watcher[] } }).watchManager;
    for (const w of [...(m?.watchers ?? [])]) void w.cancel().catch(() => undefined);
  };
  sweep();
  let n = 0;
  const timer = setInterval(() => {
    sweep();
    if (++n >= 30) clearInterval(timer);
  }, 100);
  timer.unref();
}

export class EtcdSession {
  readonly client: Etcd3;
  private lease: Lease | undefined;
  private lastError: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Nodes registered at the last successful probe. */
  nodeCount = 0;

  constructor(readonly opts: EtcdSessionOptions) {
    const timeout = opts.callTimeoutMs ?? 5_000;
    this.client = new Etcd3({
      hosts: opts.hosts,
      dialTimeout: timeout,
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
    });
  }

  get up(): boolean {
    return this.lastError === undefined;
  }

  /** Why the node is not ready because of etcd, or undefined. */
  reason(): string | undefined {
    return this.lastError === undefined ? undefined : `etcd unreachable: ${this.lastError}`;
  }

  /** Records the outcome of an etcd call; a change of state is reported once. */
  observe(err?: unknown): void {
    const before = this.lastError;
    this.lastError = err === undefined ? undefined : describeError(err);
    if ((before === undefined) !== (this.lastError === undefined)) this.opts.onState(this.up, this.lastError);
  }

  /** The session lease's id (granted anew after it was lost, e.g. etcd was down longer than its TTL). */
  async leaseId(): Promise<string> {
    if (!this.lease || this.lease.revoked()) {
      const lease = this.client.lease(this.opts.leaseTtlSec);
      lease.on('lost', () => {
        if (this.lease === lease) this.lease = undefined;
      });
      this.lease = lease;
    }
    const lease = this.lease;
    try {
      const id = await lease.grant();
      await this.register(id);
      return id;
    } catch (err) {
      if (this.lease === lease) this.lease = undefined;
      lease.release();
      throw err;
    }
  }

  private registeredWith: string | undefined;

  /** `nodes/<node>` under the session lease (gone when the node dies), written again when what it says changes. */
  private async register(id: string): Promise<void> {
    const value = JSON.stringify(this.opts.describe());
    if (this.registeredWith === `${id} ${value}`) return;
    await this.client.put(`${this.opts.prefix}nodes/${this.opts.node}`).value(value).lease(id).exec();
    this.registeredWith = `${id} ${value}`;
  }

  /** Registered nodes of the cluster (name → what each says of itself). */
  async nodes(): Promise<Record<string, string>> {
    const dir = `${this.opts.prefix}nodes/`;
    const all = await this.client.getAll().prefix(dir).strings();
    return Object.fromEntries(Object.entries(all).map(([k, v]) => [k.slice(dir.length), v]));
  }

  /** One probe: the session lease is (re)granted and the node registered. */
  async probe(): Promise<void> {
    try {
      await this.leaseId();
      this.nodeCount = Object.keys(await this.nodes()).length;
      this.observe();
    } catch (err) {
      this.observe(err);
    }
  }

  start(): void {
    void this.probe();
    this.timer ??= setInterval(() => void this.probe(), this.opts.probeMs ?? 2_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    const lease = this.lease;
    this.lease = undefined;
    // A clean stop frees this node's claims and registration at once (a crash leaves them to the TTL).
    await lease?.revoke({ deadline: Date.now() + 1_000 }).catch(() => undefined);
    cancelWatches(this.client);
    this.client.close();
  }
}
