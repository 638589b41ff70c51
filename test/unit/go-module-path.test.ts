/** GOPROXY path parsing: case encoding, route kinds and rejections. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLarderError } from '../../daemon/core/errors.js';
import { escapeCase, isCanonicalVersion, parseGoPath, unescapeCase } from '../../daemon/protocols/go/module-path.js';
import { isSumdbPath } from '../../daemon/protocols/go/sumdb.js';

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (e) {
    return isLarderError(e) ? e.code : 'other';
  }
};

describe('go module paths', () => {
  it('round-trips the ! case encoding and rejects malformed encodings', () => {
    assert.equal(escapeCase('github.com/Azure/SDK'), 'github.com/!azure/!s!d!k');
    assert.equal(unescapeCase('github.com/!azure/!s!d!k'), 'github.com/Azure/SDK');
    assert.equal(
      code(() => unescapeCase('github.com/Azure')),
      'E_BAD_NAME',
    );
    assert.equal(
      code(() => unescapeCase('github.com/!1')),
      'E_BAD_NAME',
    );
    assert.equal(
      code(() => unescapeCase('trailing!')),
      'E_BAD_NAME',
    );
  });

  it('parses every proxy route', () => {
    assert.deepEqual(parseGoPath('/example.com/!upper/mod/@v/list'), { kind: 'list', module: 'example.com/Upper/mod' });
    assert.deepEqual(parseGoPath('/example.com/m/@latest'), { kind: 'latest', module: 'example.com/m' });
    assert.deepEqual(parseGoPath('/example.com/m/@v/v1.2.3-!r!c.1.zip'), { kind: 'zip', module: 'example.com/m', version: 'v1.2.3-RC.1' });
    assert.deepEqual(parseGoPath('/example.com/m/@v/master.info'), { kind: 'info', module: 'example.com/m', version: 'master' });
    assert.deepEqual(parseGoPath('/sumdb/sum.golang.org/lookup/x.org/m@v1.0.0'), {
      kind: 'sumdb',
      db: 'sum.golang.org',
      path: 'lookup/x.org/m@v1.0.0',
    });
  });

  it('answers paths go never asks for as not found, never as a server error', () => {
    assert.equal(
      code(() => parseGoPath('/example.com/m/@v/master.zip')),
      'E_NOT_FOUND',
    );
    assert.equal(
      code(() => parseGoPath('/example.com/../m/@v/list')),
      'E_NOT_FOUND',
    );
    assert.equal(
      code(() => parseGoPath('/example.com/m')),
      'E_NOT_FOUND',
    );
    assert.equal(
      code(() => parseGoPath('/example.com/m/@v/v1.0.0.tar')),
      'E_NOT_FOUND',
    );
    assert.equal(
      code(() => parseGoPath('/example.com/m%00/@v/list')),
      'E_BAD_NAME',
    );
  });

  it('knows canonical versions and checksum database paths', () => {
    assert.ok(isCanonicalVersion('v2.0.0+incompatible'));
    assert.ok(isCanonicalVersion('v0.0.0-20240101000000-abcdefabcdef'));
    assert.ok(!isCanonicalVersion('v1.0'));
    assert.ok(!isCanonicalVersion('v1.0.0+meta'));
    assert.ok(isSumdbPath('tile/8/0/x001/234.p/5'));
    assert.ok(isSumdbPath('tile/8/data/000'));
    assert.ok(isSumdbPath('lookup/github.com/!azure/sdk@v1.0.0'));
    assert.ok(!isSumdbPath('lookup/../../etc@v1'));
    assert.ok(!isSumdbPath('tile/8/0/../../x'));
  });
});
