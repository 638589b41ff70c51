/**
 * IPC: every contract entry is registered; messages from anything but the
 * app's own windows on the dashboard origin are rejected before the handler
 * runs; payloads are validated. Also the preload bridge (one function per
 * entry, removable listeners) and the navigation/window-open policies.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { registerIpc, IpcSenderError, type IpcHandlers, type InvokeEventLike } from '../../electron/main/ipc.js';
import { IpcPayloadError } from '../../electron/main/ipc-validate.js';
import { hardenContents, isAllowedExternal, isAllowedNavigation, secureWebPreferences } from '../../electron/main/security.js';
import { createBridge } from '../../electron/preload/bridge.js';
import { EVENT_CHANNELS, INVOKE_CHANNELS } from '../../electron/shared/ipc-contract.js';

const ORIGIN = 'http://127.0.0.1:7420';
type Listener = (event: InvokeEventLike, ...args: unknown[]) => unknown;

function setup() {
  const handlers = new Map<string, Listener>();
  const calls: Array<[string, unknown[]]> = [];
  const appWindow = { id: 'app-window-contents' };
  const impl: IpcHandlers = {
    getAppInfo: () => {
      calls.push(['getAppInfo', []]);
      return { version: '0.1.0', platform: 'linux', daemonUrl: ORIGIN, managed: true };
    },
    openExternal: (url) => {
      calls.push(['openExternal', [url]]);
      return true;
    },
    pickLockfile: () => {
      calls.push(['pickLockfile', []]);
      return null;
    },
    openDataFolder: () => {
      calls.push(['openDataFolder', []]);
      return true;
    },
  };
  const rejected: string[] = [];
  const remove = registerIpc({ handle: (ch, l) => void handlers.set(ch, l), removeHandler: (ch) => void handlers.delete(ch) }, impl, {
    isAppSender: (s) => s === appWindow,
    daemonOrigin: () => ORIGIN,
    log: (_m, f) => rejected.push(String(f?.err)),
  });
  const call = (channel: string, event: InvokeEventLike, ...args: unknown[]) => {
    const h = handlers.get(channel);
    assert.ok(h, `handler for ${channel}`);
    return Promise.resolve().then(() => h(event, ...args));
  };
  const ok: InvokeEventLike = { sender: appWindow, senderFrame: { url: `${ORIGIN}/_/ui/#pins` } };
  return { handlers, calls, rejected, remove, call, ok, appWindow };
}

describe('ipc main', () => {
  it('registers exactly one handler per contract entry and removes them', () => {
    const t = setup();
    assert.deepEqual([...t.handlers.keys()].sort(), Object.values(INVOKE_CHANNELS).sort());
    t.remove();
    assert.equal(t.handlers.size, 0);
  });

  it('accepts a valid request from the dashboard in an app window', async () => {
    const t = setup();
    assert.deepEqual(await t.call(INVOKE_CHANNELS.openExternal, t.ok, 'https://github.com/larder'), true);
    assert.deepEqual(t.calls, [['openExternal', ['https://github.com/larder']]]);
  });

  it('rejects senders that are not app windows, sub-frames and foreign origins, before the handler runs', async () => {
    const t = setup();
    const cases: Array<[string, InvokeEventLike]> = [
      ['foreign webContents', { sender: { id: 'devtools-or-other' }, senderFrame: { url: `${ORIGIN}/_/ui/` } }],
      ['no frame', { sender: t.appWindow, senderFrame: null }],
      ['sub-frame', { sender: t.appWindow, senderFrame: { url: `${ORIGIN}/_/ui/`, parent: {} } }],
      ['other origin', { sender: t.appWindow, senderFrame: { url: 'https://evil.example/_/ui/' } }],
      ['same origin, not the dashboard', { sender: t.appWindow, senderFrame: { url: `${ORIGIN}/npm/left-pad` } }],
    ];
    for (const [name, ev] of cases) {
      await assert.rejects(
        t.call(INVOKE_CHANNELS.getAppInfo, ev),
        (err: unknown) => err instanceof IpcSenderError && err.code === 'E_IPC_SENDER',
        name,
      );
    }
    assert.deepEqual(t.calls, []);
    assert.equal(t.rejected.length, cases.length);
  });

  it('validates payloads: count, types, bounds', async () => {
    const t = setup();
    const bad: Array<[string, unknown[]]> = [
      [INVOKE_CHANNELS.openExternal, []],
      [INVOKE_CHANNELS.openExternal, [42]],
      [INVOKE_CHANNELS.openExternal, ['not a url']],
      [INVOKE_CHANNELS.openExternal, [`https://github.com/${'x'.repeat(3000)}`]],
      [INVOKE_CHANNELS.openExternal, ['https://github.com', 'extra']],
      [INVOKE_CHANNELS.getAppInfo, ['unexpected']],
      [INVOKE_CHANNELS.pickLockfile, [{ path: '/etc/passwd' }]],
    ];
    for (const [ch, args] of bad) {
      await assert.rejects(
        t.call(ch, t.ok, ...args),
        (err: unknown) => err instanceof IpcPayloadError,
        `${ch} ${JSON.stringify(args).slice(0, 40)}`,
      );
    }
    assert.deepEqual(t.calls, []);
    assert.equal((await t.call(INVOKE_CHANNELS.getAppInfo, t.ok)) !== undefined, true);
  });
});

describe('preload bridge', () => {
  it('exposes one function per contract entry, each invoking its own channel', async () => {
    const invoked: Array<[string, unknown[]]> = [];
    const bridge = createBridge({
      invoke: async (ch, ...args) => {
        invoked.push([ch, args]);
        return `r:${ch}`;
      },
      on: () => undefined,
      removeListener: () => undefined,
    });
    assert.deepEqual(Object.keys(bridge).sort(), [...Object.keys(INVOKE_CHANNELS), 'onNavigate'].sort());
    assert.equal(await bridge.openExternal('https://github.com'), `r:${INVOKE_CHANNELS.openExternal}`);
    await bridge.getAppInfo();
    await bridge.pickLockfile();
    await bridge.openDataFolder();
    assert.deepEqual(invoked, [
      [INVOKE_CHANNELS.openExternal, ['https://github.com']],
      [INVOKE_CHANNELS.getAppInfo, []],
      [INVOKE_CHANNELS.pickLockfile, []],
      [INVOKE_CHANNELS.openDataFolder, []],
    ]);
  });

  it('onNavigate passes only the payload and is removed by its AbortSignal', () => {
    const listeners = new Map<string, Set<(e: unknown, p: unknown) => void>>();
    const bridge = createBridge({
      invoke: async () => undefined,
      on: (ch, l) => listeners.set(ch, (listeners.get(ch) ?? new Set()).add(l)),
      removeListener: (ch, l) => listeners.get(ch)?.delete(l),
    });
    const got: unknown[] = [];
    const ac = new AbortController();
    bridge.onNavigate((p) => got.push(p), ac.signal);
    const emit = (p: unknown): void => {
      for (const l of listeners.get(EVENT_CHANNELS.navigate) ?? []) l({ sender: 'secret' }, p);
    };
    emit({ route: 'pins/p1' });
    ac.abort();
    emit({ route: 'pins/p2' });
    assert.deepEqual(got, [{ route: 'pins/p1' }]);
    assert.equal(listeners.get(EVENT_CHANNELS.navigate)?.size, 0);
  });
});

describe('security policies', () => {
  it('locks down webPreferences', () => {
    const p = secureWebPreferences('/app/preload.cjs');
    assert.equal(p.contextIsolation, true);
    assert.equal(p.sandbox, true);
    assert.equal(p.nodeIntegration, false);
    assert.equal(p.webviewTag, false);
    assert.equal(p.webSecurity, true);
  });

  it('allows navigation only to the dashboard on the daemon origin; external links by allow-list', () => {
    assert.equal(isAllowedNavigation(`${ORIGIN}/_/ui/login?t=abc`, ORIGIN), true);
    assert.equal(isAllowedNavigation(`${ORIGIN}/_/ui`, ORIGIN), true);
    assert.equal(isAllowedNavigation(`${ORIGIN}/_/api/v1/stats`, ORIGIN), false);
    assert.equal(isAllowedNavigation('http://127.0.0.1:7421/_/ui/', ORIGIN), false);
    assert.equal(isAllowedNavigation('file:///etc/passwd', ORIGIN), false);
    assert.equal(isAllowedExternal('https://github.com/x/y'), true);
    assert.equal(isAllowedExternal('https://docs.github.com/'), true);
    assert.equal(isAllowedExternal('http://github.com/'), false);
    assert.equal(isAllowedExternal('https://github.com.evil.example/'), false);
    assert.equal(isAllowedExternal('https://user:pw@github.com/'), false);
    assert.equal(isAllowedExternal('javascript:alert(1)'), false);
  });

  it('hardens web contents: blocks navigation, denies windows and permissions, opens allow-listed links outside', () => {
    const handlers = new Map<string, (e: { preventDefault(): void }, url: string) => void>();
    let openHandler: ((d: { url: string }) => { action: string }) | undefined;
    let permission: ((wc: unknown, p: string, cb: (g: boolean) => void) => void) | null = null;
    const opened: string[] = [];
    hardenContents(
      {
        on: (ev: string, l: (e: { preventDefault(): void }, url: string) => void) => handlers.set(ev, l),
        setWindowOpenHandler: (h) => (openHandler = h),
        session: { setPermissionRequestHandler: (h) => (permission = h) },
      },
      { daemonOrigin: () => ORIGIN, openExternal: (u) => opened.push(u) },
    );
    const nav = (url: string): boolean => {
      let prevented = false;
      handlers.get('will-navigate')!({ preventDefault: () => (prevented = true) }, url);
      return prevented;
    };
    assert.equal(nav(`${ORIGIN}/_/ui/#pins`), false);
    assert.equal(nav('https://evil.example/'), true);
    assert.equal(nav('https://github.com/larder'), true);
    assert.deepEqual(opened, ['https://github.com/larder']);
    assert.deepEqual(openHandler!({ url: 'https://pypi.org/project/x' }), { action: 'deny' });
    assert.deepEqual(openHandler!({ url: 'https://evil.example/' }), { action: 'deny' });
    assert.deepEqual(opened, ['https://github.com/larder', 'https://pypi.org/project/x']);
    let webviewPrevented = false;
    handlers.get('will-attach-webview')!({ preventDefault: () => (webviewPrevented = true) }, '');
    assert.equal(webviewPrevented, true);
    let granted: boolean | undefined;
    permission!(null, 'camera', (g) => (granted = g));
    assert.equal(granted, false);
  });
});
