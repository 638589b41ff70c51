/**
 * The shared admin client against the real daemon: every JSON method of the
 * contract answers, the daemon's own error codes come through the decoder
 * (bad request, not found, unauthorized), a rotated token keeps this client
 * working and locks out the old one; and the `larder` CLI, built on the same
 * client, prints status and exits 3 when no daemon answers.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { AdminClient } from '../../daemon/admin/client.js';
import { AdminError } from '../../daemon/admin/client-decode.js';
import { adminToken } from '../helpers/admin-e2e.js';
import { ROOT, startTestDaemon, type TestDaemon } from '../helpers/daemon.js';

const run = promisify(execFile);
let daemon: TestDaemon;
let client: AdminClient;

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof AdminError, String(err));
    return `${err.status} ${err.code}`;
  }
  return 'ok';
}

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'daemon/cli.ts'), ...args], { cwd: ROOT, timeout: 60_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('the shared admin client against the real daemon', () => {
  before(async () => {
    daemon = await startTestDaemon({ remotes: { web: { type: 'http', url: 'http://127.0.0.1:9/' } } });
    client = new AdminClient({ baseUrl: daemon.url, auth: { bearer: await adminToken(daemon.dataDir) }, timeoutMs: 30_000 });
  });
  after(async () => {
    await daemon?.close();
  });

  it('answers every JSON method of the contract', async () => {
    const stats = await client.stats();
    assert.equal(stats.pins.count, 0);
    assert.ok(Array.isArray(await client.history()));
    assert.deepEqual((await client.entries({ limit: 5 })).items, []);
    assert.deepEqual(await client.pins(), []);
    assert.deepEqual(await client.jobs(), []);
    assert.deepEqual(await client.evict({ toLowWatermark: true }), { removed: 0, bytes: 0 });
    assert.equal((await client.scrub({ now: true })).running, false);
    assert.equal(typeof (await client.gc()).removed, 'number');
    assert.equal(typeof (await client.config()), 'object');
    assert.ok((await client.audit({ limit: 10 })).some((r) => r.action === 'gc'));
    assert.ok(Array.isArray(await client.activity({ kind: ['scrub', 'pin'], limit: 10 })));
    assert.deepEqual(await client.setOffline(true), { offline: true });
    assert.deepEqual(await client.setOffline(false), { offline: false });
    assert.match((await client.loginLink()).url, /\/_\/ui\/login\?t=/);
    assert.equal(typeof (await client.feed({ since: 0, wait: 0 })).head, 'number');
    assert.deepEqual(await client.children(), []);
  });

  it("decodes the daemon's error answers into their stable codes", async () => {
    assert.equal(await code(client.addPin({ ref: 'npm:' })), '400 E_BAD_REQUEST');
    assert.equal(await code(client.pin('nope')), '404 E_NOT_FOUND');
    assert.equal(await code(client.job('nope')), '404 E_NOT_FOUND');
    assert.equal(await code(client.cancelJob('nope')), '404 E_NOT_FOUND');
    assert.equal(await code(new AdminClient({ baseUrl: daemon.url, auth: { bearer: 'wrong-token' } }).stats()), '401 E_UNAUTHORIZED');
    assert.equal(await code(new AdminClient({ baseUrl: daemon.url, auth: { session: 'same-origin' } }).stats()), '401 E_UNAUTHORIZED');
  });

  it('keeps working after rotating the token, and the old token stops working', async () => {
    const old = new AdminClient({ baseUrl: daemon.url, auth: { bearer: await adminToken(daemon.dataDir) } });
    const { token } = await client.rotateToken();
    assert.equal(token, await adminToken(daemon.dataDir));
    assert.equal(await code(client.stats()), 'ok');
    assert.equal(await code(old.stats()), '401 E_UNAUTHORIZED');
  });

  it('serves the CLI: `larder status` prints the figures, and exits 3 when no daemon answers', async () => {
    const ok = await cli(['status', '--listen', `127.0.0.1:${daemon.port}`, '--data-dir', daemon.dataDir]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^hit rate /m);
    assert.match(ok.stdout, /^pins 0 {2}lagging 0/m);
    const gone = createServer();
    await new Promise<void>((r) => gone.listen(0, '127.0.0.1', r));
    const port = (gone.address() as AddressInfo).port;
    await new Promise<void>((r) => gone.close(() => r()));
    const dead = await cli(['status', '--listen', `127.0.0.1:${port}`, '--data-dir', daemon.dataDir]);
    assert.equal(dead.code, 3, dead.stderr);
    assert.match(dead.stderr, new RegExp(`no Larder daemon answers at http://127.0.0.1:${port}`));
  });
});
