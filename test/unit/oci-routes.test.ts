/**
 * Unit tests of the OCI adapter's pure parts: path routing for the three
 * client layouts, name/tag/digest validation, Accept parsing, challenge
 * parsing, image references, tag-list paging and Link rewriting, the token
 * cache's keying and expiry, and the OCI error format.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { LarderError } from '../../daemon/core/errors.js';
import { MemoryBudget } from '../../daemon/core/memory-budget.js';
import type { UpstreamRequest, UpstreamResponse } from '../../daemon/core/ports.js';
import { parseChallenges, TokenCache } from '../../daemon/protocols/oci/auth.js';
import { parseImageRef, parsePlatform } from '../../daemon/protocols/oci/closure.js';
import { renderOciError } from '../../daemon/protocols/oci/errors.js';
import { accepts, manifestTypeOf, parseAccept } from '../../daemon/protocols/oci/media.js';
import { parseRoute, RemoteTable, type OciRoute } from '../../daemon/protocols/oci/routes.js';
import { paginate, rewriteLink } from '../../daemon/protocols/oci/tags.js';

const D = `sha256:${'a'.repeat(64)}`;
const table = new RemoteTable(
  [
    ['hub', 'docker.io'],
    ['ghcr', 'ghcr.io'],
    ['local', 'registry.local:5000'],
  ],
  'hub',
);
const codeOf = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (e) {
    return e instanceof LarderError ? e.details.oci : e;
  }
  return undefined;
};
const target = (r: OciRoute): unknown => ('target' in r ? { remote: r.target.remote, name: r.target.name } : r.kind);

describe('OCI routing', () => {
  test('bare, path-prefix and ns layouts pick the remote and the upstream name', () => {
    assert.deepEqual(target(parseRoute('GET', '/alpine/manifests/3', undefined, table)), { remote: 'hub', name: 'library/alpine' });
    assert.deepEqual(target(parseRoute('GET', '/docker.io/alpine/manifests/3', undefined, table)), {
      remote: 'hub',
      name: 'library/alpine',
    });
    assert.deepEqual(target(parseRoute('HEAD', '/registry-1.docker.io/bitnami/redis/manifests/7', undefined, table)), {
      remote: 'hub',
      name: 'bitnami/redis',
    });
    assert.deepEqual(target(parseRoute('GET', `/ghcr.io/org/tool/blobs/${D}`, undefined, table)), { remote: 'ghcr', name: 'org/tool' });
    assert.deepEqual(target(parseRoute('GET', '/org/tool/manifests/v1', 'ghcr.io', table)), { remote: 'ghcr', name: 'org/tool' });
    assert.deepEqual(target(parseRoute('GET', '/alpine/manifests/3', 'docker.io', table)), { remote: 'hub', name: 'library/alpine' });
    assert.deepEqual(target(parseRoute('GET', '/docker.io/library/alpine/manifests/3', 'docker.io', table)), {
      remote: 'hub',
      name: 'library/alpine',
    });
    assert.deepEqual(target(parseRoute('GET', '/registry.local:5000/x/tags/list', undefined, table)), { remote: 'local', name: 'x' });
    // Names may contain endpoint words; the last one wins.
    assert.deepEqual(target(parseRoute('GET', '/a/manifests/b/manifests/latest', undefined, table)), {
      remote: 'hub',
      name: 'a/manifests/b',
    });
  });

  test('references, digests, names and writes are validated', () => {
    const r = parseRoute('GET', `/x/y/manifests/${D}`, undefined, table);
    assert.ok(r.kind === 'manifest' && r.byDigest && r.reference === D);
    assert.ok(parseRoute('GET', `/x/y/manifests/${encodeURIComponent(D)}`, undefined, table).kind === 'manifest');
    assert.equal(
      codeOf(() => parseRoute('GET', '/x/manifests/sha256:totallywrong', undefined, table)),
      'DIGEST_INVALID',
    );
    assert.equal(
      codeOf(() => parseRoute('GET', '/x/blobs/latest', undefined, table)),
      'DIGEST_INVALID',
    );
    assert.equal(
      codeOf(() => parseRoute('GET', `/x/referrers/sha256:${'A'.repeat(64)}`, undefined, table)),
      'DIGEST_INVALID',
    );
    assert.equal(
      codeOf(() => parseRoute('GET', '/x/manifests/.hidden', undefined, table)),
      'TAG_INVALID',
    );
    assert.equal(
      codeOf(() => parseRoute('GET', '/x/manifests/%E0%A4%A', undefined, table)),
      'TAG_INVALID',
    );
    assert.equal(
      codeOf(() => parseRoute('GET', '/UPPER/manifests/x', undefined, table)),
      'NAME_INVALID',
    );
    assert.equal(
      codeOf(() => parseRoute('GET', '/a//b/manifests/x', undefined, table)),
      'NAME_INVALID',
    );
    assert.equal(
      codeOf(() => parseRoute('GET', '/x/manifests/1', 'quay.io', table)),
      'NAME_UNKNOWN',
    );
    assert.equal(
      codeOf(() => parseRoute('GET', '/x/whatever', undefined, table)),
      'NAME_UNKNOWN',
    );
    assert.equal(parseRoute('POST', '/x/blobs/uploads/', undefined, table).kind, 'write');
    assert.equal(parseRoute('GET', '/x/blobs/uploads/abc', undefined, table).kind, 'write');
    assert.equal(parseRoute('DELETE', `/x/manifests/${D}`, undefined, table).kind, 'write');
    assert.equal(parseRoute('GET', '/', undefined, table).kind, 'base');
    const none = new RemoteTable([], undefined);
    assert.equal(
      codeOf(() => parseRoute('GET', '/x/manifests/1', undefined, none)),
      'NAME_UNKNOWN',
    );
  });

  test('Accept parsing and media type detection', () => {
    const oci = 'application/vnd.oci.image.manifest.v1+json';
    assert.ok(parseAccept(undefined).all);
    assert.ok(parseAccept('*/*').all);
    const a = parseAccept(`${oci}; q=0.5, application/vnd.docker.distribution.manifest.v2+json;q=0`);
    assert.ok(accepts(a, oci));
    assert.ok(!accepts(a, 'application/vnd.docker.distribution.manifest.v2+json'));
    assert.ok(accepts(parseAccept([oci, 'application/json']), oci));
    assert.equal(
      manifestTypeOf('application/vnd.oci.image.index.v1+json; charset=utf-8', Buffer.from('{}')),
      'application/vnd.oci.image.index.v1+json',
    );
    assert.equal(manifestTypeOf('application/json', Buffer.from('{"manifests":[]}')), 'application/vnd.oci.image.index.v1+json');
    assert.equal(manifestTypeOf(undefined, Buffer.from(`{"mediaType":"${oci}"}`)), oci);
  });

  test('WWW-Authenticate challenges and image references', () => {
    assert.deepEqual(parseChallenges('Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull"'), [
      { scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'reg', scope: 'repository:a/b:pull' } },
    ]);
    assert.deepEqual(
      parseChallenges(['Basic realm="x, y"', 'Bearer realm=r']).map((c) => [c.scheme, c.params.realm]),
      [
        ['basic', 'x, y'],
        ['bearer', 'r'],
      ],
    );
    assert.deepEqual(parseImageRef('alpine'), { host: undefined, path: 'alpine', reference: 'latest' });
    assert.deepEqual(parseImageRef('docker.io/library/alpine:3.19'), { host: 'docker.io', path: 'library/alpine', reference: '3.19' });
    assert.deepEqual(parseImageRef(`localhost:5000/a/b:t@${D}`), { host: 'localhost:5000', path: 'a/b', reference: D });
    assert.deepEqual(parseImageRef('team/app:v1'), { host: undefined, path: 'team/app', reference: 'v1' });
    assert.deepEqual(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64', variant: 'v8' });
  });

  test('tag-list paging and Link rewriting', () => {
    const body = Buffer.from(JSON.stringify({ name: 'x', tags: ['c', 'a', 'd', 'b'] }));
    const p1 = paginate(body, new URLSearchParams('n=2'));
    assert.deepEqual(JSON.parse(p1!.body.toString()), { name: 'x', tags: ['a', 'b'] });
    assert.equal(p1!.last, 'b');
    const p2 = paginate(body, new URLSearchParams('n=2&last=b'));
    assert.deepEqual(JSON.parse(p2!.body.toString()).tags, ['c', 'd']);
    assert.equal(p2!.last, undefined);
    assert.equal(paginate(body, new URLSearchParams('n=10')), undefined);
    assert.equal(paginate(body, new URLSearchParams('')), undefined);
    const t = { remote: 'hub', name: 'library/alpine', clientPath: 'docker.io/alpine', ns: undefined };
    assert.equal(
      rewriteLink('</v2/library/alpine/tags/list?last=b&n=2>; rel="next"', t, 'tags/list'),
      '</v2/docker.io/alpine/tags/list?last=b&n=2>; rel="next"',
    );
    assert.equal(
      rewriteLink(
        '<https://up.example/v2/library/alpine/tags/list?n=2&last=b>; rel="next"',
        { ...t, clientPath: 'alpine', ns: 'docker.io' },
        'tags/list',
      ),
      '</v2/alpine/tags/list?n=2&last=b&ns=docker.io>; rel="next"',
    );
  });

  test('OCI error rendering', () => {
    const r = renderOciError(new LarderError('E_UPSTREAM_RATE_LIMIT', 'slow down', { retryAfter: 30 }));
    assert.equal(r.status, 429);
    assert.equal(r.headers['retry-after'], '30');
    assert.deepEqual(JSON.parse(r.body.toString()), { errors: [{ code: 'TOOMANYREQUESTS', message: 'slow down' }] });
    assert.equal(
      JSON.parse(renderOciError(new LarderError('E_INTERNAL', 'secret detail', { expose: false })).body.toString()).errors[0].message,
      'internal error',
    );
  });

  test('a full memory budget (E_BUSY) is UNAVAILABLE (the 503 code of distribution) with its Retry-After, not UNKNOWN', () => {
    const r = renderOciError(new MemoryBudget({ maxBytes: 1, maxFills: 1, waitMs: 2_000 }).busy('/v2/alpine/manifests/3'));
    assert.equal(r.status, 503);
    assert.equal(r.headers['retry-after'], '2');
    assert.equal(JSON.parse(r.body.toString()).errors[0].code, 'UNAVAILABLE');
  });

  test('a full cache disk (E_STORAGE_FULL) is UNAVAILABLE with its 507, a body over the limit (E_TOO_LARGE) SIZE_INVALID with its 413', () => {
    const full = renderOciError(new LarderError('E_STORAGE_FULL', 'the cache disk is full', { expose: true }));
    assert.equal(full.status, 507);
    assert.equal(JSON.parse(full.body.toString()).errors[0].code, 'UNAVAILABLE');
    const large = renderOciError(new LarderError('E_TOO_LARGE', 'request body too large', { expose: true }));
    assert.equal(large.status, 413);
    assert.equal(JSON.parse(large.body.toString()).errors[0].code, 'SIZE_INVALID');
  });
});

