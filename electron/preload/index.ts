/**
 * Preload of every app window (sandboxed, context-isolated): exposes the
 * typed bridge as `window.larder`. Bundled to one CommonJS file by
 * electron/build.ts, since sandboxed preloads cannot load other modules.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { createBridge } from './bridge.js';

contextBridge.exposeInMainWorld('larder', createBridge(ipcRenderer));
