/**
 * The dashboard shell: header with overall status, live indicator and the
 * offline switch; banners for offline mode and unreachable upstreams; the
 * section tabs; the sign-in screen when the session cookie is missing.
 */
import { useEffect, useState } from 'preact/hooks';
import type { Stats } from '../daemon/admin/contract.js';
import { api, toFailure } from './api.js';
import { Badge, type Tone } from './components/status.js';
import { Tabs } from './components/tabs.js';
import { bridge } from './host.js';
import { navigate, useRoute, type TabId } from './route.js';
import { useStore, type Store } from './state/store.js';
import { Activity } from './views/activity.js';
import { Overview } from './views/overview.js';
import { Pins } from './views/pins.js';
import { Policy } from './views/policy.js';
import { Prewarm } from './views/prewarm.js';
import { Storage } from './views/storage.js';

/** The overall state shown in the header (the tray uses the same rules). */
export function overallStatus(s: Stats): { tone: Tone; label: string } {
  if (s.offline) return { tone: 'muted', label: 'Offline mode' };
  if (s.remotes.some((r) => r.health === 'down' || r.health === 'offline'))
    return { tone: 'bad', label: 'Upstream unreachable · serving stale' };
  if (s.remotes.some((r) => r.health === 'degraded')) return { tone: 'warn', label: 'Upstream degraded' };
  if (s.pins.lagging > 0) return { tone: 'warn', label: `${s.pins.lagging} pin${s.pins.lagging === 1 ? '' : 's'} lagging` };
  return { tone: 'ok', label: 'Healthy' };
}

function SignIn() {
  return (
    <main class="signin">
      <h1>Larder</h1>
      <div class="card" role="alert">
        <h2>Sign-in needed</h2>
        <p>The dashboard uses a one-time login link. Run</p>
        <pre>larder ui</pre>
        <p>
          on the machine running the daemon and open the link it prints (the link from the start-up output of <code>larder serve</code>{' '}
          works once too).
        </p>
      </div>
    </main>
  );
}

function OfflineSwitch({ offline }: { offline: boolean }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const toggle = async (): Promise<void> => {
    setBusy(true);
    setError(undefined);
    try {
      await api.setOffline(!offline);
    } catch (err) {
      setError(toFailure(err).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" class="btn" aria-pressed={offline} disabled={busy} onClick={() => void toggle()} data-testid="offline-toggle">
        {offline ? 'Go online' : 'Go offline'}
      </button>
      {error ? (
        <span class="error-text" role="alert">
          {error}
        </span>
      ) : null}
    </>
  );
}

/** Ends the session (POST /logout clears the cookie); the reload then shows the sign-in screen. */
function SignOut() {
  const [busy, setBusy] = useState(false);
  const signOut = async (): Promise<void> => {
    setBusy(true);
    await api.logout().catch(() => undefined); // already signed out: the reload shows it
    location.reload();
  };
  return (
    <button type="button" class="btn" disabled={busy} onClick={() => void signOut()} data-testid="sign-out">
      Sign out
    </button>
  );
}

function Banners({ s }: { s: Stats }) {
  const down = s.remotes.filter((r) => r.health === 'down' || (r.offline && !s.offline));
  return (
    <>
      {s.offline ? (
        <div class="banner banner-muted" role="status" data-testid="offline-banner">
          <strong>Offline mode.</strong> Larder is not contacting any upstream and serves only what is cached.
        </div>
      ) : null}
      {down.length > 0 ? (
        <div class="banner banner-bad" role="alert" data-testid="upstream-banner">
          <strong>{down.map((r) => r.name).join(', ')}</strong> {down.length === 1 ? 'is' : 'are'}{' '}
          {down.every((r) => r.offline) ? 'offline' : 'unreachable'}: serving stale content from the cache.
        </div>
      ) : null}
    </>
  );
}

/** The whole dashboard. */
export function App({ store }: { store: Store }) {
  const state = useStore(store);
  const route = useRoute();
  useEffect(() => store.start(), [store]);
  useEffect(() => {
    const ac = new AbortController();
    bridge()?.onNavigate((p) => navigate(p.route), ac.signal);
    return () => ac.abort();
  }, []);

  if (state.signedIn === false) return <SignIn />;
  const stats = state.stats.status === 'ready' ? state.stats.value : undefined;
  const status = stats ? overallStatus(stats) : undefined;
  const live =
    state.live === 'open'
      ? { tone: 'ok' as const, label: 'Live' }
      : { tone: 'muted' as const, label: state.live === 'connecting' ? 'Connecting…' : 'Reconnecting…' };
  const badges: Partial<Record<TabId, number>> = {};
  if (stats && stats.pins.lagging > 0) badges.pins = stats.pins.lagging;
  if (stats && stats.jobs.running > 0) badges.prewarm = stats.jobs.running;

  return (
    <div class="app">
      <header class="top">
        <h1 class="brand">Larder</h1>
        {status ? (
          <span data-testid="status-badge">
            <Badge tone={status.tone}>{status.label}</Badge>
          </span>
        ) : null}
        <span class="spacer" />
        <span data-testid="live" data-live={state.live}>
          <Badge tone={live.tone}>{live.label}</Badge>
        </span>
        {stats ? <OfflineSwitch offline={stats.offline} /> : null}
        <SignOut />
      </header>
      {stats ? <Banners s={stats} /> : null}
      <Tabs current={route.tab} onSelect={(tab) => navigate({ tab })} badges={badges} />
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a tab panel is focusable so keyboard users reach its content (WAI-ARIA tabs pattern) */}
      <main id={`panel-${route.tab}`} class="panel" role="tabpanel" aria-labelledby={`tab-${route.tab}`} tabIndex={0}>
        {route.tab === 'overview' ? <Overview state={state} store={store} /> : null}
        {route.tab === 'pins' ? <Pins state={state} store={store} focus={route.item} /> : null}
        {route.tab === 'prewarm' ? <Prewarm state={state} store={store} /> : null}
        {route.tab === 'activity' ? <Activity state={state} store={store} /> : null}
        {route.tab === 'storage' ? <Storage state={state} store={store} /> : null}
        {route.tab === 'policy' ? <Policy /> : null}
      </main>
    </div>
  );
}
