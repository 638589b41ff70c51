/**
 * Writes to the cluster's pin set on a real etcd (two nodes' pin tables and
 * managers in this process, a scripted warmer): every write is applied to
 * the pin as etcd holds it (a conditional write), so a node never writes a
 * stale copy over another node's newer resolution, nor back a pin that is
 * not in the cluster's set; a closure being warmed is marked in etcd until
 * its keys are stored; only the elected node re-checks pins; a node
 * whose seeding of a new cluster's pin set stopped half way resumes it; and
 * a pin written after a read of the pin set (a bundle import sets no
 * warming marker) is seen against that read's revision.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { EtcdPinTable } from '../../daemon/cluster/etcd-pins.js';
import { EtcdSession } from '../../daemon/cluster/etcd-session.js';
import type { KvTable } from '../../daemon/core/ports.js';
import type { Closure, Warmer } from '../../daemon/core/warm.js';
import { PinManager, pinId, type StoredPin } from '../../daemon/pins/manager.js';
import { startEtcd, type EtcdServer } from '../helpers/etcd.js';

class MemTable<T> implements KvTable<T> {
  readonly rows = new Map<string, T>();
  get(key: string): T | undefined {
    return this.rows.get(key);
  }
  async put(key: string, value: T): Promise<void> {
    this.rows.set(key, value);
  }
  async remove(key: string): Promise<void> {
    this.rows.delete(key);
  }
  *range(): Iterable<[string, T]> {
    yield* [...this.rows].sort(([a], [b]) => (a < b ? -1 : 1));
  }
}

/** A warmer whose upstream answers `version`; `gate` holds resolve, `warmGate` holds warm (when set). */
class ScriptedWarmer implements Warmer {
  readonly protocol = 'url';
  version = 'v1';
  resolves = 0;
  gate: Promise<void> | undefined;
  warmGate: Promise<void> | undefined;
  async resolve(): Promise<string> {
    this.resolves++;
    const v = this.version;
    await this.gate;
    return v;
  }
  async warm(): Promise<Closure> {
    const v = this.version;
    await this.warmGate;
    return { resolved: v, keys: [`files:web:x.bin@${v}`], bytes: 1, fetched: 1, children: [] };
  }
}

let etcd: EtcdServer;
const sessions: EtcdSession[] = [];
before(async () => {
  etcd = await startEtcd();
});
after(async () => {
  await Promise.all(sessions.map((s) => s.stop()));
  await etcd?.stop();
});

function node(prefix: string, name: string, warmer = new ScriptedWarmer(), checks?: () => boolean) {
  const session = new EtcdSession({
    hosts: [etcd.url],
    prefix,
    node: name,
    leaseTtlSec: 10,
    describe: () => ({}),
    onState: () => undefined,
  });
  sessions.push(session);
  const local = new MemTable<StoredPin>();
  const table = new EtcdPinTable(session, local, { failed: () => undefined });
  const manager = new PinManager({
    table,
    warmers: new Map([['url', warmer]]),
    intervalMs: 3_600_000,
    onChange: () => undefined,
    onAudit: async () => undefined,
    ...(checks ? { checks } : {}),
  });
  return { session, local, table, manager, warmer };
}

const inEtcd = async (s: EtcdSession, prefix: string, id: string): Promise<StoredPin | undefined> => {
  const v = await s.client.get(`${prefix}pins/${id}`).string();
  return v === null ? undefined : (JSON.parse(v) as StoredPin);
};

test("a refresh never writes back a pin the cluster's set does not hold (a joining node's own pin)", async () => {
  const prefix = `/larder/${randomBytes(4).toString('hex')}/`;
  const a = node(prefix, 'a');
  await a.table.sync(); // seeds the (empty) cluster pin set
  const b = node(prefix, 'b');
  const ref = 'url:web/x.bin';
  const id = pinId(ref);
  // b's mirror still holds a pin of its own from before it joined (its first sync has not run yet).
  const own = { id, ref, mutable: true, status: 'ok', size: 1, items: 1, createdAt: 1, lagSeconds: 0, source: 'api' } as const;
  await b.local.put(id, { ...own, resolved: 'v1', keys: ['files:web:x.bin@v1'], history: [], historyLimit: 0 });
  await b.manager.refresh(id);
  assert.equal(b.warmer.resolves, 1, 'the pin was re-checked');
  assert.equal(await inEtcd(a.session, prefix, id), undefined, 'not written into the cluster');
  assert.equal(b.local.get(id), undefined, "dropped from b's mirror");
});

