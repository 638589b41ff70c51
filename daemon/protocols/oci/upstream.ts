/**
 * Authenticated requests to one OCI upstream. Answers `401` challenges the
 * way Docker and containerd do: Bearer (token service, anonymous or with the
 * remote's Basic credentials; tokens cached in {@link TokenCache}) or Basic.
 * Once a remote's scheme is known, later requests authenticate up front, so a
 * warm remote costs no extra round trip.
 *
 * Only the remote's configured credentials are used, never a client's. The
 * Authorization header goes to the configured registry and its token realm;
 * the HTTP client drops it on redirects to another host (CDN/S3 blob URLs),
 * and redirect targets are never stored.
 */
import { drain } from '../../core/upstream-status.js';
import type { UpstreamResponse } from '../../core/ports.js';
import type { Remote } from '../../upstream/remote.js';
import { parseChallenges, type Challenge, type Credentials, type TokenCache } from './auth.js';

/** One request to the upstream registry. */
export interface OciRequest {
  method?: 'GET' | 'HEAD';
  /** Path below the remote's base URL, e.g. `v2/library/alpine/manifests/3`. */
  path: string;
  /** Repository the request is about (the token scope). */
  repo: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

interface AuthState {
  header: string;
  /** Set for tokens: what to invalidate when the registry refuses it. */
  bearer?: { realm: string; service: string; scope: string };
}

export class OciUpstream {
  private scheme: 'unknown' | 'basic' | 'bearer' = 'unknown';
  private bearer: { realm: string; service: string } | undefined;

  constructor(
    readonly remote: Remote,
    private readonly tokens: TokenCache,
  ) {}

  get name(): string {
    return this.remote.name;
  }

  /** Sends `req`, answering up to two 401 challenges. Any final status is returned with its body unread. */
  async request(req: OciRequest): Promise<UpstreamResponse> {
    const url = this.remote.resolve(req.path);
    const scope = `repository:${req.repo}:pull`;
    let auth = await this.preauth(scope);
    let res = await this.send(url, req, auth);
    for (let attempt = 0; attempt < 2 && res.status === 401; attempt++) {
      const next = await this.answer(parseChallenges(res.headers['www-authenticate']), scope, auth, attempt);
      if (!next) return res;
      drain(res);
      auth = next;
      res = await this.send(url, req, auth);
    }
    return res;
  }

  private send(url: string, req: OciRequest, auth: AuthState | undefined): Promise<UpstreamResponse> {
    const headers: Record<string, string> = { ...(req.headers ?? {}) };
    if (auth) headers.authorization = auth.header;
    return this.remote.request({ url, method: req.method ?? 'GET', headers, signal: req.signal, withAuth: false });
  }

  private credentials(): Credentials | undefined {
    const a = this.remote.settings.config.auth;
    return a?.username !== undefined ? { username: a.username, password: a.password ?? '' } : undefined;
  }

  /** Credentials for a token realm: never over plain HTTP when the registry itself uses HTTPS. */
  private realmCredentials(realm: string): Credentials | undefined {
    const creds = this.credentials();
    if (!creds) return undefined;
    const plain = realm.startsWith('http:');
    return plain && this.remote.base.protocol === 'https:' ? undefined : creds;
  }

  private async preauth(scope: string): Promise<AuthState | undefined> {
    const token = this.remote.settings.config.auth?.token;
    if (token) return { header: `Bearer ${token}` };
    const creds = this.credentials();
    if (this.scheme === 'basic' && creds) return { header: basic(creds) };
    if (this.scheme === 'bearer' && this.bearer) return this.bearerAuth(this.bearer.realm, this.bearer.service, scope);
    return undefined;
  }

  private async bearerAuth(realm: string, service: string, scope: string): Promise<AuthState> {
    const creds = this.realmCredentials(realm);
    const token = await this.tokens.get(
      realm,
      service,
      scope,
      creds,
      (r) => this.remote.request({ ...r, withAuth: false }),
      this.remote.base.toString(),
    );
    return { header: `Bearer ${token}`, bearer: { realm, service, scope } };
  }

  private async answer(
    challenges: Challenge[],
    scope: string,
    previous: AuthState | undefined,
    attempt: number,
  ): Promise<AuthState | undefined> {
    const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params.realm);
    if (bearer) {
      const realm = bearer.params.realm!;
      const service = bearer.params.service ?? '';
      const wanted = bearer.params.scope || scope;
      this.scheme = 'bearer';
      this.bearer = { realm, service };
      const prev = previous?.bearer;
      if (prev && prev.realm === realm && prev.service === service && prev.scope === wanted) {
        // The token we just sent was refused: try one fresh token, then give up.
        if (attempt > 0) return undefined;
        this.tokens.invalidate(realm, service, wanted, this.realmCredentials(realm));
      }
      return this.bearerAuth(realm, service, wanted);
    }
    const creds = this.credentials();
    if (challenges.some((c) => c.scheme === 'basic') && creds && previous?.header !== basic(creds)) {
      this.scheme = 'basic';
      return { header: basic(creds) };
    }
    return undefined;
  }
}

function basic(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}
