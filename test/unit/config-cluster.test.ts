/**
 * `cluster:` in the config (issue 18): absent means a single daemon; present
 * it needs etcd URLs, a key-safe name and storage.s3, each refused with an
 * error naming the field.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateConfig } from '../../daemon/config/load.js';
import { isLarderError } from '../../daemon/core/errors.js';

const S3 = { endpoint: 'http://127.0.0.1:7480', bucket: 'larder-blobs', accessKey: 'AK', secretKey: 'SK' };

test('absent: a single daemon; present: etcd URLs, name and a lease TTL (default 5 s)', () => {
  assert.equal(validateConfig({}, 'test').cluster, undefined);
  const cfg = validateConfig({ storage: { s3: S3 }, cluster: { etcd: ['http://10.0.0.5:2379'], name: 'site-a' } }, 'test');
  assert.deepEqual(cfg.cluster, { etcd: ['http://10.0.0.5:2379'], name: 'site-a', leaseTtl: 5_000 });
});

test('bad values are refused with the field named', () => {
  const cases: Array<[unknown, RegExp]> = [
    [{ etcd: [], name: 'a' }, /cluster\.etcd.*at least one etcd/s],
    [{ etcd: ['etcd1:2379'], name: 'a' }, /cluster\.etcd\.0/],
    [{ etcd: ['http://e:2379'], name: 'Site A' }, /cluster\.name.*lower-case/s],
    [{ etcd: ['http://e:2379'], name: 'a', leaseTtl: 'soon' }, /cluster\.leaseTtl/],
    [{ etcd: ['http://e:2379'], name: 'a', peers: 3 }, /cluster.*peers/s],
  ];
  for (const [cluster, message] of cases) {
    assert.throws(
      () => validateConfig({ storage: { s3: S3 }, cluster }, 'test'),
      (err: unknown) => isLarderError(err) && err.code === 'E_CONFIG' && message.test(err.message),
      JSON.stringify(cluster),
    );
  }
  assert.throws(
    () => validateConfig({ cluster: { etcd: ['http://e:2379'], name: 'a' } }, 'test'),
    (err: unknown) => isLarderError(err) && /cluster.*needs storage\.s3/s.test(err.message),
  );
});

test('storage.s3.maxSize: the S3 budget of a cluster (and its eviction grace); refused without cluster or at 0', () => {
  const cluster = { etcd: ['http://e:2379'], name: 'a' };
  const cfg = validateConfig({ storage: { s3: { ...S3, maxSize: '2TB' } }, cluster }, 'test');
  assert.equal(cfg.storage.s3?.maxSize, 2e12);
  assert.equal(validateConfig({ storage: { s3: { ...S3, evictionGrace: '90s' } }, cluster }, 'test').storage.s3?.evictionGrace, 90_000);
  assert.equal(validateConfig({ storage: { s3: S3 }, cluster }, 'test').storage.s3?.maxSize, undefined);
  const refused: Array<[unknown, RegExp]> = [
    [{ storage: { s3: { ...S3, maxSize: '2TB' } } }, /storage\.s3\.maxSize.*needs cluster/s],
    [{ storage: { s3: { ...S3, maxSize: 0 } }, cluster }, /storage\.s3\.maxSize.*above 0/s],
    [{ storage: { s3: { ...S3, maxSize: 'lots' } }, cluster }, /storage\.s3\.maxSize/],
  ];
  for (const [doc, message] of refused) {
    assert.throws(
      () => validateConfig(doc, 'test'),
      (err: unknown) => isLarderError(err) && err.code === 'E_CONFIG' && message.test(err.message),
      JSON.stringify(doc),
    );
  }
});