describe('OCI token cache', () => {
  test('one token per realm/service/scope/credential until it expires; concurrent callers share a fetch', async () => {
    let now = 1_000_000;
    const cache = new TokenCache({ now: () => now });
    const seen: UpstreamRequest[] = [];
    const send = async (req: UpstreamRequest): Promise<UpstreamResponse> => {
      seen.push(req);
      await new Promise((r) => setTimeout(r, 5));
      const body = Buffer.from(JSON.stringify({ access_token: `tok-${seen.length}`, expires_in: 100 }));
      return { status: 200, headers: {}, body: Readable.from([body]), url: req.url };
    };
    const creds = { username: 'u', password: 'p' };
    const got = await Promise.all(
      Array.from({ length: 5 }, () => cache.get('https://auth/token', 'svc', 'repository:a:pull', creds, send)),
    );
    assert.deepEqual(new Set(got), new Set(['tok-1']));
    assert.equal(seen.length, 1);
    assert.equal(new URL(seen[0]!.url).searchParams.get('scope'), 'repository:a:pull');
    assert.equal(seen[0]!.headers?.authorization, `Basic ${Buffer.from('u:p').toString('base64')}`);
    assert.equal(await cache.get('https://auth/token', 'svc', 'repository:b:pull', creds, send), 'tok-2');
    assert.equal(await cache.get('https://auth/token', 'svc', 'repository:a:pull', undefined, send), 'tok-3');
    assert.equal(seen[2]!.headers?.authorization, undefined, 'anonymous token request');
    now += 89_000;
    assert.equal(await cache.get('https://auth/token', 'svc', 'repository:a:pull', creds, send), 'tok-1');
    now += 2_000;
    assert.equal(
      await cache.get('https://auth/token', 'svc', 'repository:a:pull', creds, send),
      'tok-4',
      'renewed after 90% of expires_in',
    );
    const refused = async (req: UpstreamRequest): Promise<UpstreamResponse> => ({
      status: 401,
      headers: {},
      body: Readable.from([]),
      url: req.url,
    });
    await assert.rejects(
      cache.get('https://auth/token', 'svc', 'repository:z:pull', creds, refused),
      (e: LarderError) => e.code === 'E_UNAUTHORIZED',
    );
  });
});
