/**
 * What the tray shows, as pure functions of a snapshot of the daemon: the
 * icon state, the tooltip (hit rate, bytes saved today, worst lag) and the
 * menu template (status line, pinned artifacts, actions). No Electron calls
 * here; tray.ts applies the result.
 */
import type { MenuItemConstructorOptions } from 'electron';
import type { Pin, Stats } from '../../daemon/admin/contract.js';

/** The four icon states. */
export type TrayState = 'healthy' | 'stale' | 'lagging' | 'error';

/** Everything the tray renders. */
export interface TraySnapshot {
  /** Whether the daemon answers (and whether we are still starting it). */
  daemon: 'starting' | 'up' | 'down';
  stats?: Stats;
  pins: readonly Pin[];
  /** Lag (seconds) at and past which a pin counts as lagging. */
  lagThresholdSeconds: number;
  /** Last error talking to the daemon, shown in the status line. */
  error?: string;
}

/** The actions the menu triggers. */
export interface TrayActions {
  openDashboard(route?: string): void;
  prewarmFromFile(): void;
  pinFromClipboard(): void;
  setOffline(offline: boolean): void;
  openDataFolder(): void;
  quit(): void;
}

const MAX_PINS_IN_MENU = 25;

/** Worst replication lag over pins and, on an edge site, behind its parent (seconds). */
export function worstLag(s: TraySnapshot): number {
  return Math.max(0, s.stats?.pins.maxLagSeconds ?? 0, s.stats?.replication?.lagSeconds ?? 0, ...s.pins.map((p) => p.lagSeconds));
}

/** Icon state: error > stale (offline/unreachable upstream) > lagging > healthy. */
export function trayState(s: TraySnapshot): TrayState {
  if (s.daemon !== 'up' || !s.stats) return s.daemon === 'starting' ? 'stale' : 'error';
  if (s.pins.some((p) => p.status === 'error')) return 'error';
  const st = s.stats;
  if (st.offline || st.remotes.some((r) => r.health === 'down' || r.health === 'offline' || r.health === 'degraded')) return 'stale';
  if (st.pins.lagging > 0 || (st.replication?.lagSeconds ?? 0) >= s.lagThresholdSeconds) return 'lagging';
  if (s.pins.some((p) => p.status === 'lagging' || p.lagSeconds >= s.lagThresholdSeconds)) return 'lagging';
  return 'healthy';
}

/** 3725 → "1h 2m"; 0 → "none". */
export function formatLag(seconds: number): string {
  if (seconds <= 0) return 'none';
  const s = Math.floor(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  return h < 24 ? `${h}h ${m % 60}m` : `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** 1536 → "1.5 KiB". */
export function formatSize(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/** The status line: "Hit rate 87% · lag 5m" or why there is none. */
export function statusLine(s: TraySnapshot): string {
  if (s.daemon === 'starting') return 'Starting Larder…';
  if (s.daemon === 'down' || !s.stats) return `Larder is not running${s.error ? `: ${s.error}` : ''}`;
  const st = s.stats;
  const mode = st.offline ? ' · offline' : st.remotes.some((r) => r.health === 'down') ? ' · upstream unreachable' : '';
  return `Hit rate ${Math.round(st.hitRate * 100)}% · lag ${formatLag(worstLag(s))}${mode}`;
}

/** "3 peers · 41 % of today's misses served by peers", when LAN peers are on (undefined otherwise). */
export function peersLine(s: TraySnapshot): string | undefined {
  const p = s.daemon === 'up' ? s.stats?.peers : undefined;
  if (!p) return undefined;
  const count = `${p.count} ${p.count === 1 ? 'peer' : 'peers'}`;
  if (p.today.misses === 0) return `${count} · no misses today`;
  return `${count} · ${Math.round((p.today.fromPeers / p.today.misses) * 100)} % of today's misses served by peers`;
}

/** Tooltip: hit rate, bytes saved today, worst lag and LAN peers (one per line). */
export function tooltip(s: TraySnapshot): string {
  if (s.daemon !== 'up' || !s.stats) return `Larder — ${statusLine(s)}`;
  return [
    `Larder — ${trayState(s)}`,
    `Hit rate: ${Math.round(s.stats.hitRate * 100)}%`,
    `Saved today: ${formatSize(s.stats.bytesSavedToday)}`,
    `Worst lag: ${formatLag(worstLag(s))}`,
    ...(peersLine(s) ? [`Peers: ${peersLine(s)}`] : []),
  ].join('\n');
}

/** One pin's menu label: "npm:x@1 — ok" or "… — lagging 12m". */
export function pinLabel(p: Pin, thresholdSeconds: number): string {
  const lag = p.lagSeconds > 0 ? ` ${formatLag(p.lagSeconds)}` : '';
  const status = p.status === 'ok' && p.lagSeconds >= thresholdSeconds ? 'lagging' : p.status;
  return `${p.ref} — ${status}${lag}`;
}

/** The context menu. */
export function menuTemplate(s: TraySnapshot, a: TrayActions): MenuItemConstructorOptions[] {
  const up = s.daemon === 'up' && s.stats !== undefined;
  const pins = [...s.pins].sort((x, y) => y.lagSeconds - x.lagSeconds || x.ref.localeCompare(y.ref));
  const pinItems: MenuItemConstructorOptions[] =
    pins.length === 0
      ? [{ label: 'No pinned artifacts', enabled: false }]
      : pins
          .slice(0, MAX_PINS_IN_MENU)
          .map((p) => ({ id: `pin:${p.id}`, label: pinLabel(p, s.lagThresholdSeconds), click: () => a.openDashboard(`pins/${p.id}`) }));
  if (pins.length > MAX_PINS_IN_MENU) pinItems.push({ label: `All ${pins.length} pins…`, click: () => a.openDashboard('pins') });
  const offline = s.stats?.offline ?? false;
  return [
    { id: 'status', label: statusLine(s), enabled: false },
    ...(peersLine(s) ? [{ id: 'peers', label: peersLine(s), enabled: false }] : []),
    { type: 'separator' },
    { id: 'pins', label: 'Pinned artifacts', submenu: pinItems, enabled: up },
    { id: 'open', label: 'Open dashboard', click: () => a.openDashboard(), enabled: up },
    { id: 'prewarm', label: 'Pre-warm from file…', click: () => a.prewarmFromFile(), enabled: up },
    { id: 'pin-clipboard', label: 'Pin from clipboard', click: () => a.pinFromClipboard(), enabled: up },
    { id: 'offline', label: offline ? 'Go online' : 'Go offline', click: () => a.setOffline(!offline), enabled: up },
    { type: 'separator' },
    { id: 'data', label: 'Open data folder', click: () => a.openDataFolder() },
    { id: 'quit', label: 'Quit Larder', click: () => a.quit() },
  ];
}
