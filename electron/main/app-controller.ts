/**
 * The tray app's logic: starts (or attaches to) the daemon, keeps a snapshot
 * of its stats and pins current from the live event stream (with a polling
 * fallback that also notices a dead daemon), renders the tray, raises
 * notifications and implements the menu's actions. Electron-free: every
 * platform call is an injected dependency.
 */
import type { Job, JobRequest, LiveEvent, Pin, PinRequest, Stats } from '../../daemon/admin/contract.js';
import type { PickedFile } from '../shared/ipc-contract.js';
import type { Notifier } from './notifier.js';
import type { TrayActions, TraySnapshot } from './tray-model.js';

/** The admin client calls the controller makes. */
export interface ControllerClient {
  stats(): Promise<Stats>;
  pins(): Promise<Pin[]>;
  addPin(req: PinRequest): Promise<Pin>;
  startJob(req: JobRequest): Promise<Job>;
  setOffline(offline: boolean): Promise<{ offline: boolean }>;
  events(onEvent: (ev: LiveEvent) => void, signal: AbortSignal): Promise<void>;
}

/** Controller dependencies. */
export interface ControllerDeps {
  supervisor: { start(): Promise<'attached' | 'started'>; stop(): Promise<void>; on(event: 'state', l: (s: string) => void): unknown };
  client: ControllerClient;
  /** Creates the tray renderer once the actions exist. */
  createTray(actions: TrayActions): { render(s: TraySnapshot): void; destroy(): void };
  notifier: Notifier;
  /** Shows a transient message (a notification). */
  toast(title: string, body: string): void;
  readClipboard(): string | Promise<string>;
  pickFiles(): Promise<PickedFile[] | null>;
  openDataFolder(): void;
  openDashboard(route?: string): void;
  quit(): void;
  lagThresholdSeconds: number;
  /** Stats poll interval (default 10 s); also how fast a dead daemon is noticed. */
  pollMs?: number;
}

/** Runs the tray app. */
export class AppController {
  snapshot: TraySnapshot;
  private tray: { render(s: TraySnapshot): void; destroy(): void } | undefined;
  private readonly abort = new AbortController();
  private pollTimer: NodeJS.Timeout | undefined;
  /** Counts applied live events, so a poll that raced them does not overwrite newer data. */
  private eventSeq = 0;

  constructor(private readonly deps: ControllerDeps) {
    this.snapshot = { daemon: 'starting', pins: [], lagThresholdSeconds: deps.lagThresholdSeconds };
  }

  /** The menu's actions. */
  readonly actions: TrayActions = {
    openDashboard: (route) => this.deps.openDashboard(route),
    openDataFolder: () => this.deps.openDataFolder(),
    quit: () => this.deps.quit(),
    pinFromClipboard: () => void this.pinFromClipboard(),
    prewarmFromFile: () => void this.prewarmFromFile(),
    setOffline: (offline) => void this.setOffline(offline),
  };

  private update(patch: Partial<TraySnapshot>): void {
    this.snapshot = { ...this.snapshot, ...patch };
    this.tray?.render(this.snapshot);
  }

  /** Starts the daemon (or attaches), then follows it. */
  async start(): Promise<void> {
    this.tray = this.deps.createTray(this.actions);
    this.tray.render(this.snapshot);
    this.deps.supervisor.on('state', (s) => {
      if (s === 'crashed') this.update({ daemon: 'down', error: 'the daemon exited; restarting' });
      if (s === 'running' || s === 'attached') void this.refresh();
    });
    try {
      await this.deps.supervisor.start();
    } catch (err) {
      this.update({ daemon: 'down', error: err instanceof Error ? err.message : String(err) });
    }
    await this.refresh();
    void this.follow();
    this.pollTimer = setInterval(() => void this.refresh(), this.deps.pollMs ?? 10_000);
  }

  /** Reloads stats and pins; marks the daemon down when it does not answer. */
  async refresh(): Promise<void> {
    const seq = this.eventSeq;
    try {
      const [stats, pins] = await Promise.all([this.deps.client.stats(), this.deps.client.pins()]);
      if (seq !== this.eventSeq && this.snapshot.daemon === 'up') return;
      this.deps.notifier.onStats(stats);
      this.deps.notifier.onPins(pins);
      this.update({ daemon: 'up', stats, pins, error: undefined });
    } catch (err) {
      this.update({ daemon: 'down', error: err instanceof Error ? err.message : String(err) });
    }
  }

  /** Applies one live event to the snapshot. */
  apply(ev: LiveEvent): void {
    this.eventSeq++;
    switch (ev.type) {
      case 'stats':
        this.deps.notifier.onStats(ev.data);
        this.update({ daemon: 'up', stats: ev.data, error: undefined });
        break;
      case 'pin': {
        const pins = this.snapshot.pins.some((p) => p.id === ev.data.id)
          ? this.snapshot.pins.map((p) => (p.id === ev.data.id ? ev.data : p))
          : [...this.snapshot.pins, ev.data];
        this.deps.notifier.onPins(pins);
        this.update({ pins });
        break;
      }
      case 'pin-removed':
        this.update({ pins: this.snapshot.pins.filter((p) => p.id !== ev.data.id) });
        break;
      case 'activity':
        this.deps.notifier.onActivity(ev.data);
        break;
      case 'job':
        break;
    }
  }

  private async follow(): Promise<void> {
    let delay = 1000;
    while (!this.abort.signal.aborted) {
      try {
        await this.deps.client.events((ev) => {
          delay = 1000;
          this.apply(ev);
        }, this.abort.signal);
      } catch {
        // network error or HTTP error: retry below
      }
      if (this.abort.signal.aborted) return;
      await new Promise((r) => setTimeout(r, delay).unref());
      delay = Math.min(delay * 2, 10_000);
    }
  }

  async pinFromClipboard(): Promise<void> {
    const ref = (await this.deps.readClipboard()).trim();
    if (!ref || ref.length > 512 || /\s/.test(ref)) {
      this.deps.toast('Nothing to pin', 'Copy a reference such as npm:left-pad@1.3.0 first.');
      return;
    }
    try {
      const pin = await this.deps.client.addPin({ ref });
      this.deps.toast('Pinned', pin.ref);
      this.update({ pins: [...this.snapshot.pins.filter((p) => p.id !== pin.id), pin] });
    } catch (err) {
      this.deps.toast('Could not pin', err instanceof Error ? err.message : String(err));
    }
  }

  async prewarmFromFile(): Promise<void> {
    try {
      const files = await this.deps.pickFiles();
      if (!files || files.length === 0) return;
      const job = await this.deps.client.startJob({ files });
      this.deps.toast('Pre-warm started', `${job.total} items from ${files.map((f) => f.name).join(', ')}`);
      this.deps.openDashboard('prewarm');
    } catch (err) {
      this.deps.toast('Could not start the pre-warm', err instanceof Error ? err.message : String(err));
    }
  }

  async setOffline(offline: boolean): Promise<void> {
    try {
      await this.deps.client.setOffline(offline);
    } catch (err) {
      this.deps.toast(offline ? 'Could not go offline' : 'Could not go online', err instanceof Error ? err.message : String(err));
    }
    await this.refresh();
  }

  /** Stops following, destroys the tray, stops an owned daemon. */
  async stop(): Promise<void> {
    this.abort.abort();
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.deps.notifier.dispose();
    this.tray?.destroy();
    await this.deps.supervisor.stop();
  }
}
