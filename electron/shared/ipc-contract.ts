/**
 * The one IPC contract between the dashboard window (renderer, via the
 * preload's `window.larder`) and the Electron main process. Every entry is
 * one channel: the preload exposes one function per entry, main registers one
 * validated handler per entry. The renderer imports this file type-only.
 */

/** What the window may know about the app it runs in. */
export interface AppInfo {
  version: string;
  platform: string;
  /** Base URL of the daemon the app talks to (started or attached). */
  daemonUrl: string;
  /** True when the app started the daemon (it stops with the app). */
  managed: boolean;
}

/** A file the user picked in a native dialog, read by main. */
export interface PickedFile {
  name: string;
  content: string;
}

/** Renderer → main requests: name → argument tuple and result. */
export interface IpcInvoke {
  getAppInfo: { args: []; result: AppInfo };
  /** Opens an allow-listed http(s) URL in the default browser; false when refused. */
  openExternal: { args: [url: string]; result: boolean };
  /** Native open dialog for lockfiles/manifests; null when cancelled. */
  pickLockfile: { args: []; result: PickedFile[] | null };
  /** Reveals the daemon's data directory in the file manager. */
  openDataFolder: { args: []; result: boolean };
}

/** Main → renderer pushes: name → payload. */
export interface IpcEvents {
  /** Show a dashboard route, e.g. "pins/<id>" (the tray's pin submenu). */
  navigate: { route: string };
}

/** Channel name of each request. */
export const INVOKE_CHANNELS: { readonly [K in keyof IpcInvoke]: string } = {
  getAppInfo: 'larder:get-app-info',
  openExternal: 'larder:open-external',
  pickLockfile: 'larder:pick-lockfile',
  openDataFolder: 'larder:open-data-folder',
};

/** Channel name of each push. */
export const EVENT_CHANNELS: { readonly [K in keyof IpcEvents]: string } = {
  navigate: 'larder:navigate',
};

/** Largest lockfile main reads for the renderer. */
export const MAX_PICKED_FILE_BYTES = 8 * 1024 * 1024;

type Invokers = { [K in keyof IpcInvoke]: (...args: IpcInvoke[K]['args']) => Promise<IpcInvoke[K]['result']> };

/** Listener registration for one push; an aborted signal removes the listener. */
export type EventSubscriber<P> = (listener: (payload: P) => void, signal?: AbortSignal) => void;

/** `window.larder` as exposed by the preload. */
export type LarderBridge = Invokers & {
  onNavigate: EventSubscriber<IpcEvents['navigate']>;
};
