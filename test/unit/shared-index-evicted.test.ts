/**
 * A node must not adopt a shared entry whose blob the cluster just evicted:
 * the entry can be read from S3 just before the elected node deletes it and
 * stored here after this node handled the eviction notice (which found
 * nothing to drop). Digests of recent notices are remembered; such an entry
 * is a miss, and one this node commits again is adopted as usual.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SharedIndexStore } from '../../daemon/cluster/shared-index.js';
import type { Entry } from '../../daemon/core/types.js';
import { makeCore } from '../helpers/core.js';

const digest = `sha256:${'ab'.repeat(32)}`;
const entry = { key: 'files:web:a.bin', digest, size: 3, storedAt: 1, headers: {} } as unknown as Entry;

test('an entry whose blob was evicted lately is not adopted, not even when the notice came while it was read', async () => {
  const core = await makeCore();
  try {
    let onRead: (() => void) | undefined;
    const shared = {
      put: async () => undefined,
      get: async (k: string) => {
        onRead?.(); // the notice arrives while the (stale) entry is being read
        return k === entry.key ? entry : undefined;
      },
    };
    const index = new SharedIndexStore(core.deps.index, shared, { failed: (_op, err) => assert.fail(err as Error) });
    onRead = () => index.evicted(digest);
    assert.equal(await index.adopt(entry.key), undefined, 'not adopted');
    assert.equal(index.getEntry(entry.key), undefined, 'nothing stored locally');

    // This node commits the blob again: the notice no longer counts.
    onRead = undefined;
    await index.putEntry(entry, [[digest, { size: 3, createdAt: 1, lastAccess: 1 }]]);
    await index.deleteEntry(entry.key);
    assert.equal((await index.adopt(entry.key))?.digest, digest, 'adopted once committed again');
  } finally {
    await core.close();
  }
});
