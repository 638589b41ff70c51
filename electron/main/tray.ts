/**
 * Binds the tray model to an Electron Tray: icon per state (template images
 * on macOS, coloured ones elsewhere), tooltip and context menu, refreshed on
 * every snapshot. Electron is injected (the few parts used), so tests run
 * with a fake.
 */
import { join } from 'node:path';
import type { MenuItemConstructorOptions } from 'electron';
import { menuTemplate, tooltip, trayState, type TrayActions, type TraySnapshot, type TrayState } from './tray-model.js';

/** The part of Electron's Tray used here. */
export interface TrayLike {
  setImage(image: string): void;
  setToolTip(text: string): void;
  setContextMenu(menu: unknown): void;
  on(event: 'click', listener: () => void): unknown;
  destroy(): void;
}

/** Tray dependencies: construction of the tray and of menus. */
export interface TrayDeps {
  createTray(iconPath: string): TrayLike;
  buildMenu(template: MenuItemConstructorOptions[]): unknown;
  /** Directory with the tray PNGs (resources/tray). */
  iconDir: string;
  platform: NodeJS.Platform;
  /** Left-click (Windows/Linux): show the popover. */
  onClick?(): void;
}

/** Icon file of a state: `<state>Template.png` on macOS, `<state>.png` elsewhere (@2x picked by Electron). */
export function iconPath(iconDir: string, state: TrayState, platform: NodeJS.Platform): string {
  return join(iconDir, platform === 'darwin' ? `${state}Template.png` : `${state}.png`);
}

/** Owns the Tray and re-renders it from snapshots. */
export class TrayController {
  private tray: TrayLike | undefined;
  private state: TrayState | undefined;
  private lastTooltip = '';
  private lastMenuKey = '';

  constructor(
    private readonly deps: TrayDeps,
    private readonly actions: TrayActions,
  ) {}

  /** Current icon state (after the last render). */
  get current(): TrayState | undefined {
    return this.state;
  }

  /** Applies a snapshot; only changed parts are pushed to the tray. */
  render(s: TraySnapshot): void {
    const state = trayState(s);
    if (!this.tray) {
      this.tray = this.deps.createTray(iconPath(this.deps.iconDir, state, this.deps.platform));
      if (this.deps.onClick) this.tray.on('click', this.deps.onClick);
    } else if (state !== this.state) {
      this.tray.setImage(iconPath(this.deps.iconDir, state, this.deps.platform));
    }
    this.state = state;
    const tip = tooltip(s);
    if (tip !== this.lastTooltip) {
      this.lastTooltip = tip;
      this.tray.setToolTip(tip);
    }
    const template = menuTemplate(s, this.actions);
    const key = JSON.stringify(template, (k, v: unknown) => (k === 'click' ? undefined : v));
    if (key !== this.lastMenuKey) {
      this.lastMenuKey = key;
      this.tray.setContextMenu(this.deps.buildMenu(template));
    }
  }

  destroy(): void {
    this.tray?.destroy();
    this.tray = undefined;
  }
}
