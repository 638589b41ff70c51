/**
 * A configured remote as adapters see it: base URL, credentials, timeouts
 * and TTLs, plus request helpers that add the remote's own credentials and
 * never any client's.
 */
import { LarderError } from '../core/errors.js';
import type { UpstreamClient, UpstreamRequest, UpstreamResponse } from '../core/ports.js';
import type { RemoteConfig } from '../config/schema.js';

export interface RemoteSettings {
  name: string;
  config: RemoteConfig;
  ttlMs: number;
  negativeTtlMs: number;
  timeoutMs: number;
  maxArtifactBytes: number;
  /** Global offline switch (the tray's "Go offline"). */
  isOffline(): boolean;
  /** Observes every upstream exchange (health tracking). */
  observe?(ok: boolean, detail: string): void;
}

export class Remote {
  readonly base: URL;

  constructor(
    readonly settings: RemoteSettings,
    private readonly client: UpstreamClient,
  ) {
    const url = settings.config.url;
    this.base = new URL(url.endsWith('/') ? url : `${url}/`);
  }

  get name(): string {
    return this.settings.name;
  }

  get offline(): boolean {
    return this.settings.config.offline === true || this.settings.isOffline();
  }

  /** The Authorization header value for this remote, if it has credentials. */
  authorization(): string | undefined {
    const a = this.settings.config.auth;
    if (!a) return undefined;
    if (a.token) return `Bearer ${a.token}`;
    return `Basic ${Buffer.from(`${a.username ?? ''}:${a.password ?? ''}`).toString('base64')}`;
  }

  /** Resolves a path relative to the base URL; refuses anything that leaves the base's origin. */
  resolve(path: string): string {
    const u = new URL(path, this.base);
    if (u.origin !== this.base.origin) {
      throw new LarderError('E_BAD_REQUEST', `refusing to fetch outside remote ${this.name}`);
    }
    return u.toString();
  }

  /** Whether an absolute URL is on this remote's origin (tarball URLs in metadata). */
  owns(url: string): boolean {
    try {
      return new URL(url).origin === this.base.origin;
    } catch {
      return false;
    }
  }

  request(req: UpstreamRequest & { withAuth?: boolean }): Promise<UpstreamResponse> {
    const headers: Record<string, string> = { ...(req.headers ?? {}) };
    const auth = req.withAuth === false ? undefined : this.authorization();
    if (auth && this.owns(req.url)) headers.authorization = auth;
    const p = this.client.request({ ...req, headers, timeoutMs: req.timeoutMs ?? this.settings.timeoutMs });
    const observe = this.settings.observe;
    if (observe) {
      p.then(
        (res) => observe(res.status < 500 && res.status !== 429, `HTTP ${res.status}`),
        (err: Error) => observe(false, err.message),
      );
    }
    return p;
  }
}
