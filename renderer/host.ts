/**
 * Feature detection of the Electron host. Inside the app window the preload
 * exposes `window.larder` (see electron/shared/ipc-contract.ts); in a plain
 * browser it is absent and the dashboard falls back to web behaviour.
 */
import type { LarderBridge } from '../electron/shared/ipc-contract.js';

declare global {
  interface Window {
    larder?: LarderBridge;
  }
}

/** The bridge when running inside the Electron window, else undefined. */
export function bridge(): LarderBridge | undefined {
  const b = window.larder;
  return typeof b === 'object' && b !== null && typeof b.getAppInfo === 'function' ? b : undefined;
}

/** Opens a link: through the app's allow-list in Electron, else a new tab. */
export function openLink(url: string): void {
  const b = bridge();
  if (b) void b.openExternal(url);
  else window.open(url, '_blank', 'noopener,noreferrer');
}
