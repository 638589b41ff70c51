/**
 * The one client of the admin API (`/_/api/v1/`), on `fetch`: the CLI, the
 * tray app and the dashboard all talk to the daemon through it. One method
 * per JSON endpoint of the contract, and one decoder that turns every failed
 * exchange into an {@link AdminError} with a stable `code`: the API's own
 * `E_…` code from its error body, `E_HTTP_<status>` for an answer without
 * one, and E_NETWORK / E_TIMEOUT / E_ABORTED / E_BAD_RESPONSE when there was
 * no usable answer. Imports only the contract, so it bundles for the browser.
 *
 * Auth: a bearer token (CLI, tray), or the dashboard's same-origin HttpOnly
 * session cookie. Cookie writes are sent as `application/json` (with or
 * without a body): the daemon refuses a cookie write of any other type, and
 * one whose browser did not say `Sec-Fetch-Site: same-origin` (CSRF).
 * Streams (`/events`, bundles) go through {@link AdminClient.open}; the
 * event stream's messages are decoded by {@link parseLiveEvent}.
 */
import type * as C from './contract.js';

/** Codes the client gives failures that carry no answer from the API. */
export const CLIENT_ERROR = { network: 'E_NETWORK', timeout: 'E_TIMEOUT', aborted: 'E_ABORTED', badResponse: 'E_BAD_RESPONSE' } as const;

/** A failed admin API exchange; `status` is 0 when no HTTP answer came. */
export class AdminError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AdminError';
  }

  /** The credentials were refused (401), or a session-cookie request was (403). */
  get unauthorized(): boolean {
    return this.status === 401 || this.status === 403;
  }
}

function apiError(v: unknown): { code: string; message: string } | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const e = (v as { error?: unknown }).error;
  if (typeof e !== 'object' || e === null) return undefined;
  const { code, message } = e as { code?: unknown; message?: unknown };
  if (typeof code !== 'string' || !code) return undefined;
  return { code, message: typeof message === 'string' && message ? message : code };
}

/** Decodes a non-2xx answer: the API's `{ error: { code, message } }`, else `E_HTTP_<status>`. */
export function decodeError(status: number, body: string, statusText = ''): AdminError {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  const e = apiError(json);
  if (e) return new AdminError(e.code, status, e.message);
  const text = body.trim().slice(0, 200);
  return new AdminError(`E_HTTP_${status}`, status, text || statusText || `HTTP ${status}`);
}

/** Decodes an exchange that produced no answer (refused, reset, timed out, aborted). */
export function transportError(err: unknown, base: string): AdminError {
  if (err instanceof AdminError) return err;
  const name = err instanceof Error ? err.name : '';
  if (name === 'TimeoutError') {
    return new AdminError(CLIENT_ERROR.timeout, 0, `the Larder daemon at ${base} did not answer in time`, { cause: err });
  }
  if (name === 'AbortError') return new AdminError(CLIENT_ERROR.aborted, 0, 'the request was cancelled', { cause: err });
  const cause = err instanceof Error ? (err.cause as { code?: unknown } | undefined) : undefined;
  const why = typeof cause?.code === 'string' ? ` (${cause.code})` : '';
  return new AdminError(CLIENT_ERROR.network, 0, `cannot reach the Larder daemon${base ? ` at ${base}` : ''}${why}`, { cause: err });
}

/** The kinds of LiveEvent on the `/events` stream. */
export const LIVE_EVENT_TYPES: ReadonlyArray<C.LiveEvent['type']> = ['stats', 'job', 'pin', 'pin-removed', 'activity'];

/**
 * Decodes one server-sent message of `/events` into a LiveEvent, or
 * undefined when it is not one. Accepts both wire shapes: a whole LiveEvent
 * (`{"type":"stats","data":{…}}`), and a named event (`event: stats`) whose
 * data is the payload.
 */
export function parseLiveEvent(eventName: string, raw: string): C.LiveEvent | undefined {
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof data !== 'object' || data === null) return undefined;
  const types: readonly string[] = LIVE_EVENT_TYPES;
  const obj = data as { type?: unknown; data?: unknown };
  if (typeof obj.type === 'string' && types.includes(obj.type) && 'data' in obj) return obj as C.LiveEvent;
  return types.includes(eventName) ? ({ type: eventName, data } as C.LiveEvent) : undefined;
}

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
