/**
 * The dashboard's pure logic, without a browser: formatting, the hit-rate
 * series extended from live stats, routes, the live event wire formats,
 * reference hints, ticking pin lag and job progress.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Job, StatsPoint } from '../../daemon/admin/contract.js';
import { formatAgo, formatBytes, formatDuration, formatPercent, lagLevel, shortDigest } from '../../renderer/format.js';
import { parseLiveEvent } from '../../renderer/live.js';
import { parseRoute, routeHash } from '../../renderer/route.js';
import { addSnapshot, hitRateColumns, STEP_MS } from '../../renderer/state/series.js';
import { newerJob, Store } from '../../renderer/state/store.js';
import { timeWindow, tickLabel } from '../../renderer/components/chart.js';
import { jobProgress } from '../../renderer/views/job-card.js';
import { worstLag } from '../../renderer/views/key-figures.js';
import { refHint } from '../../renderer/views/pin-form.js';
import { currentLag } from '../../renderer/views/pins.js';
import { parseRefs } from '../../renderer/views/prewarm.js';
import { makePin, makeStats } from '../electron/fixtures.js';

describe('dashboard model', () => {
  it('formats bytes, percentages, durations, ages and digests', () => {
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(1536), '1.50 KiB');
    assert.equal(formatBytes(50 * 1024 ** 3), '50.0 GiB');
    assert.equal(formatPercent(2 / 3), '66.7%');
    assert.equal(formatDuration(45), '45s');
    assert.equal(formatDuration(3725), '1h 2m');
    assert.equal(formatAgo(undefined), 'never');
    assert.equal(formatAgo(1_000_000 - 300_000, 1_000_000), '5m ago');
    assert.equal(shortDigest(`sha256:${'ab'.repeat(32)}`), 'sha256:abababababab');
    assert.equal(shortDigest('3.0.0'), '3.0.0');
    assert.deepEqual([lagLevel(0, 900), lagLevel(10, 900), lagLevel(900, 900)], ['ok', 'warn', 'bad']);
  });

  it('adds live stats deltas to the current 10 s bucket, or starts a new one', () => {
    const t0 = 1_700_000_000_000 - (1_700_000_000_000 % STEP_MS);
    const a = makeStats({
      now: t0 + 1000,
      requests: { total: 10, hit: 6, miss: 4, revalidated: 0, stale: 0, bypass: 0 },
      bytesServed: { cache: 600, upstream: 400 },
    });
    const hist: StatsPoint[] = [{ t: t0, hits: 6, misses: 4, hitRate: 0.6, bytesCache: 600, bytesUpstream: 400 }];
    const b = makeStats({
      now: t0 + 5000,
      requests: { total: 14, hit: 9, miss: 5, revalidated: 0, stale: 0, bypass: 0 },
      bytesServed: { cache: 900, upstream: 500 },
    });
    const s1 = addSnapshot(hist, a, b);
    assert.deepEqual(s1, [{ t: t0, hits: 9, misses: 5, hitRate: 9 / 14, bytesCache: 900, bytesUpstream: 500 }]);
    assert.equal(hist[0]!.hits, 6, 'input not modified');
    const c = makeStats({
      now: t0 + STEP_MS + 10,
      requests: { total: 16, hit: 11, miss: 5, revalidated: 0, stale: 0, bypass: 0 },
      bytesServed: { cache: 1000, upstream: 500 },
    });
    const s2 = addSnapshot(s1, b, c);
    assert.equal(s2.length, 2);
    assert.deepEqual(s2[1], { t: t0 + STEP_MS, hits: 2, misses: 0, hitRate: 1, bytesCache: 100, bytesUpstream: 0 });
    // A daemon restart resets counters: the new totals are the delta.
    const restarted = makeStats({
      now: t0 + STEP_MS + 20,
      requests: { total: 1, hit: 1, miss: 0, revalidated: 0, stale: 0, bypass: 0 },
      bytesServed: { cache: 5, upstream: 0 },
    });
    assert.equal(addSnapshot(s2, c, restarted)[1]!.hits, 3);
    assert.deepEqual(
      hitRateColumns([
        { t: 10_000, hits: 0, misses: 0, hitRate: 0, bytesCache: 0, bytesUpstream: 0 },
        { t: 20_000, hits: 1, misses: 2, hitRate: 1 / 3, bytesCache: 0, bytesUpstream: 0 },
      ]),
      [
        [10, 20],
        [null, 33.3],
      ],
    );
  });

  it('puts the last hour up to now on the time axis, and labels ticks with the time of day', () => {
    const s = Date.UTC(2025, 5, 1, 12, 0, 0) / 1000;
    assert.deepEqual(timeWindow(s * 1000 + 400), [s + 1 - 3600, s + 1], 'whole seconds, ending at or just after now');
    assert.deepEqual(timeWindow(s * 1000, 600), [s - 600, s]);
    const local = new Date(2025, 5, 1, 9, 5, 59);
    assert.equal(tickLabel(local.getTime() / 1000), '09:05');
  });

  it("counts the overview's worst lag as the tray does: none without pins or parent, else 0 and up", () => {
    assert.deepEqual(worstLag(makeStats()), { seconds: null, level: 'ok' });
    assert.deepEqual(worstLag(makeStats({ pins: { count: 2, lagging: 0, maxLagSeconds: 0, lagThresholdSeconds: 900 } })), {
      seconds: 0,
      level: 'ok',
    });
    assert.deepEqual(worstLag(makeStats({ pins: { count: 2, lagging: 1, maxLagSeconds: 60, lagThresholdSeconds: 900 } })), {
      seconds: 60,
      level: 'warn',
    });
    const replication = { parent: 'http://parent', appliedSeq: 1, parentSeq: 3, lagSeconds: 1000, connected: false };
    assert.deepEqual(worstLag(makeStats({ replication })), { seconds: 1000, level: 'bad' });
  });

  it('parses routes', () => {
    assert.deepEqual(parseRoute(''), { tab: 'overview' });
    assert.deepEqual(parseRoute('#pins/abc%2Fdef'), { tab: 'pins', item: 'abc/def' });
    assert.deepEqual(parseRoute('#/storage'), { tab: 'storage' });
    assert.deepEqual(parseRoute('#nonsense'), { tab: 'overview' });
    assert.equal(routeHash({ tab: 'pins', item: 'a/b' }), '#pins/a%2Fb');
  });

  it('reads both SSE wire shapes, and ignores junk', () => {
    const stats = makeStats();
    assert.deepEqual(parseLiveEvent('stats', JSON.stringify(stats)), { type: 'stats', data: stats });
    assert.deepEqual(parseLiveEvent('message', JSON.stringify({ type: 'pin-removed', data: { id: 'x' } })), {
      type: 'pin-removed',
      data: { id: 'x' },
    });
    assert.equal(parseLiveEvent('message', JSON.stringify({ id: 'x' })), undefined);
    assert.equal(parseLiveEvent('stats', 'not json'), undefined);
    assert.equal(parseLiveEvent('unknown', '{}'), undefined);
  });

  it('splits pre-warm references and hints at reference prefixes', () => {
    assert.deepEqual(parseRefs('npm:a@1 # comment\n\n  pypi:b==2 go:x.org/y@v1.0.0\n'), ['npm:a@1', 'pypi:b==2', 'go:x.org/y@v1.0.0']);
    assert.equal(refHint('npm:a@1'), undefined);
    assert.match(refHint('left-pad')!, /starts with npm:/);
  });

  it('ticks a lagging pin from changeSeenAt, and computes job progress', () => {
    const now = 1_000_000;
    assert.equal(currentLag(makePin('a', { status: 'lagging', lagSeconds: 5, changeSeenAt: now - 60_000 }), now), 60);
    assert.equal(currentLag(makePin('b', { status: 'ok', lagSeconds: 0 }), now), 0);
    const job = { state: 'running', total: 4, done: 2, failed: 1 } as Job;
    assert.equal(jobProgress(job), 0.75);
    assert.equal(jobProgress({ ...job, total: 0, state: 'done' }), 1);
  });

  it('keeps the newer snapshot of a job when a late POST answer arrives after its live events', () => {
    const queued: Job = { id: 'j1', state: 'queued', createdAt: 1, source: 'x', items: [], bytes: 0, done: 0, failed: 0, total: 2 };
    const running: Job = { ...queued, state: 'running', done: 1, bytes: 10 };
    const done: Job = { ...queued, state: 'done', done: 2, bytes: 20 };
    assert.equal(newerJob(undefined, queued), queued);
    assert.equal(newerJob(done, queued), done);
    assert.equal(newerJob(queued, running), running);
    assert.equal(newerJob(running, { ...running, done: 0, bytes: 5 }), running);
    assert.equal(newerJob(running, done), done);
  });

  it('a removed pin stays removed when its last update arrives after the removal; other pins still come and go live', () => {
    const store = new Store();
    store.state.pins = { status: 'ready', value: [makePin('p1'), makePin('p2')] };
    store.apply({ type: 'pin-removed', data: { id: 'p2' } });
    store.apply({ type: 'pin', data: makePin('p2', { status: 'ok' }) });
    store.apply({ type: 'pin', data: makePin('p3') });
    assert.deepEqual(store.state.pins.status === 'ready' ? store.state.pins.value.map((p) => p.id) : [], ['p1', 'p3']);
  });
});
