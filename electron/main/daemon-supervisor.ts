/**
 * Keeps a Larder daemon available to the app. On start it probes the
 * configured URL's /healthz: a daemon already running is attached to (and
 * left running when the app quits); otherwise one is launched and owned
 * (stopped with the app). An owned daemon that exits unexpectedly is
 * restarted with exponential backoff; an attached one that disappears is
 * replaced by an owned one.
 */
import { EventEmitter } from 'node:events';

/** A launched daemon process (a Node child process or an Electron utility process). */
export interface DaemonProcess {
  readonly pid?: number | undefined;
  kill(signal?: NodeJS.Signals): boolean;
  /** Registers the exit listener (called once). */
  onExit(listener: (code: number | null) => void): void;
}

/** Supervisor lifecycle states. */
export type SupervisorState = 'idle' | 'starting' | 'running' | 'attached' | 'crashed' | 'stopping' | 'stopped';

/** Everything the supervisor needs from the outside world. */
export interface SupervisorDeps {
  /** Daemon base URL (from the configured listen address). */
  url: string;
  launch(): DaemonProcess;
  /** True when GET <url>/healthz answers 200. */
  probe(url: string): Promise<boolean>;
  /** How long a launched daemon may take to answer /healthz (default 20 s). */
  startTimeoutMs?: number;
  /** Backoff of restarts: first delay and cap (default 500 ms … 30 s). */
  backoff?: { initialMs: number; maxMs: number };
  /** A run at least this long resets the backoff (default 60 s). */
  stableMs?: number;
  /** Interval of health probes of an attached daemon (default 5 s). */
  monitorMs?: number;
  /** Grace period between SIGTERM and SIGKILL on stop (default 10 s). */
  killTimeoutMs?: number;
  log?(msg: string, fields?: Record<string, unknown>): void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Emits 'state' (SupervisorState) on every transition and 'restart'
 * (attempt, delayMs) when it schedules a restart.
 */
export class DaemonSupervisor extends EventEmitter {
  state: SupervisorState = 'idle';
  /** True when the app launched the daemon (it dies with the app). */
  owned = false;
  restarts = 0;
  private child: DaemonProcess | undefined;
  private exited: Promise<number | null> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private delay: number;
  private stopping = false;

  constructor(private readonly deps: SupervisorDeps) {
    super();
    this.delay = deps.backoff?.initialMs ?? 500;
  }

  private set(state: SupervisorState): void {
    if (this.state === state) return;
    this.state = state;
    this.emit('state', state);
  }

  /** Attaches or launches; resolves once a daemon answers. */
  async start(): Promise<'attached' | 'started'> {
    this.stopping = false;
    this.set('starting');
    if (await this.deps.probe(this.deps.url)) {
      this.owned = false;
      this.set('attached');
      this.deps.log?.('attached to running daemon', { url: this.deps.url });
      this.monitor();
      return 'attached';
    }
    await this.launch();
    return 'started';
  }

  private async launch(): Promise<void> {
    const child = this.deps.launch();
    this.child = child;
    this.owned = true;
    const startedAt = Date.now();
    let exitCode: number | null | undefined;
    this.exited = new Promise((resolve) =>
      child.onExit((code) => {
        exitCode = code;
        resolve(code);
        if (this.child === child) this.onChildExit(code, Date.now() - startedAt);
      }),
    );
    const deadline = startedAt + (this.deps.startTimeoutMs ?? 20_000);
    while (Date.now() < deadline && exitCode === undefined && !this.stopping) {
      if (await this.deps.probe(this.deps.url)) {
        this.set('running');
        this.deps.log?.('daemon started', { pid: child.pid, url: this.deps.url });
        return;
      }
      await sleep(100);
    }
    if (this.stopping || exitCode !== undefined) return;
    this.deps.log?.('daemon did not become healthy in time; restarting', { pid: child.pid });
    child.kill('SIGKILL');
  }

  private onChildExit(code: number | null, ranMs: number): void {
    this.child = undefined;
    if (this.stopping) return;
    if (ranMs >= (this.deps.stableMs ?? 60_000)) this.delay = this.deps.backoff?.initialMs ?? 500;
    const delay = this.delay;
    this.delay = Math.min(this.delay * 2, this.deps.backoff?.maxMs ?? 30_000);
    this.restarts++;
    this.set('crashed');
    this.deps.log?.('daemon exited unexpectedly', { code, restartInMs: delay });
    this.emit('restart', this.restarts, delay);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.stopping) void this.start().catch((err: unknown) => this.deps.log?.('restart failed', { err: String(err) }));
    }, delay);
  }

  private monitor(): void {
    let misses = 0;
    const tick = async (): Promise<void> => {
      if (this.stopping || this.state !== 'attached') return;
      misses = (await this.deps.probe(this.deps.url)) ? 0 : misses + 1;
      if (misses >= 2 && !this.stopping && this.state === 'attached') {
        this.deps.log?.('attached daemon went away; starting our own');
        await this.start();
        return;
      }
      this.timer = setTimeout(() => void tick(), this.deps.monitorMs ?? 5_000);
    };
    this.timer = setTimeout(() => void tick(), this.deps.monitorMs ?? 5_000);
  }

  /** Stops an owned daemon (SIGTERM, then SIGKILL); leaves an attached one running. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const child = this.child;
    if (child && this.owned) {
      this.set('stopping');
      child.kill('SIGTERM');
      const killTimer = setTimeout(() => child.kill('SIGKILL'), this.deps.killTimeoutMs ?? 10_000);
      await this.exited;
      clearTimeout(killTimer);
    }
    this.child = undefined;
    this.set('stopped');
  }
}
