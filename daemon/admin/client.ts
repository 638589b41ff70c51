/**
 * The one client of the admin API (`/_/api/v1/`), on `fetch`: the CLI, the
 * tray app and the dashboard all talk to the daemon through it. One method
 * per JSON endpoint of the contract; every failed exchange becomes an
 * {@link AdminError} with a stable `code` (see client-decode.ts). Imports
 * only the contract and its decoder, so it bundles for the browser.
 *
 * Auth: a bearer token (CLI, tray), or the dashboard's same-origin HttpOnly
 * session cookie. Cookie writes are sent as `application/json` (with or
 * without a body): the daemon refuses a cookie write of any other type, and
 * one whose browser did not say `Sec-Fetch-Site: same-origin` (CSRF).
 * Streams (`/events`, bundles) go through {@link AdminClient.open}; the
 * event stream's messages are decoded by parseLiveEvent (client-decode.ts,
 * with the error decoder).
 */
import { AdminError, CLIENT_ERROR, decodeError, transportError } from './client-decode.js';
import type * as C from './contract.js';

/** How requests authenticate. A token function is asked again after a 401 (the token may have been rotated). */
export type AdminAuth = { bearer: string | (() => string | Promise<string>) } | { session: 'same-origin' };

export interface AdminClientOptions {
  /** The daemon's URL (http://127.0.0.1:7420), or a path prefix ('' or '/mirror') for a same-origin page. */
  baseUrl: string;
  auth: AdminAuth;
  /** Time limit per JSON call in ms (none by default; a long-poll adds its wait). */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** A request body: JSON, or raw bytes with their content type. */
export type AdminBody = { json: unknown } | { raw: BodyInit; type: string };

type Query = Record<string, string | number | boolean | undefined>;

function qs(q: Query): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined) p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

const seg = (id: string): string => encodeURIComponent(id);

/** Typed client of the admin API. */
export class AdminClient {
  readonly base: string;
  private readonly fetch: typeof fetch;
  private token: string | undefined;

  constructor(private readonly opts: AdminClientOptions) {
    this.base = opts.baseUrl.replace(/\/+$/, '');
    this.fetch = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  /** Turns a decoded failure into what the caller throws (subclasses map it to their own error type). */
  protected fail(err: AdminError): never {
    throw err;
  }

  /** The Authorization header's value (none for a session cookie); `retry` asks a token function again. */
  protected async authHeader(retry = false): Promise<string | undefined> {
    const auth = this.opts.auth;
    if (!('bearer' in auth)) return undefined;
    const given = auth.bearer;
    if (this.token === undefined || (retry && typeof given === 'function')) {
      this.token = typeof given === 'string' ? given : (await given()).trim();
    }
    return `Bearer ${this.token}`;
  }

  private async headers(method: string, body: AdminBody | undefined, retry: boolean): Promise<Record<string, string>> {
    const h: Record<string, string> = { accept: 'application/json' };
    if (body) h['content-type'] = 'json' in body ? 'application/json' : body.type;
    else if (method !== 'GET' && 'session' in this.opts.auth) h['content-type'] = 'application/json';
    const authorization = await this.authHeader(retry);
    if (authorization) h.authorization = authorization;
    return h;
  }

  /**
   * One authenticated exchange; resolves with a 2xx answer, body unread (for
   * streams), and throws the decoded error otherwise.
   */
  async open(method: string, path: string, init: { body?: AdminBody; signal?: AbortSignal } = {}): Promise<Response> {
    const url = `${this.base}/_/api/v1${path}`;
    const send = async (retry: boolean): Promise<Response> =>
      this.fetch(url, {
        method,
        headers: await this.headers(method, init.body, retry),
        body: init.body === undefined ? undefined : 'json' in init.body ? JSON.stringify(init.body.json) : init.body.raw,
        credentials: 'session' in this.opts.auth ? 'same-origin' : 'omit',
        signal: init.signal,
      });
    let res: Response;
    try {
      res = await send(false);
      if (res.status === 401 && 'bearer' in this.opts.auth && typeof this.opts.auth.bearer === 'function') {
        await res.body?.cancel();
        res = await send(true);
      }
    } catch (err) {
      return this.fail(transportError(err, this.base));
    }
    if (res.ok) return res;
    let text = '';
    try {
      text = await res.text();
    } catch {
      // the error body was cut short; the status still says what happened
    }
    return this.fail(decodeError(res.status, text, res.statusText));
  }

  /** One JSON call: the decoded answer, or a thrown {@link AdminError} (or the subclass's error). */
  async request<T>(method: string, path: string, json?: unknown, extraMs = 0): Promise<T> {
    const ms = this.opts.timeoutMs;
    const signal = ms === undefined ? undefined : AbortSignal.timeout(ms + extraMs);
    const res = await this.open(method, path, { body: json === undefined ? undefined : { json }, signal });
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      return this.fail(transportError(err, this.base));
    }
    try {
      return (text ? JSON.parse(text) : undefined) as T;
    } catch {
      const why = `the daemon answered ${method} ${path} with something other than JSON`;
      return this.fail(new AdminError(CLIENT_ERROR.badResponse, res.status, why));
    }
  }

