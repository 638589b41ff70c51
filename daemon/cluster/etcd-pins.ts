/**
 * The cluster's pin set in etcd: one key per pin, `<prefix>pins/<pin id>`,
 * holding the stored pin as JSON. This node's durable pin table is a mirror
 * of it, kept current by a watch on the prefix and a full read now and then
 * (and before every S3 eviction pass), so reads (the pin list, the protected
 * keys of local eviction) never wait on etcd. A write goes to etcd first and
 * fails when etcd cannot be reached: a pin this node alone knew of would
 * not protect anything from the cluster's eviction.
 *
 * The first node to join a cluster whose pin set was never written brings
 * its local pins along (once; resumed if it stopped half way); after that etcd is the
 * truth and a joining node's local pins are replaced by the cluster's.
 */
import type { Watcher } from 'etcd3';
import { LarderError } from '../core/errors.js';
import type { KvTable } from '../core/ports.js';
import type { PinChange, PinStore, StoredPin } from '../pins/store.js';
import type { EtcdSession } from './etcd-session.js';

export interface EtcdPinsHooks {
  /** A pin added, changed or removed by another node (or by this one), as the mirror learns it. */
  changed?(id: string, pin: StoredPin | undefined): void;
  /** Reading the pin set from etcd failed (the mirror keeps its last state). */
  failed(err: unknown): void;
}

