import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LarderError } from '../../daemon/core/errors.js';
import { classifyByLayout } from '../../daemon/protocols/generic/layouts.js';
import { MAX_PATH_LENGTH, parseFilesPath } from '../../daemon/protocols/generic/paths.js';
import { classify, compileRules, globToRegExp } from '../../daemon/protocols/generic/rules.js';
import { ConfigSchema } from '../../daemon/config/schema.js';
import { isHttpRemote } from '../../daemon/protocols/generic/config.js';

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (e) {
    return e instanceof LarderError ? e.code : 'not-larder';
  }
};

test('paths: decoded key, canonical encoding, remote name', () => {
  const p = parseFilesPath('/central/org/x/libstdc%2B%2B6_1.0%3A1_all.deb');
  assert.equal(p.remote, 'central');
  assert.equal(p.path, 'org/x/libstdc++6_1.0:1_all.deb');
  assert.equal(p.encoded, 'org/x/libstdc++6_1.0:1_all.deb');
  assert.equal(parseFilesPath('/r/a%20b/c').encoded, 'a%20b/c');
});

test('paths: traversal, encoded separators, NUL, control characters and overlong paths are refused', () => {
  for (const bad of [
    '/r/../etc/passwd',
    '/r/a/%2e%2e/b',
    '/r/a/./b',
    '/r/a%2Fb',
    '/r/a%5cb',
    '/r/a\\b',
    '/r/a%00b',
    '/r/a%0ab',
    '/r/a//b',
    '/r/a/%zz',
  ]) {
    assert.equal(
      code(() => parseFilesPath(bad)),
      'E_BAD_REQUEST',
      bad,
    );
  }
  assert.equal(
    code(() => parseFilesPath(`/r/${'a'.repeat(MAX_PATH_LENGTH)}`)),
    'E_BAD_REQUEST',
  );
  assert.equal(
    code(() => parseFilesPath('/r')),
    'E_NOT_FOUND',
  );
  assert.equal(
    code(() => parseFilesPath('/R/x')),
    'E_NOT_FOUND',
  );
});

test('maven preset: releases and sidecars immutable, metadata and snapshots mutable', () => {
  const c = (p: string) => {
    const r = classifyByLayout('maven', p);
    return `${r.policy}/${r.kind}`;
  };
  assert.equal(c('org/apache/commons/commons-lang3/3.14.0/commons-lang3-3.14.0.jar'), 'immutable/maven-artifact');
  assert.equal(c('org/apache/commons/commons-lang3/3.14.0/commons-lang3-3.14.0-sources.jar'), 'immutable/maven-artifact');
  for (const s of ['.sha1', '.md5', '.sha256', '.sha512', '.asc', '.asc.sha1']) {
    assert.equal(c(`org/apache/commons/commons-lang3/3.14.0/commons-lang3-3.14.0.pom${s}`), 'immutable/file', s);
  }
  assert.equal(c('org/apache/commons/commons-lang3/maven-metadata.xml'), 'mutable/file');
  assert.equal(c('org/apache/commons/commons-lang3/maven-metadata.xml.sha1'), 'mutable/file');
  assert.equal(c('com/x/lib/1.0-SNAPSHOT/lib-1.0-20240101.120000-1.jar'), 'mutable/file');
  assert.equal(c('com/x/lib/1.0-SNAPSHOT/maven-metadata.xml'), 'mutable/file');
  assert.equal(c('archetype-catalog.xml'), 'mutable/file');
  assert.equal(c('com/x/lib/1.0/other-1.0.jar'), 'mutable/file');
});

