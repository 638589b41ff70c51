/**
 * The cluster's pin change feed in etcd: one key per record,
 * `<prefix>feed/<16-digit seq>`, so a child daemon polling any node (behind
 * a load balancer) reads one sequence. A sequence number is taken with one
 * etcd transaction: it compares the counter `<prefix>feed-seq` (and the
 * reference's last record, `<prefix>feed-ref/<hash>`) with what was read,
 * and writes counter, record and reference together; on a conflict it reads
 * again and retries. By default every record is kept, as a single daemon's
 * feed keeps them: a child that replays from the start must see every pin's
 * `add` (the feed is its only source of the pin set). With `retain`, the
 * same transaction deletes the record `retain` places back.
 *
 * Reads come from this node's copy of the records, kept by a watch on the
 * prefix (which also wakes long polls) and a full read now and then, so a
 * poll answers with what the node has when etcd is down. A reader sees
 * records only without gaps: one appended elsewhere first is shown before
 * one appended here after it.
 */
import { createHash } from 'node:crypto';
import type { Watcher } from 'etcd3';
import type { FeedRecord } from '../admin/contract.js';
import { LarderError } from '../core/errors.js';
import { type FeedEvent, type FeedStore, feedKey } from '../replication/feed-store.js';
import type { EtcdSession } from './etcd-session.js';

const MAX_TRIES = 50;

export class EtcdFeedStore implements FeedStore {
  private readonly recs = new Map<number, FeedRecord>();
  private top = 0;
  /** Records up to here were dropped by retention (or never seen). */
  private floor = 0;
  private readonly listeners: Array<(head: number) => void> = [];
  private watcher: Watcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private read = false;

  constructor(
    private readonly session: EtcdSession,
    private readonly hooks: { failed(err: unknown): void },
    private readonly retain = Number.POSITIVE_INFINITY,
    private readonly resyncMs = 30_000,
  ) {}

  private get dir(): string {
    return `${this.session.opts.prefix}feed/`;
  }

  private refKey(ref: string): string {
    return `${this.session.opts.prefix}feed-ref/${createHash('sha256').update(ref).digest('hex').slice(0, 32)}`;
  }

  get head(): number {
    return this.top;
  }

  get loaded(): boolean {
    return this.read;
  }

  /** Other nodes append to the same sequence: a reader ahead of this copy is ahead of this node, not of the feed. */
  readonly shared = true;

  since(since: number, limit: number): FeedRecord[] {
    const out: FeedRecord[] = [];
    for (let s = Math.max(since, this.floor) + 1; s <= this.top && out.length < limit; s++) {
      const r = this.recs.get(s);
      if (!r) break;
      out.push(r);
    }
    return out;
  }

  trimmed(since: number): boolean {
    return since < this.floor;
  }

  onAppend(fn: (head: number) => void): void {
    this.listeners.push(fn);
  }

  async append(ev: FeedEvent): Promise<FeedRecord | undefined> {
    const { client } = this.session;
    const counter = `${this.session.opts.prefix}feed-seq`;
    const refKey = this.refKey(ev.ref);
    try {
      for (let i = 0; i < MAX_TRIES; i++) {
        const [c, last] = await Promise.all([client.get(counter).exec(), client.get(refKey).exec()]);
        const seen = parse(last.kvs[0]?.value.toString());
        // Two nodes that see the same pin move both report it: the second is the same change.
        if (ev.kind === 'resolve' && seen && seen.kind !== 'remove' && seen.resolved === ev.resolved) return undefined;
        const seq = Number(c.kvs[0]?.value.toString() ?? '0') + 1;
        const rec: FeedRecord = { seq, at: Date.now(), kind: ev.kind, ref: ev.ref };
        if (ev.resolved !== undefined) rec.resolved = ev.resolved;
        const ops = [
          client.put(counter).value(String(seq)),
          client.put(this.dir + feedKey(seq)).value(JSON.stringify(rec)),
          ev.kind === 'remove' ? client.delete().key(refKey) : client.put(refKey).value(JSON.stringify(rec)),
        ];
        if (seq > this.retain) ops.push(client.delete().key(this.dir + feedKey(seq - this.retain)));
        const r = await client
          .if(counter, 'Mod', '==', c.kvs[0]?.mod_revision ?? '0')
          .and(refKey, 'Mod', '==', last.kvs[0]?.mod_revision ?? '0')
          .then(...ops)
          .commit();
        if (r.succeeded) {
          this.session.observe();
          this.insert(rec);
          return rec;
        }
        // Another node took the number: a short random pause spreads out the next tries.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 * (i + 1))));
      }
    } catch (err) {
      this.session.observe(err);
      throw new LarderError('E_STORAGE', `cannot append to the cluster's pin feed: etcd unreachable`, { cause: err });
    }
    throw new LarderError('E_STORAGE', `cannot append to the cluster's pin feed: ${MAX_TRIES} conflicting appends in a row`);
  }

