/**
 * A scoped token cannot be named `admin`: that is the name the admin token
 * is identified and audited by, so a scoped token of that name would be
 * indistinguishable from it in the audit log.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdminAuth } from '../../daemon/admin/auth.js';
import { type StoredToken, TokenStore } from '../../daemon/admin/tokens.js';
import type { KvTable } from '../../daemon/core/ports.js';
import { LarderError } from '../../daemon/core/errors.js';

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
    yield* this.rows;
  }
}

test('a scoped token named like the admin token is refused', async () => {
  const store = new TokenStore(new MemTable<StoredToken>());
  await assert.rejects(store.create('admin', 'admin'), (e: unknown) => e instanceof LarderError && e.code === 'E_BAD_REQUEST');
  const created = await store.create('edge-1', 'admin');
  const auth = new AdminAuth('/nonexistent/admin-token', 'x'.repeat(32), store);
  await auth.init();
  assert.equal(auth.identify(`Bearer ${created.token}`)?.name, 'edge-1');
  assert.equal(auth.identify(`Bearer ${'x'.repeat(32)}`)?.name, 'admin');
});
