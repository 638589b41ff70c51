/**
 * Security for every web contents the app creates: locked-down
 * webPreferences (context isolation, sandbox, no Node), navigation limited
 * to the dashboard on the daemon's origin, new windows denied (allow-listed
 * https links go to the default browser), webviews and permission requests
 * refused.
 */
import type { WebPreferences } from 'electron';

/** Hosts whose https links may be opened in the default browser. */
export const DEFAULT_EXTERNAL_ALLOWLIST: readonly string[] = [
  'github.com',
  'larder.dev',
  'www.npmjs.com',
  'pypi.org',
  'pkg.go.dev',
  'hub.docker.com',
];

/** The webPreferences of every app window. */
export function secureWebPreferences(preload: string): WebPreferences {
  return {
    preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    navigateOnDragDrop: false,
    spellcheck: false,
    safeDialogs: true,
  };
}

function parse(url: string): URL | undefined {
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}

/** In-app navigation: only the dashboard (/_/ui/…) on the daemon's origin. */
export function isAllowedNavigation(url: string, daemonOrigin: string): boolean {
  const u = parse(url);
  const d = parse(daemonOrigin);
  if (!u || !d) return false;
  return u.origin === d.origin && (u.pathname === '/_/ui' || u.pathname.startsWith('/_/ui/'));
}

/** External links: https, no credentials, host on the allow-list (exact or subdomain). */
export function isAllowedExternal(url: string, allowlist: readonly string[] = DEFAULT_EXTERNAL_ALLOWLIST): boolean {
  const u = parse(url);
  if (u?.protocol !== 'https:' || u.username || u.password) return false;
  const host = u.hostname.toLowerCase();
  return allowlist.some((h) => host === h || host.endsWith(`.${h}`));
}

/** The part of WebContents hardened here. */
export interface HardenableContents {
  on(event: 'will-navigate' | 'will-redirect', listener: (e: { preventDefault(): void }, url: string) => void): unknown;
  on(event: 'will-attach-webview', listener: (e: { preventDefault(): void }) => void): unknown;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' } | { action: 'allow' }): void;
  session: {
    setPermissionRequestHandler(handler: ((wc: unknown, permission: string, cb: (granted: boolean) => void) => void) | null): void;
  };
}

/** Options of {@link hardenContents}. */
export interface HardenOptions {
  daemonOrigin(): string;
  openExternal(url: string): void;
  allowlist?: readonly string[];
  log?(msg: string, fields?: Record<string, unknown>): void;
}

/** Applies the navigation, window-open, webview and permission policies. */
export function hardenContents(contents: HardenableContents, opts: HardenOptions): void {
  const guard = (e: { preventDefault(): void }, url: string): void => {
    if (isAllowedNavigation(url, opts.daemonOrigin())) return;
    e.preventDefault();
    if (isAllowedExternal(url, opts.allowlist)) opts.openExternal(url);
    else opts.log?.('blocked navigation', { url: url.slice(0, 200) });
  };
  contents.on('will-navigate', guard);
  contents.on('will-redirect', guard);
  contents.on('will-attach-webview', (e) => e.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    if (isAllowedExternal(url, opts.allowlist)) opts.openExternal(url);
    else opts.log?.('blocked window.open', { url: url.slice(0, 200) });
    return { action: 'deny' };
  });
  contents.session.setPermissionRequestHandler((_wc, _permission, cb) => cb(false));
}
