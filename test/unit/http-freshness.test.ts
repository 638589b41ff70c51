import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  expiresAt,
  freshnessLifetimeMs,
  isStorable,
  parseCacheControl,
  staleOnErrorAllowed,
  staleWhileRevalidateUntil,
} from '../../daemon/core/http-freshness.js';

const NOW = Date.parse('2024-06-01T12:00:00Z');
const http = (ms: number) => new Date(ms).toUTCString();

test('Cache-Control parsing', () => {
  const cc = parseCacheControl(
    'Public, MAX-AGE=60, s-maxage="120", no-cache, must-revalidate, stale-while-revalidate=30, stale-if-error=600',
  );
  assert.deepEqual(cc, {
    maxAge: 60,
    sMaxAge: 120,
    noStore: false,
    noCache: true,
    private: false,
    mustRevalidate: true,
    staleWhileRevalidate: 30,
    staleIfError: 600,
  });
  assert.equal(parseCacheControl('proxy-revalidate').mustRevalidate, true);
  assert.equal(parseCacheControl('max-age=abc').maxAge, 0);
});

test('freshness: s-maxage > max-age > Expires > heuristic > fallback', () => {
  const ttl = 300_000;
  assert.equal(freshnessLifetimeMs({ cacheControl: 'max-age=60, s-maxage=10' }, ttl, NOW), 10_000);
  assert.equal(freshnessLifetimeMs({ cacheControl: 'max-age=60', expires: http(NOW + 999_000) }, ttl, NOW), 60_000);
  assert.equal(freshnessLifetimeMs({ expires: http(NOW + 90_000), date: http(NOW) }, ttl, NOW), 90_000);
  assert.equal(freshnessLifetimeMs({ expires: '0' }, ttl, NOW), 0);
  // 10% of a 1000 s Last-Modified age = 100 s
  assert.equal(freshnessLifetimeMs({ lastModified: http(NOW - 1_000_000), date: http(NOW) }, ttl, NOW), 100_000);
  // capped by the fallback
  assert.equal(freshnessLifetimeMs({ lastModified: http(NOW - 1e10) }, ttl, NOW), ttl);
  assert.equal(freshnessLifetimeMs({}, ttl, NOW), ttl);
  assert.equal(freshnessLifetimeMs({ cacheControl: 'no-cache, max-age=600' }, ttl, NOW), 0);
  assert.equal(expiresAt({ cacheControl: 'max-age=60', age: '50' }, ttl, NOW), NOW + 10_000);
});

test('storability and stale rules', () => {
  assert.equal(isStorable({ cacheControl: 'no-store' }), false);
  assert.equal(isStorable({ cacheControl: 'private, max-age=60' }), false);
  assert.equal(isStorable({ vary: '*' }), false);
  assert.equal(isStorable({ cacheControl: 'public, max-age=60', vary: 'Accept-Encoding' }), true);
  assert.equal(staleOnErrorAllowed(undefined, NOW - 1e9, NOW), true);
  assert.equal(staleOnErrorAllowed('max-age=60, must-revalidate', NOW - 1000, NOW), false);
  assert.equal(staleOnErrorAllowed('s-maxage=60', NOW - 1000, NOW), false);
  assert.equal(staleOnErrorAllowed('max-age=60, stale-if-error=10', NOW - 5_000, NOW), true);
  assert.equal(staleOnErrorAllowed('max-age=60, stale-if-error=10', NOW - 11_000, NOW), false);
  assert.equal(staleWhileRevalidateUntil('max-age=1, stale-while-revalidate=30', NOW), NOW + 30_000);
  assert.equal(staleWhileRevalidateUntil('max-age=1, stale-while-revalidate=30, must-revalidate', NOW), 0);
  assert.equal(staleWhileRevalidateUntil('max-age=1', NOW), 0);
});
