/**
 * The dashboard's state: what was loaded from the admin API, kept current by
 * the live event stream. One store per page; views subscribe with useStore().
 */
import { useEffect, useState } from 'preact/hooks';
import type { ActivityItem, ActivityKind, Job, LiveEvent, Pin, Stats, StatsPoint } from '../../daemon/admin/contract.js';
import { api, toFailure, type AdminError } from '../api.js';
import { connectLive, type LiveStatus } from '../live.js';
import { addSnapshot, normalize } from './series.js';

/** Something loaded from the API. */
export type Loadable<T> = { status: 'loading' } | { status: 'error'; error: AdminError } | { status: 'ready'; value: T };

/** Everything the views render. */
export interface AppState {
  /** false once the API answered 401/403: the session cookie is missing. */
  signedIn: boolean | undefined;
  live: LiveStatus;
  stats: Loadable<Stats>;
  series: Loadable<StatsPoint[]>;
  pins: Loadable<Pin[]>;
  jobs: Loadable<Job[]>;
  activity: Loadable<ActivityItem[]>;
  activityKind: ActivityKind | undefined;
}

const MAX_ACTIVITY = 500;
const STATS_FALLBACK_MS = 5_000;

function upsert<T extends { id: string }>(list: readonly T[], item: T, prepend: boolean): T[] {
  const i = list.findIndex((x) => x.id === item.id);
  if (i < 0) return prepend ? [item, ...list] : [...list, item];
  const out = [...list];
  out[i] = item;
  return out;
}

const JOB_STAGE: Record<Job['state'], number> = { queued: 0, running: 1, done: 2, failed: 2, cancelled: 2 };

/**
 * The newer of two snapshots of one job (a job only moves forward). The
 * answer to POST /jobs can arrive after the stream's events for the same
 * job; it must not take a finished job back to queued.
 */
export function newerJob(prev: Job | undefined, next: Job): Job {
  if (!prev) return next;
  const stage = JOB_STAGE[next.state] - JOB_STAGE[prev.state];
  if (stage !== 0) return stage > 0 ? next : prev;
  return next.done + next.failed + next.bytes >= prev.done + prev.failed + prev.bytes ? next : prev;
}

/** Holds AppState, loads it and applies live events. */
export class Store {
  state: AppState = {
    signedIn: undefined,
    live: 'connecting',
    stats: { status: 'loading' },
    series: { status: 'loading' },
    pins: { status: 'loading' },
    jobs: { status: 'loading' },
    activity: { status: 'loading' },
    activityKind: undefined,
  };
  private listeners = new Set<() => void>();
  private lastStats: Stats | undefined;
  private lastStatsAt = 0;
  /**
   * Pins removed while this page is open. A pin's last update (a refresh that
   * ended as it was removed) or a list requested before the removal can
   * arrive after it; neither may bring the pin back. Ids are never reused.
   */
  private readonly removedPins = new Set<string>();

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private set(patch: Partial<AppState>): void {
    this.state = { ...this.state, ...patch };
    for (const fn of this.listeners) fn();
  }

  private async load<K extends 'stats' | 'series' | 'pins' | 'jobs' | 'activity'>(
    key: K,
    fetcher: () => Promise<AppState[K] extends Loadable<infer T> ? T : never>,
  ): Promise<void> {
    try {
      const value = await fetcher();
      this.set({ [key]: { status: 'ready', value }, signedIn: true } as Partial<AppState>);
    } catch (err) {
      const error = toFailure(err);
      this.set({ [key]: { status: 'error', error }, ...(error.unauthorized ? { signedIn: false } : {}) } as Partial<AppState>);
    }
  }

  /** (Re)loads one part; the views' Retry buttons call this. */
  reload(key: 'stats' | 'series' | 'pins' | 'jobs' | 'activity'): Promise<void> {
    switch (key) {
      case 'stats':
        return this.load('stats', async () => {
          const s = await api.stats();
          this.noteStats(s);
          return s;
        });
      case 'series':
        return this.load('series', async () => normalize(await api.history(), Date.now()));
      case 'pins':
        return this.load('pins', async () => (await api.pins()).filter((p) => !this.removedPins.has(p.id)));
      case 'jobs':
        return this.load('jobs', async () => (await api.jobs()).sort((a, b) => b.createdAt - a.createdAt));
      case 'activity':
        return this.load('activity', () => api.activity({ kind: this.state.activityKind, limit: 200 }));
    }
  }

  /** Changes the activity filter and reloads the list for it. */
  setActivityKind(kind: ActivityKind | undefined): void {
    this.set({ activityKind: kind, activity: { status: 'loading' } });
    void this.reload('activity');
  }

  private noteStats(s: Stats): void {
    this.lastStatsAt = Date.now();
    if (this.state.series.status === 'ready') {
      this.set({ series: { status: 'ready', value: addSnapshot(this.state.series.value, this.lastStats, s) } });
    }
    this.lastStats = s;
  }

  /** Applies one live event. */
  apply(ev: LiveEvent): void {
    switch (ev.type) {
      case 'stats':
        this.noteStats(ev.data);
        this.set({ stats: { status: 'ready', value: ev.data }, signedIn: true });
        break;
      case 'pin':
        if (this.state.pins.status === 'ready' && !this.removedPins.has(ev.data.id))
          this.set({ pins: { status: 'ready', value: upsert(this.state.pins.value, ev.data, false) } });
        break;
      case 'pin-removed':
        this.removedPins.add(ev.data.id);
        if (this.state.pins.status === 'ready')
          this.set({ pins: { status: 'ready', value: this.state.pins.value.filter((p) => p.id !== ev.data.id) } });
        break;
      case 'job':
        if (this.state.jobs.status === 'ready') {
          const jobs = this.state.jobs.value;
          this.set({
            jobs: {
              status: 'ready',
              value: upsert(
                jobs,
                newerJob(
                  jobs.find((j) => j.id === ev.data.id),
                  ev.data,
                ),
                true,
              ),
            },
          });
        }
        break;
      case 'activity': {
        const kind = this.state.activityKind;
        if (this.state.activity.status === 'ready' && (kind === undefined || ev.data.kind === kind)) {
          this.set({ activity: { status: 'ready', value: [ev.data, ...this.state.activity.value].slice(0, MAX_ACTIVITY) } });
        }
        break;
      }
    }
  }

  /** Loads everything and keeps it live; returns a stop function. */
  start(): () => void {
    const all = (): void => {
      for (const k of ['stats', 'series', 'pins', 'jobs', 'activity'] as const) void this.reload(k);
    };
    all();
    let opened = false;
    const close = connectLive({
      onEvent: (ev) => this.apply(ev),
      onStatus: (live) => this.set({ live }),
      // After a reconnect, lists may have missed events: reload them.
      onOpen: () => {
        if (opened) all();
        opened = true;
      },
    });
    // If the stream is quiet (or down), poll stats so counters stay current.
    const timer = setInterval(() => {
      if (Date.now() - this.lastStatsAt >= STATS_FALLBACK_MS && this.state.signedIn !== false) void this.reload('stats');
    }, STATS_FALLBACK_MS);
    return () => {
      close();
      clearInterval(timer);
    };
  }
}

/** Re-renders the calling component whenever the store changes. */
export function useStore(store: Store): AppState {
  const [state, setState] = useState(store.state);
  useEffect(() => {
    setState(store.state);
    return store.subscribe(() => setState(store.state));
  }, [store]);
  return state;
}