test("a node's stale refresh does not overwrite another node's newer resolution; a warm is marked in etcd", async () => {
  const prefix = `/larder/${randomBytes(4).toString('hex')}/`;
  const a = node(prefix, 'a');
  const b = node(prefix, 'b');
  await a.table.sync();
  const ref = 'url:web/x.bin';
  const id = pinId(ref);
  await a.manager.add(ref);
  await b.table.sync();
  assert.equal(b.local.get(id)?.resolved, 'v1');

  // b re-checks and is held while its upstream still says v1…
  let release = (): void => undefined;
  b.warmer.gate = new Promise((r) => (release = r));
  const stale = b.manager.refresh(id);
  // …meanwhile a sees v2 and warms it: marked in etcd while it warms.
  a.warmer.version = 'v2';
  let warmed = (): void => undefined;
  a.warmer.warmGate = new Promise((r) => (warmed = r));
  const moving = a.manager.refresh(id);
  const marker = `${prefix}warming/a/${id}`;
  for (let i = 0; i < 200 && (await a.session.client.get(marker).string()) === null; i++) await new Promise((r) => setTimeout(r, 10));
  assert.notEqual(await a.session.client.get(marker).string(), null, 'the warm is marked');
  warmed();
  await moving;
  assert.equal(await a.session.client.get(marker).string(), null, 'the marker goes once the keys are stored');
  assert.deepEqual((await inEtcd(a.session, prefix, id))?.keys, ['files:web:x.bin@v2']);

  release();
  await stale;
  const now = await inEtcd(a.session, prefix, id);
  assert.equal(now?.resolved, 'v2', "a's newer resolution stands");
  assert.deepEqual(now?.keys, ['files:web:x.bin@v2'], 'the v2 closure stays protected');
});

test('only the elected node re-checks pins on the interval', async () => {
  const prefix = `/larder/${randomBytes(4).toString('hex')}/`;
  let leading = false;
  const n = node(prefix, 'a', new ScriptedWarmer(), () => leading);
  await n.table.sync();
  await n.manager.add('url:web/x.bin');
  n.warmer.resolves = 0;
  n.manager.start(); // checks at once (resolve is called synchronously), then every hour
  assert.equal(n.warmer.resolves, 0, 'a member does not re-check');
  await n.manager.stop();
  leading = true;
  const m = node(prefix, 'b', n.warmer, () => leading);
  await m.table.sync();
  m.manager.start();
  await m.manager.stop();
  assert.equal(n.warmer.resolves, 1, 'the leader does');
});

test('a node that stopped while seeding the pin set resumes it; another node takes what is there', async () => {
  const prefix = `/larder/${randomBytes(4).toString('hex')}/`;
  const pin = (ref: string): StoredPin => ({
    ...{ id: pinId(ref), ref, mutable: true, status: 'ok', size: 1, items: 1, createdAt: 1, lagSeconds: 0, source: 'api' },
    ...{ resolved: 'v1', keys: [`files:${ref}`], history: [], historyLimit: 0 },
  });
  // Node a claimed the marker and stored one of its two pins, then stopped.
  const a = node(prefix, 'a');
  await a.session.client.put(`${prefix}pins-seeded`).value('seeding:a').exec();
  await a.session.client
    .put(`${prefix}pins/${pinId('url:web/1.bin')}`)
    .value(JSON.stringify(pin('url:web/1.bin')))
    .exec();
  const b = node(prefix, 'b');
  await b.local.put(pinId('url:web/b.bin'), pin('url:web/b.bin'));
  await b.table.sync();
  assert.deepEqual(
    [...b.local.rows.values()].map((p) => p.ref),
    ['url:web/1.bin'],
    'b takes the pin set, brings nothing',
  );
  for (const r of ['url:web/1.bin', 'url:web/2.bin']) await a.local.put(pinId(r), pin(r));
  await a.table.sync();
  assert.ok(await inEtcd(a.session, prefix, pinId('url:web/2.bin')), "a's second pin is uploaded");
  assert.equal(await a.session.client.get(`${prefix}pins-seeded`).string(), 'done');
  assert.deepEqual([...a.local.rows.values()].map((p) => p.ref).sort(), ['url:web/1.bin', 'url:web/2.bin']);
});

test('a pin written after a read of the pin set is seen against the revision of that read; a removal is not', async () => {
  const prefix = `/larder/${randomBytes(4).toString('hex')}/`;
  const a = node(prefix, 'a');
  const b = node(prefix, 'b');
  await a.manager.add('url:web/x.bin');
  const read = await a.table.sync();
  assert.equal(await a.table.writtenSince(read), false, 'nothing written since the read');
  await b.table.sync();
  const restored = await b.manager.restore({ ref: 'url:web/y.bin', mutable: false, keys: ['files:web:y.bin@v1'], size: 1 });
  assert.ok(restored);
  assert.equal(await a.table.writtenSince(read), true, "another node's bundle import is seen");
  const again = await a.table.sync();
  assert.ok(again > read);
  await b.table.sync();
  await b.manager.remove(pinId('url:web/x.bin'));
  assert.equal(await a.table.writtenSince(again), false, 'a removal protects nothing: not reported');
});