  /**
   * Starts a new cluster's feed with an `add` for each pin the cluster
   * already has (the pins its first node brought along), once: the node
   * that creates the `feed-seeded` marker appends them.
   */
  async seed(pins: Iterable<FeedEvent>): Promise<number> {
    const { client } = this.session;
    const marker = `${this.session.opts.prefix}feed-seeded`;
    const claimed = await client.if(marker, 'Create', '==', 0).then(client.put(marker).value(this.session.opts.node)).commit();
    if (!claimed.succeeded) return 0;
    let n = 0;
    for (const p of pins) if (await this.append(p)) n++;
    return n;
  }

  private insert(r: FeedRecord): void {
    if (r.seq <= this.floor) return;
    this.recs.set(r.seq, r);
    const before = this.top;
    while (this.recs.has(this.top + 1)) this.top++;
    if (this.top > before) for (const fn of this.listeners) fn(this.top);
  }

  private trim(seq: number): void {
    if (seq <= this.floor) return;
    for (let s = this.floor + 1; s <= seq; s++) this.recs.delete(s);
    this.floor = seq;
    if (this.top < this.floor) this.top = this.floor;
  }

  /** Makes this node's copy equal to the records in etcd (throws when etcd cannot be read). */
  async sync(): Promise<void> {
    const all = await this.session.client.getAll().prefix(this.dir).strings();
    const got = Object.entries(all)
      .map(([, v]) => parse(v))
      .filter((r): r is FeedRecord => r !== undefined)
      .sort((a, b) => a.seq - b.seq);
    const oldest = got[0]?.seq;
    if (oldest !== undefined && oldest - 1 > this.floor) this.trim(oldest - 1);
    for (const r of got) this.insert(r);
    this.read = true;
  }

  /** Reads the feed, then follows it (watch, and a full read every `resyncMs`). */
  async start(): Promise<void> {
    const resync = (): Promise<void> => this.sync().catch((err: unknown) => this.hooks.failed(err));
    await resync();
    this.timer ??= setInterval(() => void resync(), this.resyncMs);
    this.timer.unref();
    const w = this.session.client.watch().prefix(this.dir).watcher();
    w.on('put', (kv) => {
      const r = parse(kv.value.toString());
      if (r) this.insert(r);
    });
    w.on('delete', (kv) => this.trim(Number(kv.key.toString().slice(this.dir.length))));
    w.on('connected', () => void resync());
    w.on('error', (err) => this.hooks.failed(err));
    this.watcher = w;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    void this.watcher?.cancel().catch(() => undefined);
    this.watcher = undefined;
  }
}

function parse(text: string | undefined): FeedRecord | undefined {
  if (text === undefined) return undefined;
  try {
    const r = JSON.parse(text) as Partial<FeedRecord>;
    return typeof r.seq === 'number' && typeof r.ref === 'string' && typeof r.kind === 'string' ? (r as FeedRecord) : undefined;
  } catch {
    return undefined;
  }
}
