/**
 * The parent's list of children is keyed by the `child` a feed poll names,
 * which any replicate token chooses: it is bounded, the least recently seen
 * child making room for a new one (in memory and in the durable table).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KvTable } from '../../daemon/core/ports.js';
import { ChildRegistry, MAX_CHILDREN } from '../../daemon/replication/children.js';
import type { PinFeed } from '../../daemon/replication/feed.js';

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

test('children named by feed polls are bounded; the least recently seen one goes first', () => {
  const table = new MemTable<{ id: string; lastSeenSeq: number; lastSeenAt: number }>();
  const feed = { next: () => undefined } as unknown as PinFeed;
  const children = new ChildRegistry(table, feed);
  children.seen('edge-1', 0)();
  for (let i = 0; i < MAX_CHILDREN + 50; i++) children.seen(`junk-${i}`, 0)();
  children.seen('edge-1', 1)();
  const ids = children.list().map((c) => c.id);
  assert.equal(ids.length, MAX_CHILDREN);
  assert.ok(ids.includes('edge-1'), 'a child that keeps polling stays listed');
  assert.ok(!ids.includes('junk-0'), 'the least recently seen child was dropped');
  assert.ok(table.rows.size <= MAX_CHILDREN, `the durable table holds ${table.rows.size} children`);
});
