/**
 * storage.s3 in the config: `${ENV}` in its endpoint and keys (the endpoint is
 * validated after interpolation), and the admin API's /config view that shows
 * neither key.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { redact } from '../../daemon/compose/admin.js';
import { validateConfig } from '../../daemon/config/load.js';
import { isLarderError } from '../../daemon/core/errors.js';

const DOC = {
  remotes: { up: { type: 'npm', url: 'https://registry.example/' } },
  storage: {
    s3: { endpoint: '${RGW_URL}', bucket: 'larder-blobs', accessKey: 'AK-${WHO}', secretKey: '${S3_SECRET}' },
  },
};
const ENV = { RGW_URL: 'http://127.0.0.1:7480', WHO: 'edge1', S3_SECRET: 'sEcr3t-value' };

test('${ENV} in storage.s3 endpoint, accessKey and secretKey', () => {
  const cfg = validateConfig(structuredClone(DOC), 'test', ENV);
  assert.deepEqual(cfg.storage.s3, {
    endpoint: 'http://127.0.0.1:7480',
    bucket: 'larder-blobs',
    region: 'us-east-1',
    accessKey: 'AK-edge1',
    secretKey: 'sEcr3t-value',
  });
});

test('a missing variable names the storage.s3 field; a bad interpolated endpoint is refused', () => {
  for (const [missing, field] of [
    ['S3_SECRET', 'secretKey'],
    ['WHO', 'accessKey'],
    ['RGW_URL', 'endpoint'],
  ] as const) {
    const env: Record<string, string> = { ...ENV };
    delete env[missing];
    assert.throws(
      () => validateConfig(structuredClone(DOC), 'test', env),
      (err: unknown) =>
        isLarderError(err) && err.code === 'E_CONFIG' && err.message.includes(`storage.s3.${field}`) && err.message.includes(missing),
    );
  }
  assert.throws(
    () => validateConfig(structuredClone(DOC), 'test', { ...ENV, RGW_URL: 'file:///etc/passwd' }),
    (err: unknown) => isLarderError(err) && /storage\.s3\.endpoint/.test(err.message),
  );
});

test('/config shows neither S3 key, only the endpoint and bucket', () => {
  const cfg = validateConfig(structuredClone(DOC), 'test', ENV);
  const text = JSON.stringify(redact(cfg));
  assert.ok(!text.includes('sEcr3t-value'), text);
  assert.ok(!text.includes('AK-edge1'), text);
  const s3 = (redact(cfg) as { storage: { s3: Record<string, string> } }).storage.s3;
  assert.deepEqual(s3, {
    endpoint: 'http://127.0.0.1:7480',
    bucket: 'larder-blobs',
    region: 'us-east-1',
    accessKey: '[redacted]',
    secretKey: '[redacted]',
  });
});
