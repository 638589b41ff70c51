/**
 * Rotating the admin token sticks even when the config names one
 * (`admin.token`): after a restart with the same config the old token is
 * refused and the rotated one (in <dataDir>/admin-token, where the CLI finds
 * it) still works; a config that names a new token takes over again.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { AdminClient } from '../../daemon/cli/admin-client.js';
import { validateConfig } from '../../daemon/config/load.js';
import { adminToken } from '../helpers/admin-e2e.js';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';

const CONFIGURED = 'configured-admin-token-0123456789';
let daemon: TestDaemon | undefined;

after(async () => {
  await daemon?.close();
});

async function status(token: string): Promise<number> {
  const res = await fetch(`${daemon!.url}/_/api/v1/stats`, { headers: { authorization: `Bearer ${token}` } });
  await res.arrayBuffer();
  return res.status;
}

test('a rotated admin token stays rotated across a restart with the same admin.token in the config', async () => {
  const dataDir = await tempDir('larder-rotate-');
  daemon = await startTestDaemon({ admin: { token: CONFIGURED } }, { dataDir });
  assert.equal(await status(CONFIGURED), 200);
  await assert.rejects(adminToken(dataDir), { code: 'ENOENT' }, 'a config token is not written anywhere');
  const res = await fetch(`${daemon.url}/_/api/v1/token/rotate`, { method: 'POST', headers: { authorization: `Bearer ${CONFIGURED}` } });
  const { token } = (await res.json()) as { token: string };
  assert.equal(await status(CONFIGURED), 401);
  assert.equal(await status(token), 200);
  await daemon.close({ keepData: true });

  daemon = await startTestDaemon({ admin: { token: CONFIGURED } }, { dataDir });
  assert.equal(await status(CONFIGURED), 401, 'the rotated-away config token does not come back');
  assert.equal(await status(token), 200, 'the rotated token is still in force');
  assert.equal(await adminToken(dataDir), token);
  // The CLI, given the same config, finds the token in force.
  const cli = await AdminClient.fromConfig(
    validateConfig({ listen: daemon.url.replace('http://', ''), dataDir, admin: { token: CONFIGURED } }, 'test'),
  );
  assert.equal((await cli.call<{ pins: unknown }>('GET', '/stats')).pins !== undefined, true);
  await daemon.close({ keepData: true });

  const next = 'a-new-configured-admin-token-987654';
  daemon = await startTestDaemon({ admin: { token: next } }, { dataDir });
  assert.equal(await status(next), 200, 'a config naming a new token takes over');
  assert.equal(await status(token), 401);
});
