import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Decision, withheldEtag } from '../../daemon/core/policy/index.js';
import { tarballVersion, withholdVersions } from '../../daemon/protocols/npm/policy.js';

const held: Decision = { verdict: 'held', minAgeMs: 1, published: 0, until: 1 };
const doc = (tags: Record<string, string>, versions: string[]) => ({
  name: 'foo',
  'dist-tags': tags,
  versions: Object.fromEntries(versions.map((v) => [v, { name: 'foo', version: v }])),
  time: { created: 'c', modified: 'm', ...Object.fromEntries(versions.map((v) => [v, `t${v}`])) },
});

test('withheld versions leave versions and time; tags move to the newest allowed version below them', () => {
  const src = doc({ latest: '2.0.0', next: '3.0.0-beta.2', old: '1.0.0', lts: '1.5.0' }, [
    '1.0.0',
    '1.5.0',
    '2.0.0',
    '3.0.0-beta.1',
    '3.0.0-beta.2',
  ]);
  const withheld = new Map([
    ['2.0.0', held],
    ['3.0.0-beta.2', held],
    ['1.5.0', held],
  ]);
  const out = withholdVersions(src, withheld, (v) => `no ${v}`);
  assert.deepEqual(Object.keys(out.versions as object), ['1.0.0', '3.0.0-beta.1']);
  assert.deepEqual(
    out['dist-tags'],
    { latest: '1.0.0', next: '3.0.0-beta.1', old: '1.0.0', lts: '1.0.0' },
    'a release tag skips pre-releases',
  );
  assert.deepEqual(Object.keys(out.time as object), ['created', 'modified', '1.0.0', '3.0.0-beta.1']);
  assert.deepEqual(out.policyRestrictions, {
    message: 'no 2.0.0\nno 3.0.0-beta.2\nno 1.5.0',
    versions: {
      '2.0.0': { name: 'foo', version: '2.0.0' },
      '3.0.0-beta.2': { name: 'foo', version: '3.0.0-beta.2' },
      '1.5.0': { name: 'foo', version: '1.5.0' },
    },
  });
  assert.equal(Object.keys(src.versions).length, 5, 'the input is not changed');
});

test('a tag with no allowed version below it is dropped', () => {
  const out = withholdVersions(doc({ latest: '1.0.0' }, ['1.0.0', '0.9.0-rc.1']), new Map([['1.0.0', held]]), () => '');
  assert.deepEqual(out['dist-tags'], {});
});

test('tarball files name their version; the filtered ETag differs per withheld set', () => {
  assert.equal(tarballVersion('foo', 'foo-1.2.3.tgz'), '1.2.3');
  assert.equal(tarballVersion('@s/foo', 'foo-1.2.3-beta.1.tgz'), '1.2.3-beta.1');
  assert.equal(tarballVersion('foo', 'bar-1.2.3.tgz'), undefined);
  const a = withheldEtag('"abc"', new Map([['1.0.0', held]]));
  assert.match(a, /^"abc-policy-[0-9a-f]{12}"$/);
  assert.notEqual(a, withheldEtag('"abc"', new Map([['2.0.0', held]])));
});
