/**
 * Payload validation for every IPC request: the exact argument count and
 * types of the contract, with bounds. Throws IpcPayloadError on anything
 * else; handlers only ever see validated arguments.
 */
import type { IpcInvoke } from '../shared/ipc-contract.js';

/** A request whose payload does not match the contract. */
export class IpcPayloadError extends Error {
  readonly code = 'E_IPC_PAYLOAD';
  constructor(message: string) {
    super(message);
    this.name = 'IpcPayloadError';
  }
}

const MAX_URL_LENGTH = 2048;

function noArgs(channel: string) {
  return (args: readonly unknown[]): [] => {
    if (args.length !== 0) throw new IpcPayloadError(`${channel}: expected no arguments, got ${args.length}`);
    return [];
  };
}

/** Validators per contract entry: raw args → typed args. */
export const VALIDATORS: { readonly [K in keyof IpcInvoke]: (args: readonly unknown[]) => IpcInvoke[K]['args'] } = {
  getAppInfo: noArgs('getAppInfo'),
  pickLockfile: noArgs('pickLockfile'),
  openDataFolder: noArgs('openDataFolder'),
  openExternal: (args) => {
    if (args.length !== 1) throw new IpcPayloadError(`openExternal: expected 1 argument, got ${args.length}`);
    const [url] = args;
    if (typeof url !== 'string') throw new IpcPayloadError(`openExternal: expected a string URL, got ${typeof url}`);
    if (url.length === 0 || url.length > MAX_URL_LENGTH) throw new IpcPayloadError(`openExternal: URL length must be 1..${MAX_URL_LENGTH}`);
    try {
      new URL(url);
    } catch {
      throw new IpcPayloadError('openExternal: not an absolute URL');
    }
    return [url];
  },
};
