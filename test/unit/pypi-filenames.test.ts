/** Which version a wheel or sdist file name belongs to (PyPI pre-warm picks files by it). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalVersion, isDistribution, isFileOfVersion } from '../../daemon/protocols/pypi/filenames.js';

describe('pypi file names', () => {
  it('canonicalizes PEP 440 versions', () => {
    assert.equal(canonicalVersion('1.0.0'), '1');
    assert.equal(canonicalVersion('1.0'), canonicalVersion('1'));
    assert.equal(canonicalVersion('1.10.0'), '1.10');
    assert.equal(canonicalVersion('v2.0RC1'), '2rc1');
    assert.equal(canonicalVersion('1.0-beta.2'), '1b2');
    assert.equal(canonicalVersion('1.0-1'), '1.post1');
    assert.equal(canonicalVersion('1.0.post1'), '1.post1');
    assert.equal(canonicalVersion('1.0.dev3'), '1.dev3');
    assert.equal(canonicalVersion('0!1.0+Local_Build'), '1+local.build');
    assert.equal(canonicalVersion('2!1.0'), '2!1');
    assert.equal(canonicalVersion('not.a-version!'), 'not.a-version!');
  });

  it('matches wheels by project and version', () => {
    assert.ok(isFileOfVersion('numpy-1.26.4-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl', 'numpy', '1.26.4'));
    assert.ok(isFileOfVersion('Beta_Pkg-1.0-py3-none-any.whl', 'beta-pkg', '1.0.0'));
    assert.ok(isFileOfVersion('foo-1.0-1-py3-none-any.whl', 'foo', '1.0'), 'build tag');
    assert.ok(isFileOfVersion('foo-1.0_post1-py3-none-any.whl', 'foo', '1.0.post1'));
    assert.ok(!isFileOfVersion('numpy-1.26.3-cp312-cp312-win_amd64.whl', 'numpy', '1.26.4'));
    assert.ok(!isFileOfVersion('numpy_extra-1.26.4-py3-none-any.whl', 'numpy', '1.26.4'));
    assert.ok(!isFileOfVersion('foo-1.0.whl', 'foo', '1.0'), 'too few parts');
  });

  it('matches sdists, including legacy names with dashes', () => {
    assert.ok(isFileOfVersion('requests-2.31.0.tar.gz', 'requests', '2.31.0'));
    assert.ok(isFileOfVersion('zope.interface-6.0.zip', 'zope-interface', '6.0'));
    assert.ok(isFileOfVersion('python-dateutil-2.8.2.tar.gz', 'python-dateutil', '2.8.2'));
    assert.ok(!isFileOfVersion('requests-2.31.0.tar.gz', 'requests', '2.31.1'));
    assert.ok(!isFileOfVersion('requests-2.31.0.exe', 'requests', '2.31.0'));
    assert.ok(isDistribution('a-1.tar.bz2') && !isDistribution('a-1.egg'));
  });
});
