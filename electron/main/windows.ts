/**
 * The app's windows: the dashboard window and the tray popover, both with
 * the locked-down webPreferences and logged in through a one-time link from
 * the admin API. Tracks which WebContents belong to the app, for IPC sender
 * checks.
 */
import type { BrowserWindow, BrowserWindowConstructorOptions } from 'electron';
import { EVENT_CHANNELS } from '../shared/ipc-contract.js';
import { Popover, type Bounds } from './popover.js';
import { secureWebPreferences } from './security.js';

/** What the window manager needs from Electron and the daemon. */
export interface WindowDeps {
  createWindow(opts: BrowserWindowConstructorOptions): BrowserWindow;
  preload: string;
  /** A fresh one-time login link (POST /login-link). */
  loginLink(): Promise<string>;
  workArea(near: Bounds): Bounds;
}

/** Creates and tracks the app's windows. */
export class Windows {
  private readonly contents = new Set<unknown>();
  private main: BrowserWindow | undefined;
  readonly popover: Popover;

  constructor(private readonly deps: WindowDeps) {
    this.popover = new Popover({
      createWindow: () =>
        this.track(
          this.deps.createWindow({
            width: 420,
            height: 560,
            show: false,
            frame: false,
            resizable: false,
            skipTaskbar: true,
            alwaysOnTop: true,
            fullscreenable: false,
            webPreferences: secureWebPreferences(this.deps.preload),
          }),
        ),
      url: () => this.deps.loginLink(),
      workArea: (b) => this.deps.workArea(b),
    });
  }

  private track(win: BrowserWindow): BrowserWindow {
    const wc = win.webContents;
    this.contents.add(wc);
    win.on('closed', () => this.contents.delete(wc));
    return win;
  }

  /** True when `sender` is the WebContents of one of the app's windows. */
  isAppSender = (sender: unknown): boolean => this.contents.has(sender);

  /** Shows the dashboard window (created on first use) at `route`. */
  async openDashboard(route?: string): Promise<void> {
    if (this.main && !this.main.isDestroyed()) {
      if (route) this.main.webContents.send(EVENT_CHANNELS.navigate, { route });
      this.main.show();
      this.main.focus();
      return;
    }
    const win = this.track(
      this.deps.createWindow({
        width: 1200,
        height: 820,
        minWidth: 720,
        minHeight: 480,
        show: false,
        title: 'Larder',
        webPreferences: secureWebPreferences(this.deps.preload),
      }),
    );
    this.main = win;
    win.on('closed', () => {
      if (this.main === win) this.main = undefined;
    });
    win.once('ready-to-show', () => win.show());
    const link = await this.deps.loginLink();
    await win.loadURL(route ? `${link}#${route}` : link);
  }
}
