/**
 * Registers one ipcMain handler per contract entry. Every message is checked
 * before it reaches a handler: the sender must be one of the app's own
 * windows, its frame must be the top frame on the daemon's dashboard origin,
 * and the payload must validate. Rejections throw (the renderer's invoke
 * rejects) and are logged.
 */
import { INVOKE_CHANNELS, type IpcInvoke } from '../shared/ipc-contract.js';
import { VALIDATORS } from './ipc-validate.js';
import { isAllowedNavigation } from './security.js';

/** A sender that is not one of the app's windows, or a frame off the dashboard. */
export class IpcSenderError extends Error {
  readonly code = 'E_IPC_SENDER';
  constructor(message: string) {
    super(message);
    this.name = 'IpcSenderError';
  }
}

/** The part of an IpcMainInvokeEvent inspected here. */
export interface InvokeEventLike {
  sender: unknown;
  senderFrame?: { url: string; parent?: unknown } | null;
}

/** The part of ipcMain used here. */
export interface IpcMainLike {
  handle(channel: string, listener: (event: InvokeEventLike, ...args: unknown[]) => unknown): void;
  removeHandler(channel: string): void;
}

/** Implementation of each contract entry. */
export type IpcHandlers = {
  [K in keyof IpcInvoke]: (...args: IpcInvoke[K]['args']) => Promise<IpcInvoke[K]['result']> | IpcInvoke[K]['result'];
};

/** Registration options. */
export interface IpcOptions {
  /** True when `sender` (a WebContents) belongs to one of the app's windows. */
  isAppSender(sender: unknown): boolean;
  /** Origin of the daemon whose dashboard may call in. */
  daemonOrigin(): string;
  log?(msg: string, fields?: Record<string, unknown>): void;
}

/** Checks sender and frame; throws IpcSenderError. */
export function verifySender(event: InvokeEventLike, opts: IpcOptions, channel: string): void {
  if (!opts.isAppSender(event.sender)) throw new IpcSenderError(`${channel}: sender is not an app window`);
  const frame = event.senderFrame;
  if (!frame) throw new IpcSenderError(`${channel}: sender frame is gone`);
  if (frame.parent) throw new IpcSenderError(`${channel}: sub-frames may not call the app`);
  if (!isAllowedNavigation(frame.url, opts.daemonOrigin())) throw new IpcSenderError(`${channel}: sender frame is not the dashboard`);
}

/** Registers all handlers; returns a function removing them. */
export function registerIpc(ipcMain: IpcMainLike, handlers: IpcHandlers, opts: IpcOptions): () => void {
  const names = Object.keys(INVOKE_CHANNELS) as Array<keyof IpcInvoke>;
  for (const name of names) {
    const channel = INVOKE_CHANNELS[name];
    const validate = VALIDATORS[name] as (args: readonly unknown[]) => unknown[];
    const handler = handlers[name] as (...args: unknown[]) => unknown;
    ipcMain.handle(channel, async (event, ...raw) => {
      try {
        verifySender(event, opts, name);
        return await handler(...validate(raw));
      } catch (err) {
        opts.log?.('ipc request failed', { channel, err: err instanceof Error ? err.message : String(err) });
        throw err;
      }
    });
  }
  return () => {
    for (const name of names) ipcMain.removeHandler(INVOKE_CHANNELS[name]);
  };
}