test('apt preset: pool and by-hash immutable, Release files and indexes mutable', () => {
  const a = (p: string) => classifyByLayout('apt', p);
  assert.deepEqual(a('pool/main/c/curl/curl_7.88.1-10_amd64.deb'), { policy: 'immutable', kind: 'apt-pool' });
  assert.deepEqual(a('dists/bookworm/InRelease'), { policy: 'mutable', kind: 'apt-release', suiteDir: 'dists/bookworm' });
  assert.deepEqual(a('dists/bookworm/Release'), { policy: 'mutable', kind: 'apt-release', suiteDir: 'dists/bookworm' });
  assert.deepEqual(a('dists/bookworm/Release.gpg'), { policy: 'mutable', kind: 'apt-release', suiteDir: 'dists/bookworm' });
  assert.deepEqual(a('dists/bookworm/updates/InRelease'), { policy: 'mutable', kind: 'apt-release', suiteDir: 'dists/bookworm/updates' });
  assert.deepEqual(a('dists/bookworm/main/binary-amd64/Release'), { policy: 'mutable', kind: 'apt-index' });
  for (const p of ['main/binary-amd64/Packages.xz', 'main/source/Sources.gz', 'main/i18n/Translation-en.bz2', 'main/Contents-amd64.gz']) {
    assert.deepEqual(a(`dists/bookworm/${p}`), { policy: 'mutable', kind: 'apt-index' }, p);
  }
  const hex = 'ab'.repeat(32);
  assert.deepEqual(a(`dists/bookworm/main/binary-amd64/by-hash/SHA256/${hex}`), {
    policy: 'immutable',
    kind: 'apt-by-hash',
    algo: 'sha256',
    hex,
  });
  assert.equal(a(`dists/bookworm/main/binary-amd64/by-hash/MD5Sum/${'ab'.repeat(16)}`).policy, 'immutable');
});

test('github-releases and plain presets', () => {
  assert.deepEqual(classifyByLayout('github-releases', 'o/r/releases/download/v1.2/tool.tar.gz'), { policy: 'mutable', kind: 'file' });
  assert.deepEqual(classifyByLayout('github-releases', 'o/r/releases/latest/download/tool.tar.gz'), {
    policy: 'mutable',
    kind: 'file',
    maxTtlMs: 0,
  });
  assert.deepEqual(classifyByLayout('plain', 'anything/at/all.iso'), { policy: 'mutable', kind: 'file' });
});

test('user rules: globs and regexes override the preset policy, first match wins', () => {
  assert.ok(globToRegExp('**/*.iso').test('a/b/c.iso'));
  assert.ok(globToRegExp('**/*.iso').test('c.iso'));
  assert.ok(!globToRegExp('*.iso').test('a/c.iso'));
  assert.ok(globToRegExp('isos/?.iso').test('isos/a.iso'));
  assert.ok(!globToRegExp('a.b').test('axb'));
  const rules = compileRules([
    { match: '/\\.iso$/i', policy: 'immutable' },
    { match: 'nightly/**', policy: 'bypass' },
    { match: '**/maven-metadata.xml', policy: 'mutable', ttl: 0 },
  ]);
  assert.equal(classify('plain', 'x/y/Z.ISO', rules).policy, 'immutable');
  assert.equal(classify('plain', 'nightly/build.tar', rules).policy, 'bypass');
  assert.deepEqual(classify('maven', 'g/a/maven-metadata.xml', rules), { policy: 'mutable', kind: 'file', ttlMs: 0 });
  assert.deepEqual(classify('maven', 'g/a/1/a-1.jar', rules), { policy: 'immutable', kind: 'maven-artifact' });
});

test('config: http remote rules are validated', () => {
  const ok = ConfigSchema.safeParse({
    remotes: {
      r: { type: 'http', url: 'http://127.0.0.1/', layout: 'maven', rules: [{ match: '**/*.xml', policy: 'mutable', ttl: '1m' }] },
    },
  });
  assert.ok(ok.success);
  const r = ok.data.remotes.r;
  assert.ok(r && isHttpRemote(r));
  assert.deepEqual(r.rules, [{ match: '**/*.xml', policy: 'mutable', ttl: 60_000 }]);
  const badRegex = ConfigSchema.safeParse({
    remotes: { r: { type: 'http', url: 'http://127.0.0.1/', rules: [{ match: '/(/', policy: 'mutable' }] } },
  });
  assert.ok(!badRegex.success);
  const badPolicy = ConfigSchema.safeParse({
    remotes: { r: { type: 'http', url: 'http://127.0.0.1/', rules: [{ match: 'x', policy: 'forever' }] } },
  });
  assert.ok(!badPolicy.success);
});
