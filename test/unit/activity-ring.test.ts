/**
 * ActivityRing: requests stored as numbers and path bytes read back as the
 * same items (fields and their order) the ring used to keep as objects,
 * interleaved with other kinds, newest first, wrapping at its size, and
 * filtered by kind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ActivityRing, PATH_MAX } from '../../daemon/admin/activity-ring.js';
import { EventBus } from '../../daemon/admin/events.js';

const req = (path: string, status = 200) => ({ method: 'GET', path, protocol: 'npm', cache: 'HIT', status });

test('a request reads back as the item the ring used to keep, field order included', () => {
  const ring = new ActivityRing(4);
  ring.request(req('/npm/left-pad'), 1234);
  const [item] = ring.recent(undefined, 10);
  assert.equal(
    JSON.stringify(item),
    JSON.stringify({
      at: 1234,
      kind: 'request',
      message: 'GET /npm/left-pad',
      protocol: 'npm',
      cache: 'HIT',
      status: 200,
      path: '/npm/left-pad',
    }),
  );
});

test('newest first, wrapping at the ring size, other kinds interleaved and filtered', () => {
  const ring = new ActivityRing(3);
  ring.request(req('/a'), 1);
  ring.add({ at: 2, kind: 'stale', message: 'served stale x' });
  ring.request(req('/b', 404), 3);
  ring.request({ method: 'HEAD', path: '/c', protocol: 'oci', cache: 'MISS', status: 206 }, 4);
  assert.deepEqual(
    ring.recent(undefined, 10).map((i) => i.message),
    ['HEAD /c', 'GET /b', 'served stale x'],
  );
  const c = ring.recent(undefined, 1)[0]!;
  assert.equal(c.protocol, 'oci');
  assert.equal(c.cache, 'MISS');
  assert.equal(c.status, 206);
  assert.deepEqual(
    ring.recent(new Set(['request']), 10).map((i) => i.path),
    ['/c', '/b'],
  );
  assert.deepEqual(
    ring.recent(new Set(['stale']), 10).map((i) => i.at),
    [2],
  );
  assert.equal(ring.recent(undefined, 2).length, 2);
});

test('paths are cut at PATH_MAX characters; non-ASCII paths come back unchanged', () => {
  const ring = new ActivityRing(4);
  const long = `/npm/${'x'.repeat(400)}`;
  ring.request(req(long), 1);
  ring.request(req('/npm/café-ü'), 2);
  const [utf, cut] = ring.recent(undefined, 10);
  assert.equal(cut!.path, long.slice(0, PATH_MAX));
  assert.equal(cut!.message, `GET ${long.slice(0, PATH_MAX)}`);
  assert.equal(utf!.path, '/npm/café-ü');
  assert.equal(utf!.message, 'GET /npm/café-ü');
});

test('EventBus: requests are remembered but not pushed live; other kinds are both', () => {
  const bus = new EventBus(10);
  const live: string[] = [];
  bus.subscribe((e) => {
    if (e.type === 'activity') live.push(e.data.message);
  });
  bus.request(req('/npm/x'));
  bus.activity('eviction', 'removed y');
  assert.deepEqual(live, ['removed y']);
  assert.deepEqual(
    bus.recent().map((i) => i.message),
    ['removed y', 'GET /npm/x'],
  );
  assert.ok(Math.abs(bus.recent()[1]!.at - Date.now()) < 5000);
});
