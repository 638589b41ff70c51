/**
 * npm registry paths: the plain packument form (`/name`, `/@scope%2fname`) is
 * parsed without the general segment decoding, and must give exactly what
 * that decoding gives, refusals included.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseNpmPath } from '../../daemon/protocols/npm/names.js';

function outcome(path: string): unknown {
  try {
    return parseNpmPath(path);
  } catch (err) {
    return { code: (err as { code?: string }).code };
  }
}

test('plain and scoped packument paths name their package', () => {
  assert.deepEqual(parseNpmPath('/lodash'), { kind: 'packument', name: 'lodash' });
  assert.deepEqual(parseNpmPath('/JSONStream'), { kind: 'packument', name: 'JSONStream' });
  assert.deepEqual(parseNpmPath('/@acme%2fbrisk-format'), { kind: 'packument', name: '@acme/brisk-format' });
  assert.deepEqual(parseNpmPath('/@acme%2Fbrisk.format'), { kind: 'packument', name: '@acme/brisk.format' });
  assert.deepEqual(parseNpmPath('/@acme/brisk-format'), { kind: 'packument', name: '@acme/brisk-format' });
  assert.deepEqual(parseNpmPath('/@acme%2fx/1.0.0'), { kind: 'version', name: '@acme/x', spec: '1.0.0' });
  assert.deepEqual(parseNpmPath('/-'), { kind: 'special', path: '/-' }, 'the registry namespace, not a package named -');
});

/** The same name through the general decoding: the first character percent-encoded, a scope's slash left raw. */
function generalTwin(path: string): string {
  const raw = path.replace(/%2f/i, '/');
  return `/%${raw.charCodeAt(1).toString(16).toUpperCase()}${raw.slice(2)}`;
}

test('the plain packument path answers as the general decoding does, refusals included', () => {
  const long = (n: number): string => 'a'.repeat(n);
  const paths = ['/lodash', '/JSONStream', '/_private', '/node_modules', '/favicon.ico', '/FAVICON.ICO', '/a.b~c-d_e'];
  paths.push(`/${long(214)}`, `/${long(215)}`, '/@acme%2fx', '/@acme%2F_x', '/@acme%2f.x', '/@_s%2fn', '/@acme%2fnode_modules');
  paths.push(`/@${long(106)}%2f${long(106)}`, `/@${long(107)}%2f${long(107)}`);
  for (const path of paths) {
    assert.match(path, /^\/(@[^/%]+%2f)?[^/%]+$/i);
    const twin = generalTwin(path);
    assert.notEqual(twin, path);
    assert.deepEqual(outcome(path), outcome(twin), `${path} / ${twin}`);
  }
  assert.deepEqual(outcome('/node_modules'), { code: 'E_NOT_FOUND' });
  assert.deepEqual(outcome(`/${long(215)}`), { code: 'E_NOT_FOUND' });
  assert.deepEqual(outcome(`/@${long(107)}%2f${long(107)}`), { code: 'E_NOT_FOUND' });
});

test('paths outside the plain form still go through the general decoding', () => {
  for (const path of ['/.hidden', '/a%00b', '/a%5cb', '/%E0%A4%A', '/', '/@acme', '/@acme%2f', '/a/b/c/d']) {
    assert.notEqual((outcome(path) as { kind?: string }).kind, 'packument', path);
  }
  assert.deepEqual(parseNpmPath('/@acme%2fx/-/x-1.0.0.tgz'), { kind: 'tarball', name: '@acme/x', file: 'x-1.0.0.tgz' });
});
