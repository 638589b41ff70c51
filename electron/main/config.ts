/**
 * Where the tray app finds its daemon: the listen address and data
 * directory, from LARDER_LISTEN / LARDER_DATA_DIR / LARDER_CONFIG (the same
 * variables and defaults as the daemon), plus the app's own settings.
 */
import { join } from 'node:path';
import envPaths from 'env-paths';

/** Resolved app settings. */
export interface AppConfig {
  listen: string;
  /** http://<listen> with a loopback host when the daemon binds all interfaces. */
  daemonUrl: string;
  dataDir: string;
  configFile?: string;
  /** Lag past which pins notify and count as lagging in the tray (seconds). */
  lagThresholdSeconds: number;
}

const DEFAULT_LISTEN = '127.0.0.1:7420';

/** The URL a local client uses for a listen address (0.0.0.0/:: → loopback). */
export function urlForListen(listen: string): string {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(listen);
  if (!m) throw new TypeError(`expected LARDER_LISTEN to be HOST:PORT, got ${JSON.stringify(listen)}`);
  const host = m[1] ?? m[2]!;
  const local = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${local.includes(':') ? `[${local}]` : local}:${m[3]}`;
}

/** Reads the configuration from an environment. */
export function loadAppConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const listen = env.LARDER_LISTEN || DEFAULT_LISTEN;
  const dataDir = env.LARDER_DATA_DIR || envPaths('larder', { suffix: '' }).data;
  const lag = Number(env.LARDER_LAG_THRESHOLD_SECONDS);
  const cfg: AppConfig = {
    listen,
    // LARDER_URL (e.g. https://127.0.0.1:7420 for a daemon with tls:) overrides the URL derived from the listen address.
    daemonUrl: env.LARDER_URL?.replace(/\/+$/, '') || urlForListen(listen),
    dataDir,
    lagThresholdSeconds: Number.isFinite(lag) && lag > 0 ? lag : 15 * 60,
  };
  if (env.LARDER_CONFIG) cfg.configFile = env.LARDER_CONFIG;
  return cfg;
}

/** Paths of the app's bundled files, relative to the built main module's directory. */
export function appPaths(mainDir: string, resourcesPath: string, packaged: boolean) {
  const dist = join(mainDir, '..');
  return {
    preload: join(dist, 'preload', 'index.cjs'),
    daemonHost: join(dist, 'daemon-host.js'),
    daemonCli: join(dist, '..', 'daemon', 'cli.js'),
    trayIcons: packaged ? join(resourcesPath, 'tray') : join(dist, '..', '..', 'resources', 'tray'),
  };
}
