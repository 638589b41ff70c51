/**
 * Electron main process: wiring only. Every decision lives in a small module
 * that takes Electron as a dependency (supervisor, tray, windows, IPC,
 * security, notifier, controller); this file hands them the real thing.
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BrowserWindow, Menu, Notification, Tray, app, clipboard, dialog, ipcMain, screen, session, shell, utilityProcess } from 'electron';
import { MAX_PICKED_FILE_BYTES, type PickedFile } from '../shared/ipc-contract.js';
import { TrayAdminClient, readAdminToken } from './admin-client.js';
import { AppController } from './app-controller.js';
import { appPaths, loadAppConfig } from './config.js';
import { DaemonSupervisor } from './daemon-supervisor.js';
import { registerIpc } from './ipc.js';
import { httpProbe, serveArgs, utilityLauncher } from './launchers.js';
import { Notifier } from './notifier.js';
import { hardenContents, isAllowedExternal } from './security.js';
import { TrayController } from './tray.js';
import { Windows } from './windows.js';

const log = (msg: string, fields?: Record<string, unknown>): void => console.log(JSON.stringify({ msg, ...fields }));

async function pickFiles(): Promise<PickedFile[] | null> {
  const r = await dialog.showOpenDialog({ title: 'Pre-warm from lockfile', properties: ['openFile', 'multiSelections'] });
  if (r.canceled || r.filePaths.length === 0) return null;
  const out: PickedFile[] = [];
  for (const p of r.filePaths) {
    if ((await stat(p)).size > MAX_PICKED_FILE_BYTES) throw new Error(`${basename(p)} is too large`);
    out.push({ name: basename(p), content: await readFile(p, 'utf8') });
  }
  return out;
}

async function main(): Promise<void> {
  if (!app.requestSingleInstanceLock()) return app.quit();
  await app.whenReady();
  if (process.platform === 'darwin') app.dock?.hide();
  const cfg = loadAppConfig();
  const paths = appPaths(dirname(fileURLToPath(import.meta.url)), process.resourcesPath, app.isPackaged);
  const openExternal = (url: string): boolean => {
    if (!isAllowedExternal(url)) return false;
    void shell.openExternal(url);
    return true;
  };
  app.on('web-contents-created', (_e, contents) => hardenContents(contents, { daemonOrigin: () => cfg.daemonUrl, openExternal, log }));
  session.defaultSession.setPermissionRequestHandler((_wc, _p, cb) => cb(false));

  const client = new TrayAdminClient({ baseUrl: cfg.daemonUrl, token: () => readAdminToken(cfg.dataDir) });
  const supervisor = new DaemonSupervisor({
    url: cfg.daemonUrl,
    probe: (u) => httpProbe(u),
    launch: utilityLauncher(utilityProcess, paths.daemonHost, paths.daemonCli, serveArgs(cfg.listen, cfg.dataDir, cfg.configFile)),
    log,
  });
  const windows = new Windows({
    createWindow: (o) => new BrowserWindow(o),
    preload: paths.preload,
    loginLink: async () => (await client.loginLink()).url,
    workArea: (b) => screen.getDisplayNearestPoint({ x: b.x, y: b.y }).workArea,
  });
  const notify = (title: string, body: string, route?: string): void => {
    const n = new Notification({ title, body });
    if (route) n.on('click', () => void windows.openDashboard(route));
    n.show();
  };
  const controller = new AppController({
    supervisor,
    client,
    createTray: (actions) => {
      let tray: Tray | undefined;
      const ctl = new TrayController(
        {
          createTray: (icon) => (tray = new Tray(icon)),
          buildMenu: (t) => Menu.buildFromTemplate(t),
          iconDir: paths.trayIcons,
          platform: process.platform,
          onClick: () => void windows.popover.toggle(tray?.getBounds()),
        },
        actions,
      );
      return ctl;
    },
    notifier: new Notifier((n) => notify(n.title, n.body, n.route), cfg.lagThresholdSeconds),
    toast: (t, b) => notify(t, b),
    readClipboard: () => clipboard.readText(),
    pickFiles,
    openDataFolder: () => void shell.openPath(cfg.dataDir),
    openDashboard: (route) => void windows.openDashboard(route).catch((err: unknown) => log('cannot open dashboard', { err: String(err) })),
    quit: () => app.quit(),
    lagThresholdSeconds: cfg.lagThresholdSeconds,
  });

  registerIpc(
    ipcMain,
    {
      getAppInfo: () => ({ version: app.getVersion(), platform: process.platform, daemonUrl: cfg.daemonUrl, managed: supervisor.owned }),
      openExternal: (url) => openExternal(url),
      pickLockfile: () => pickFiles(),
      openDataFolder: async () => (await shell.openPath(cfg.dataDir)) === '',
    },
    { isAppSender: windows.isAppSender, daemonOrigin: () => cfg.daemonUrl, log },
  );

  app.on('second-instance', () => void windows.openDashboard().catch(() => undefined));
  // A tray app keeps running with no windows open.
  app.on('window-all-closed', () => undefined);
  let quitting = false;
  app.on('before-quit', (e) => {
    if (quitting) return;
    quitting = true;
    e.preventDefault();
    void controller.stop().finally(() => app.exit(0));
  });
  await controller.start();
}

main().catch((err: unknown) => {
  log('fatal', { err: err instanceof Error ? err.stack : String(err) });
  app.exit(1);
});
