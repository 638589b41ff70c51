/**
 * The tray app's controller against a real HTTP admin API (the fake admin
 * server): live updates reach the tray snapshot over SSE, menu actions call
 * the API (pin from clipboard with the API's validation message, pre-warm
 * from file, offline), notifications fire for integrity failures and lagging
 * pins, and a dead daemon turns the tray to error. Also the admin client's
 * token handling.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { AdminError, TrayAdminClient, readAdminToken } from '../../electron/main/admin-client.js';
import { AppController } from '../../electron/main/app-controller.js';
import { Notifier } from '../../electron/main/notifier.js';
import { trayState, type TraySnapshot } from '../../electron/main/tray-model.js';
import type { PickedFile } from '../../electron/shared/ipc-contract.js';
import { startFakeAdmin, type FakeAdmin } from '../helpers/fake-admin.js';

async function until(cond: () => boolean, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(20);
  }
}

describe('tray app controller against an admin API', () => {
  let fake: FakeAdmin;
  let dataDir: string;
  before(async () => {
    fake = await startFakeAdmin({ statsIntervalMs: 100, jobItemMs: 100 });
    dataDir = await mkdtemp(join(tmpdir(), 'larder-tray-'));
    await writeFile(join(dataDir, 'admin-token'), `${fake.token}\n`, { mode: 0o600 });
  });
  const running: AppController[] = [];
  afterEach(async () => {
    // Stop controllers even when a test failed, so nothing keeps the process alive.
    await Promise.all(running.splice(0).map((c) => c.stop()));
  });
  after(async () => {
    await fake.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  function harness(clipboard = '', files: PickedFile[] | null = null) {
    const rendered: TraySnapshot[] = [];
    const toasts: string[] = [];
    const notes: Array<{ title: string; body: string; route?: string }> = [];
    const opened: Array<string | undefined> = [];
    const supervisorStops: string[] = [];
    const client = new TrayAdminClient({ baseUrl: fake.url, token: () => readAdminToken(dataDir) });
    const ctl = new AppController({
      supervisor: { start: async () => 'attached', stop: async () => void supervisorStops.push('stop'), on: () => undefined },
      client,
      createTray: () => ({ render: (s) => rendered.push(s), destroy: () => undefined }),
      notifier: new Notifier((n) => notes.push(n), 600),
      toast: (t, b) => toasts.push(`${t}: ${b}`),
      readClipboard: () => clipboard,
      pickFiles: async () => files,
      openDataFolder: () => undefined,
      openDashboard: (r) => opened.push(r),
      quit: () => undefined,
      lagThresholdSeconds: 600,
      pollMs: 200,
    });
    running.push(ctl);
    const last = (): TraySnapshot => rendered[rendered.length - 1]!;
    return { ctl, rendered, toasts, notes, opened, last, supervisorStops };
  }

  it('follows stats live and reflects them in the tray state', async () => {
    const h = harness();
    await h.ctl.start();
    assert.equal(h.last().daemon, 'up');
    assert.equal(trayState(h.last()), 'healthy');
    await until(() => fake.sseClients() > 0);
    for (let i = 0; i < 4; i++) fake.state.record(i === 0 ? 'miss' : 'hit', 1000);
    await until(() => h.last().stats?.requests.total === 4);
    assert.equal(h.last().stats?.hitRate, 0.75);
    fake.state.setHealth('npmjs', 'down', 'ECONNREFUSED');
    await until(() => trayState(h.last()) === 'stale');
    fake.state.setHealth('npmjs', 'ok');
    await until(() => trayState(h.last()) === 'healthy');
    await h.ctl.stop();
    assert.deepEqual(h.supervisorStops, ['stop']);
  });

  it('pins from the clipboard, showing the API validation message on a bad reference', async () => {
    const bad = harness('npm:left-pad');
    await bad.ctl.pinFromClipboard();
    assert.equal(bad.toasts.length, 1);
    assert.match(bad.toasts[0]!, /^Could not pin: invalid npm reference "npm:left-pad": expected npm:<name>@/);
    const empty = harness('  ');
    await empty.ctl.pinFromClipboard();
    assert.match(empty.toasts[0]!, /^Nothing to pin/);
    const good = harness('npm:left-pad@1.3.0');
    await good.ctl.start();
    await good.ctl.pinFromClipboard();
    assert.deepEqual(good.toasts, ['Pinned: npm:left-pad@1.3.0']);
    assert.ok(fake.state.pins.some((p) => p.ref === 'npm:left-pad@1.3.0'));
    await until(() => good.last().pins.some((p) => p.ref === 'npm:left-pad@1.3.0' && p.status === 'ok'));
    // Lag past the threshold: lagging icon and one notification leading to the pin.
    const pin = fake.state.pins.find((p) => p.ref === 'npm:left-pad@1.3.0')!;
    fake.state.setPinLag(pin.id, 1800);
    await until(() => trayState(good.last()) === 'lagging');
    await until(() => good.notes.length > 0);
    await sleep(300);
    assert.deepEqual(good.notes, [
      { title: 'Pin lagging behind upstream', body: 'npm:left-pad@1.3.0 is 30 min behind its upstream.', route: `pins/${pin.id}` },
    ]);
    fake.state.setPinLag(pin.id, 0);
    await until(() => trayState(good.last()) === 'healthy');
    await good.ctl.stop();
  });

  it('pre-warms from a picked file and opens the dashboard at the job list', async () => {
    const h = harness('', [{ name: 'requirements.txt', content: 'requests==2.32.3\nurllib3==2.2.2\n' }]);
    const before = fake.state.jobs.length;
    await h.ctl.prewarmFromFile();
    assert.equal(fake.state.jobs.length, before + 1);
    assert.equal(fake.state.jobs[0]!.total, 2);
    assert.deepEqual(h.toasts, ['Pre-warm started: 2 items from requirements.txt']);
    assert.deepEqual(h.opened, ['prewarm']);
    const cancelled = harness('', null);
    await cancelled.ctl.prewarmFromFile();
    assert.deepEqual(cancelled.toasts, []);
  });

  it('goes offline and online through the API', async () => {
    const h = harness();
    await h.ctl.start();
    await h.ctl.setOffline(true);
    assert.equal(fake.state.offline, true);
    assert.equal(h.last().stats?.offline, true);
    assert.equal(trayState(h.last()), 'stale');
    await h.ctl.setOffline(false);
    assert.equal(fake.state.offline, false);
    await h.ctl.stop();
  });

  it('notifies once per rise of the integrity failure counter, with the activity detail', async () => {
    const h = harness();
    await h.ctl.start();
    await until(() => fake.sseClients() > 0);
    fake.state.integrityFailures++;
    fake.state.log({ kind: 'integrity', message: 'npm/left-pad-1.3.0.tgz: sha512 mismatch, not stored' });
    fake.state.pushStats();
    await until(() => h.notes.length > 0);
    await sleep(300);
    assert.deepEqual(h.notes, [
      { title: 'Integrity failure', body: 'npm/left-pad-1.3.0.tgz: sha512 mismatch, not stored', route: 'activity' },
    ]);
    await h.ctl.stop();
  });

  it('re-reads a rotated token after a 401', async () => {
    let reads = 0;
    const client = new TrayAdminClient({ baseUrl: fake.url, token: async () => (reads++ === 0 ? 'stale-token' : fake.token) });
    const stats = await client.stats();
    assert.equal(typeof stats.hitRate, 'number');
    assert.equal(reads, 2);
    const never = new TrayAdminClient({ baseUrl: fake.url, token: async () => 'wrong' });
    await assert.rejects(never.stats(), (e: unknown) => e instanceof AdminError && e.status === 401 && e.code === 'E_UNAUTHORIZED');
  });

  it('marks the daemon down (error icon) when it stops answering', async () => {
    const h = harness();
    await h.ctl.start();
    assert.equal(h.last().daemon, 'up');
    await fake.close();
    await until(() => h.last().daemon === 'down');
    assert.equal(trayState(h.last()), 'error');
    await h.ctl.stop();
  });
});
