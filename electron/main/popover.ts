/**
 * The tray popover: a small frameless window showing the dashboard, created
 * lazily on first use and hidden (not closed) on blur. Tray bounds are
 * cached because some platforms report zeros on later clicks.
 */
import { EVENT_CHANNELS } from '../shared/ipc-contract.js';

/** Rectangle in screen coordinates. */
export interface Bounds {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The part of BrowserWindow the popover uses. */
export interface PopoverWindow {
  loadURL(url: string): Promise<void>;
  show(): void;
  hide(): void;
  focus(): void;
  isVisible(): boolean;
  isDestroyed(): boolean;
  setPosition(x: number, y: number): void;
  getBounds(): Bounds;
  on(event: 'blur' | 'closed', listener: () => void): unknown;
  webContents: { send(channel: string, payload: unknown): void };
}

/** Popover dependencies. */
export interface PopoverDeps {
  createWindow(): PopoverWindow;
  /** URL to load on creation (the dashboard, after login). */
  url(): Promise<string>;
  /** Work area of the display nearest the tray, to keep the window on screen. */
  workArea(near: Bounds): Bounds;
}

/** Where the window goes: centred under (or above) the tray icon, clamped to the work area. */
export function popoverPosition(tray: Bounds, win: { width: number; height: number }, area: Bounds): { x: number; y: number } {
  let x = Math.round(tray.x + tray.width / 2 - win.width / 2);
  const below = tray.y < area.y + area.height / 2;
  let y = below ? tray.y + tray.height + 4 : tray.y - win.height - 4;
  x = Math.min(Math.max(x, area.x), area.x + area.width - win.width);
  y = Math.min(Math.max(y, area.y), area.y + area.height - win.height);
  return { x, y };
}

/** Lazily created, blur-hidden popover. */
export class Popover {
  private win: PopoverWindow | undefined;
  private loading: Promise<void> | undefined;
  private trayBounds: Bounds | undefined;

  constructor(private readonly deps: PopoverDeps) {}

  /** The window if it has been created (and not destroyed). */
  get window(): PopoverWindow | undefined {
    return this.win && !this.win.isDestroyed() ? this.win : undefined;
  }

  private ensure(): PopoverWindow {
    const existing = this.window;
    if (existing) return existing;
    const win = this.deps.createWindow();
    this.win = win;
    win.on('blur', () => {
      if (!win.isDestroyed()) win.hide();
    });
    win.on('closed', () => {
      if (this.win === win) this.win = undefined;
    });
    this.loading = this.deps.url().then((u) => win.loadURL(u));
    return win;
  }

  /** Shows the popover near the tray; `route` navigates the dashboard. */
  async show(tray?: Bounds, route?: string): Promise<void> {
    if (tray && tray.width > 0 && tray.height > 0) this.trayBounds = tray;
    const win = this.ensure();
    await this.loading;
    if (this.trayBounds) {
      const b = win.getBounds();
      const p = popoverPosition(this.trayBounds, b, this.deps.workArea(this.trayBounds));
      win.setPosition(p.x, p.y);
    }
    if (route) win.webContents.send(EVENT_CHANNELS.navigate, { route });
    win.show();
    win.focus();
  }

  /** Toggles visibility (tray click). */
  async toggle(tray?: Bounds): Promise<void> {
    if (this.window?.isVisible()) this.window.hide();
    else await this.show(tray);
  }
}
