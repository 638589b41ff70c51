/**
 * Builds `window.larder` from an ipcRenderer: one function per contract
 * entry (never a generic send/invoke), and AbortSignal-removable listeners
 * for pushes. Kept apart from index.ts so tests can run it with a fake.
 */
import { EVENT_CHANNELS, INVOKE_CHANNELS, type IpcEvents, type LarderBridge } from '../shared/ipc-contract.js';

/** The part of ipcRenderer the bridge uses. */
export interface IpcRendererLike {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  on(channel: string, listener: (event: unknown, payload: unknown) => void): unknown;
  removeListener(channel: string, listener: (event: unknown, payload: unknown) => void): unknown;
}

function subscriber<K extends keyof IpcEvents>(ipc: IpcRendererLike, name: K) {
  return (listener: (payload: IpcEvents[K]) => void, signal?: AbortSignal): void => {
    if (signal?.aborted) return;
    // Never hand the IpcRendererEvent (it carries `sender`) to the page.
    const wrapped = (_event: unknown, payload: unknown): void => listener(payload as IpcEvents[K]);
    ipc.on(EVENT_CHANNELS[name], wrapped);
    signal?.addEventListener('abort', () => ipc.removeListener(EVENT_CHANNELS[name], wrapped), { once: true });
  };
}

/** The object exposed to the dashboard as `window.larder`. */
export function createBridge(ipc: IpcRendererLike): LarderBridge {
  const c = INVOKE_CHANNELS;
  return {
    getAppInfo: () => ipc.invoke(c.getAppInfo) as ReturnType<LarderBridge['getAppInfo']>,
    openExternal: (url) => ipc.invoke(c.openExternal, url) as ReturnType<LarderBridge['openExternal']>,
    pickLockfile: () => ipc.invoke(c.pickLockfile) as ReturnType<LarderBridge['pickLockfile']>,
    openDataFolder: () => ipc.invoke(c.openDataFolder) as ReturnType<LarderBridge['openDataFolder']>,
    onNavigate: subscriber(ipc, 'navigate'),
  };
}
