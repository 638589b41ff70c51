/**
 * Tray state, tooltip and menu for each daemon state, through the pure model
 * and through TrayController driving a fake Electron Tray.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { MenuItemConstructorOptions } from 'electron';
import { TrayController, iconPath } from '../../electron/main/tray.js';
import {
  menuTemplate,
  peersLine,
  statusLine,
  tooltip,
  trayState,
  type TrayActions,
  type TraySnapshot,
} from '../../electron/main/tray-model.js';
import { makePin, makeStats } from './fixtures.js';

const HOUR = 3600;

function snap(over: Partial<TraySnapshot> = {}): TraySnapshot {
  return { daemon: 'up', stats: makeStats(), pins: [], lagThresholdSeconds: 15 * 60, ...over };
}

function recorder(): { actions: TrayActions; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    actions: {
      openDashboard: (r) => calls.push(`open:${r ?? ''}`),
      prewarmFromFile: () => calls.push('prewarm'),
      pinFromClipboard: () => calls.push('pin-clipboard'),
      setOffline: (o) => calls.push(`offline:${o}`),
      openDataFolder: () => calls.push('data'),
      quit: () => calls.push('quit'),
    },
  };
}

function item(menu: MenuItemConstructorOptions[], id: string): MenuItemConstructorOptions {
  const found = menu.find((m) => m.id === id);
  assert.ok(found, `menu item ${id}`);
  return found;
}

const click = (m: MenuItemConstructorOptions): void => (m.click as () => void)();

describe('tray model', () => {
  it('healthy daemon: healthy icon, tooltip with hit rate, saved today and worst lag', () => {
    const s = snap();
    assert.equal(trayState(s), 'healthy');
    assert.equal(tooltip(s), 'Larder — healthy\nHit rate: 80%\nSaved today: 3.0 MiB\nWorst lag: none');
    assert.equal(statusLine(s), 'Hit rate 80% · lag none');
  });

  it("LAN peers: a peers line in the menu and tooltip with today's share of misses served by peers; none when peers are off", () => {
    const s = snap({ stats: makeStats({ peers: { count: 3, healthy: 3, today: { misses: 34, fromPeers: 14 } } }) });
    assert.equal(peersLine(s), "3 peers · 41 % of today's misses served by peers");
    assert.equal(item(menuTemplate(s, recorder().actions), 'peers').label, "3 peers · 41 % of today's misses served by peers");
    assert.match(tooltip(s), /\nPeers: 3 peers · 41 % of today's misses served by peers$/);
    assert.equal(
      peersLine(snap({ stats: makeStats({ peers: { count: 1, healthy: 0, today: { misses: 0, fromPeers: 0 } } }) })),
      '1 peer · no misses today',
    );
    assert.equal(peersLine(snap()), undefined);
    assert.equal(
      menuTemplate(snap(), recorder().actions).find((m) => m.id === 'peers'),
      undefined,
    );
    assert.equal(
      peersLine(snap({ daemon: 'down', stats: makeStats({ peers: { count: 3, healthy: 3, today: { misses: 1, fromPeers: 1 } } }) })),
      undefined,
    );
  });

  it('upstream down or offline mode: stale icon and a status line that says so', () => {
    const down = snap({
      stats: makeStats({ remotes: [{ name: 'npmjs', type: 'npm', url: 'x', offline: false, health: 'down', staleServes: 4 }] }),
    });
    assert.equal(trayState(down), 'stale');
    assert.match(statusLine(down), /upstream unreachable/);
    const offline = snap({ stats: makeStats({ offline: true }) });
    assert.equal(trayState(offline), 'stale');
    assert.match(statusLine(offline), /offline/);
    assert.equal(item(menuTemplate(offline, recorder().actions), 'offline').label, 'Go online');
  });

  it('a pin past the lag threshold: lagging icon, worst lag in tooltip and status line', () => {
    const pins = [makePin('a'), makePin('b', { lagSeconds: 2 * HOUR + 300, changeSeenAt: 1 })];
    const s = snap({ pins, stats: makeStats({ pins: { count: 2, lagging: 1, maxLagSeconds: 2 * HOUR + 300, lagThresholdSeconds: 900 } }) });
    assert.equal(trayState(s), 'lagging');
    assert.match(tooltip(s), /Worst lag: 2h 5m/);
    assert.equal(statusLine(s), 'Hit rate 80% · lag 2h 5m');
    // Below the threshold it is still healthy.
    assert.equal(trayState(snap({ pins: [makePin('c', { lagSeconds: 60 })] })), 'healthy');
  });

  it('an edge site behind its parent: replication lag shows as the worst lag and past the threshold as lagging', () => {
    const replication = { parent: 'http://region:7420', appliedSeq: 3, parentSeq: 5, lagSeconds: HOUR, connected: false };
    const s = snap({ stats: makeStats({ replication }) });
    assert.equal(trayState(s), 'lagging');
    assert.match(tooltip(s), /Worst lag: 1h/);
    assert.equal(trayState(snap({ stats: makeStats({ replication: { ...replication, lagSeconds: 30 } }) })), 'healthy');
  });

  it('daemon down or a pin in error: error icon; starting: stale icon', () => {
    const down = snap({ daemon: 'down', stats: undefined, error: 'connect ECONNREFUSED' });
    assert.equal(trayState(down), 'error');
    assert.equal(tooltip(down), 'Larder — Larder is not running: connect ECONNREFUSED');
    assert.equal(trayState(snap({ pins: [makePin('x', { status: 'error', error: 'gone' })] })), 'error');
    assert.equal(trayState(snap({ daemon: 'starting', stats: undefined })), 'stale');
  });

  it('menu: status line, pins submenu sorted by lag opening the dashboard at the pin, actions', () => {
    const { actions, calls } = recorder();
    const pins = [
      makePin('a', { ref: 'npm:a@1.0.0' }),
      makePin('b', { ref: 'oci:docker.io/library/alpine:3.20', mutable: true, status: 'lagging', lagSeconds: 1200 }),
    ];
    const menu = menuTemplate(snap({ pins }), actions);
    assert.deepEqual(
      menu.map((m) => m.id ?? m.type),
      ['status', 'separator', 'pins', 'open', 'prewarm', 'pin-clipboard', 'offline', 'separator', 'data', 'quit'],
    );
    assert.equal(item(menu, 'status').enabled, false);
    const sub = item(menu, 'pins').submenu as MenuItemConstructorOptions[];
    assert.deepEqual(
      sub.map((m) => m.label),
      ['oci:docker.io/library/alpine:3.20 — lagging 20m', 'npm:a@1.0.0 — ok'],
    );
    click(sub[0]!);
    for (const id of ['open', 'prewarm', 'pin-clipboard', 'offline', 'data', 'quit']) click(item(menu, id));
    assert.deepEqual(calls, ['open:pins/b', 'open:', 'prewarm', 'pin-clipboard', 'offline:true', 'data', 'quit']);
  });

  it('menu while the daemon is down: daemon actions disabled, data folder and quit still work', () => {
    const menu = menuTemplate(snap({ daemon: 'down', stats: undefined }), recorder().actions);
    for (const id of ['pins', 'open', 'prewarm', 'pin-clipboard', 'offline']) assert.equal(item(menu, id).enabled, false, id);
    for (const id of ['data', 'quit']) assert.notEqual(item(menu, id).enabled, false, id);
    const empty = item(menuTemplate(snap(), recorder().actions), 'pins').submenu as MenuItemConstructorOptions[];
    assert.deepEqual(
      empty.map((m) => [m.label, m.enabled]),
      [['No pinned artifacts', false]],
    );
  });
});

describe('TrayController with a fake Electron tray', () => {
  function fakeTray() {
    const log: Array<[string, unknown]> = [];
    let created: string | undefined;
    const deps = {
      iconDir: '/icons',
      platform: 'linux' as NodeJS.Platform,
      createTray: (icon: string) => {
        created = icon;
        return {
          setImage: (p: string) => log.push(['image', p]),
          setToolTip: (t: string) => log.push(['tooltip', t]),
          setContextMenu: (m: unknown) => log.push(['menu', m]),
          on: () => undefined,
          destroy: () => log.push(['destroy', null]),
        };
      },
      buildMenu: (t: MenuItemConstructorOptions[]) => ({ built: t.map((m) => m.label ?? m.type) }),
    };
    return { deps, log, created: () => created };
  }

  it('creates the tray with the state icon, then pushes only what changed', () => {
    const f = fakeTray();
    const ctl = new TrayController(f.deps, recorder().actions);
    ctl.render(snap({ daemon: 'starting', stats: undefined }));
    assert.equal(f.created(), join('/icons', 'stale.png'));
    assert.deepEqual(
      f.log.map((l) => l[0]),
      ['tooltip', 'menu'],
    );
    f.log.length = 0;
    ctl.render(snap());
    assert.deepEqual(f.log[0], ['image', join('/icons', 'healthy.png')]);
    assert.equal(ctl.current, 'healthy');
    f.log.length = 0;
    ctl.render(snap()); // identical snapshot: nothing to push
    assert.equal(f.log.length, 0);
    ctl.render(snap({ stats: makeStats({ hitRate: 0.5 }) })); // tooltip and status line change, icon does not
    assert.deepEqual(
      f.log.map((l) => l[0]),
      ['tooltip', 'menu'],
    );
    ctl.render(snap({ daemon: 'down', stats: undefined }));
    assert.ok(f.log.some(([k, v]) => k === 'image' && v === join('/icons', 'error.png')));
  });

  it('uses template images on macOS', () => {
    assert.equal(iconPath('/r/tray', 'lagging', 'darwin'), join('/r/tray', 'laggingTemplate.png'));
    assert.equal(iconPath('/r/tray', 'lagging', 'win32'), join('/r/tray', 'lagging.png'));
  });
});