export class EtcdPinTable implements PinStore {
  private watcher: Watcher | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly session: EtcdSession,
    private readonly local: KvTable<StoredPin>,
    private readonly hooks: EtcdPinsHooks,
    private readonly resyncMs = 30_000,
  ) {}

  private get dir(): string {
    return `${this.session.opts.prefix}pins/`;
  }

  get(key: string): StoredPin | undefined {
    return this.local.get(key);
  }

  range(opts?: { start?: string; end?: string; reverse?: boolean; limit?: number }): Iterable<[string, StoredPin]> {
    return this.local.range(opts);
  }

  async put(key: string, value: StoredPin): Promise<void> {
    try {
      await this.session.client
        .put(this.dir + key)
        .value(JSON.stringify(value))
        .exec();
    } catch (err) {
      this.session.observe(err);
      throw new LarderError('E_STORAGE', `cannot store pin ${value.ref} in the cluster's pin set: etcd unreachable`, { cause: err });
    }
    await this.local.put(key, value);
  }

  async remove(key: string): Promise<void> {
    try {
      await this.session.client
        .delete()
        .key(this.dir + key)
        .exec();
    } catch (err) {
      this.session.observe(err);
      throw new LarderError('E_STORAGE', `cannot remove pin ${key} from the cluster's pin set: etcd unreachable`, { cause: err });
    }
    await this.local.remove(key);
  }

  /**
   * Applies `change` to the pin as etcd holds it now and writes the result
   * only if the key is unchanged since that read (its mod revision; 0: still
   * absent), reading again on a conflict. A pin this node's mirror holds and
   * etcd does not (removed by another node) is dropped, never written back.
   */
  async update(id: string, change: PinChange): Promise<StoredPin | undefined> {
    const { client } = this.session;
    const key = this.dir + id;
    for (let attempt = 0; attempt < 8; attempt++) {
      let written: StoredPin | undefined;
      let current: StoredPin | undefined;
      try {
        const kv = (await client.get(key).exec()).kvs[0];
        current = kv ? parse(kv.value.toString()) : undefined;
        written = change(current);
        if (written) {
          const t = await client
            .if(key, 'Mod', '==', kv ? kv.mod_revision : 0)
            .then(client.put(key).value(JSON.stringify(written)))
            .commit();
          if (!t.succeeded) continue;
        }
      } catch (err) {
        this.session.observe(err);
        throw new LarderError('E_STORAGE', `cannot update pin ${id} in the cluster's pin set: etcd unreachable`, { cause: err });
      }
      const now = written ?? current;
      if (JSON.stringify(this.local.get(id)) !== JSON.stringify(now)) await this.apply(id, now);
      return now;
    }
    throw new LarderError('E_BUSY', `pin ${id} kept changing in the cluster's pin set; try again`);
  }

  /** `warming/<node>/<pin id>` under this node's session lease (gone if the node dies) while a closure is warmed. */
  async warming(id: string): Promise<() => Promise<void>> {
    const key = `${this.session.opts.prefix}warming/${this.session.opts.node}/${id}`;
    try {
      const lease = await this.session.leaseId();
      await this.session.client.put(key).value(String(Date.now())).lease(lease).exec();
    } catch (err) {
      this.session.observe(err);
      throw new LarderError('E_STORAGE', `cannot mark pin ${id} as warming in the cluster: etcd unreachable`, { cause: err });
    }
    return async () => {
      await this.session.client
        .delete()
        .key(key)
        .exec()
        .catch(() => undefined); // the lease ends it with the node
    };
  }

  /** Whether any node is warming a pin's closure now (throws when etcd cannot be read). */
  async anyWarming(): Promise<boolean> {
    return (await this.session.client.getAll().prefix(`${this.session.opts.prefix}warming/`).count()) > 0;
  }

  private seeded = false;

  /**
   * Seeds an empty cluster pin set with this node's pins, once: the node
   * that creates the `pins-seeded` marker (`seeding:<node>`) uploads its
   * pins (in batches: etcd caps the operations of one transaction) and the
   * last batch sets it to `done`. A node that finds the marker saying it is
   * still seeding (it stopped half way) resumes; any other value: the node
   * takes the cluster's pins.
   */
  private async seed(): Promise<void> {
    if (this.seeded) return;
    const { client } = this.session;
    const marker = `${this.session.opts.prefix}pins-seeded`;
    const mine = `seeding:${this.session.opts.node}`;
    const claimed = await client.if(marker, 'Create', '==', 0).then(client.put(marker).value(mine)).commit();
    if (claimed.succeeded || (await client.get(marker).string()) === mine) {
      const pins = [...this.local.range()];
      for (let i = 0; i === 0 || i < pins.length; i += 64) {
        const ops = pins.slice(i, i + 64).map(([id, p]) => client.put(this.dir + id).value(JSON.stringify(p)));
        if (i + 64 >= pins.length) ops.push(client.put(marker).value('done'));
        await client
          .if(marker, 'Value', '==', mine)
          .then(...ops)
          .commit();
      }
    }
    this.seeded = true;
  }

  /** Makes the mirror equal to the pin set in etcd; answers that read's revision (throws when etcd cannot be read; seeds first if never done). */
  async sync(): Promise<bigint> {
    await this.seed();
    const all = await this.session.client.getAll().prefix(this.dir).exec();
    const revision = BigInt(all.header.revision);
    this.revision = revision;
    const want = new Map<string, StoredPin>();
    for (const kv of all.kvs) {
      const pin = parse(kv.value.toString());
      if (pin) want.set(kv.key.toString().slice(this.dir.length), pin);
    }
    for (const [id] of [...this.local.range()]) if (!want.has(id)) await this.apply(id, undefined);
    for (const [id, pin] of want) if (JSON.stringify(this.local.get(id)) !== JSON.stringify(pin)) await this.apply(id, pin);
    return revision;
  }

  /** Whether a pin was added or changed after `revision` (a removal protects nothing: not seen; throws when etcd cannot be read). */
  async writtenSince(revision: bigint): Promise<boolean> {
    // Keys only: etcd counts the whole range, ignoring the revision filter, when asked for a count.
    const keys = await this.session.client
      .getAll()
      .prefix(this.dir)
      .minModRevision(String(revision + 1n))
      .keys();
    return keys.length > 0;
  }

  /** The etcd revision of the last full read (the watch starts after it). */
  private revision: bigint | undefined;

  private async apply(id: string, pin: StoredPin | undefined): Promise<void> {
    if (pin) await this.local.put(id, pin);
    else await this.local.remove(id);
    this.hooks.changed?.(id, pin);
  }

  /** Seeds, reads the pin set, then follows it (watch, and a full read every `resyncMs`). */
  async start(): Promise<void> {
    const resync = (): Promise<void> =>
      this.sync().then(
        () => undefined,
        (err: unknown) => this.hooks.failed(err),
      );
    await resync();
    this.timer ??= setInterval(() => void resync(), this.resyncMs);
    this.timer.unref();
    // `watcher()` rather than `create()`: with etcd down at start it attaches once etcd answers (and stop can cancel it).
    // From just after the full read: a pin written between the read and the watch is not missed.
    const b = this.session.client.watch().prefix(this.dir);
    if (this.revision !== undefined) b.startRevision(String(this.revision + 1n));
    const w = b.watcher();
    w.on('put', (kv) => {
      const pin = parse(kv.value.toString());
      if (pin) void this.apply(kv.key.toString().slice(this.dir.length), pin).catch(() => undefined);
    });
    w.on('delete', (kv) => void this.apply(kv.key.toString().slice(this.dir.length), undefined).catch(() => undefined));
    // After a reconnect the watch resumes from its revision; a full read covers anything compacted away.
    w.on('connected', () => void resync());
    w.on('error', (err) => this.hooks.failed(err));
    this.watcher = w;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    // Not awaited: with etcd unreachable a cancel waits for it.
    void this.watcher?.cancel().catch(() => undefined);
    this.watcher = undefined;
  }
}

function parse(text: string): StoredPin | undefined {
  try {
    const p = JSON.parse(text) as Partial<StoredPin>;
    return typeof p.id === 'string' && typeof p.ref === 'string' && Array.isArray(p.keys) && Array.isArray(p.history)
      ? (p as StoredPin)
      : undefined;
  } catch {
    return undefined;
  }
}