  stats = (): Promise<C.Stats> => this.request('GET', '/stats');
  history = (): Promise<C.StatsPoint[]> => this.request('GET', '/stats/history');
  entries = (q: C.EntryQuery = {}): Promise<C.Page<C.EntrySummary>> => this.request('GET', `/entries${qs({ ...q })}`);
  pins = (): Promise<C.Pin[]> => this.request('GET', '/pins');
  addPin = (req: C.PinRequest): Promise<C.Pin> => this.request('POST', '/pins', req);
  pin = (id: string): Promise<C.Pin> => this.request('GET', `/pins/${seg(id)}`);
  removePin = (id: string): Promise<{ removed: true }> => this.request('DELETE', `/pins/${seg(id)}`);
  jobs = (): Promise<C.Job[]> => this.request('GET', '/jobs');
  startJob = (req: C.JobRequest): Promise<C.Job> => this.request('POST', '/jobs', req);
  job = (id: string): Promise<C.Job> => this.request('GET', `/jobs/${seg(id)}`);
  cancelJob = (id: string): Promise<C.Job> => this.request('DELETE', `/jobs/${seg(id)}`);
  evict = (req: C.EvictRequest): Promise<C.RemovedBlobs> => this.request('POST', '/evict', req);
  scrub = (req: C.ScrubRequest = {}): Promise<C.ScrubStatus> => this.request('POST', '/scrub', req);
  gc = (): Promise<C.RemovedBlobs> => this.request('POST', '/gc');
  config = (): Promise<Record<string, unknown>> => this.request('GET', '/config');
  audit = (q: C.AuditQuery = {}): Promise<C.AuditRecord[]> => this.request('GET', `/audit${qs({ ...q })}`);
  activity = (q: C.ActivityQuery = {}): Promise<C.ActivityItem[]> =>
    this.request('GET', `/activity${qs({ kind: Array.isArray(q.kind) ? q.kind.join(',') : q.kind, limit: q.limit })}`);
  setOffline = (offline: boolean): Promise<{ offline: boolean }> => this.request('POST', '/offline', { offline });
  loginLink = (): Promise<{ url: string }> => this.request('POST', '/login-link');
  feed = (q: C.FeedQuery = {}): Promise<C.FeedPage> => this.request('GET', `/feed${qs({ ...q })}`, undefined, (q.wait ?? 0) * 1000);
  children = (): Promise<C.ChildStatus[]> => this.request('GET', '/children');
  tokens = (): Promise<C.TokenInfo[]> => this.request('GET', '/tokens');
  createToken = (req: C.TokenRequest): Promise<C.TokenCreated> => this.request('POST', '/tokens', req);
  revokeToken = (name: string): Promise<{ revoked: true }> => this.request('DELETE', `/tokens/${seg(name)}`);
  policyStatus = (): Promise<C.PolicyStatus> => this.request('GET', '/policy');
  /** LAN peers with their health, and today's share of misses they served. */
  peers = (): Promise<C.PeersReport> => this.request('GET', '/peers');
  /** Cluster mode: the nodes registered in etcd, their roles (one eviction leader) and health. */
  cluster = (): Promise<C.ClusterReport> => this.request('GET', '/cluster');
  policyExplain = (ref: string): Promise<C.PolicyExplanation> => this.request('GET', `/policy/explain${qs({ ref })}`);
  /** Ends the dashboard session (its cookie is cleared). */
  logout = (): Promise<{ loggedOut: true }> => this.request('POST', '/logout');

  /** A new token; this client uses it from now on (every session and link made with the old one ended). */
  async rotateToken(): Promise<{ token: string }> {
    const r = await this.request<{ token: string }>('POST', '/token/rotate');
    if ('bearer' in this.opts.auth) this.token = r.token;
    return r;
  }
}
