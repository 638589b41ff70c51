/**
 * Upstream registry authentication: `WWW-Authenticate` challenge parsing and
 * the Bearer token cache (distribution docs/spec/auth/token.md).
 *
 * Tokens are cached per (realm, service, scope, credential) until shortly
 * before `expires_in` (default 60 s) runs out; concurrent requests for the
 * same token share one fetch. Token values and credentials never reach logs
 * or error messages.
 */
import { createHash } from 'node:crypto';
import { LarderError } from '../../core/errors.js';
import { readBody } from '../../core/read-body.js';
import { SingleFlight } from '../../core/single-flight.js';
import { drain, upstreamStatusError } from '../../core/upstream-status.js';
import type { Clock, UpstreamRequest, UpstreamResponse } from '../../core/ports.js';
import { checkTarget, systemResolver, type Resolver } from '../../upstream/address-class.js';

/** One parsed challenge: scheme (lower-case) and its parameters. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parses a `WWW-Authenticate` value, which may hold several challenges
 * (`Bearer realm="…",service="…",scope="a b", Basic realm="x"`).
 */
export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  const text = Array.isArray(header) ? header.join(', ') : (header ?? '');
  const out: Challenge[] = [];
  // Tokens are either `key=value` (value quoted or bare) or a bare word, which starts a new challenge.
  const re = /([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)|([A-Za-z][^\s,=]*)/g;
  let current: Challenge | undefined;
  for (const m of text.matchAll(re)) {
    if (m[3] !== undefined) {
      current = { scheme: m[3].toLowerCase(), params: {} };
      out.push(current);
    } else if (current) {
      const v = m[2] ?? '';
      current.params[m[1]!.toLowerCase()] = v.startsWith('"') ? v.slice(1, -1).replace(/\\(.)/g, '$1') : v;
    }
  }
  return out;
}

/** Credentials for the token endpoint (from the remote's config). */
export interface Credentials {
  username: string;
  password: string;
}

/** Sends a request on behalf of the token cache (the remote's client, without its own auth). */
export type TokenTransport = (req: UpstreamRequest) => Promise<UpstreamResponse>;

interface CachedToken {
  token: string;
  expiresAt: number;
}

const MAX_TOKEN_RESPONSE = 1024 * 1024;

export class TokenCache {
  private readonly tokens = new Map<string, CachedToken>();
  private readonly flights = new SingleFlight<string>();
  /** Token endpoint calls made (a counter for tests and metrics). */
  fetches = 0;

  constructor(
    private readonly clock: Clock,
    private readonly resolve: Resolver = systemResolver,
  ) {}

  private key(realm: string, service: string, scope: string, creds: Credentials | undefined): string {
    const who = creds ? createHash('sha256').update(`${creds.username}\0${creds.password}`).digest('hex').slice(0, 16) : 'anonymous';
    return `${realm}\n${service}\n${scope}\n${who}`;
  }

  /** A cached, unexpired token, if any. */
  peek(realm: string, service: string, scope: string, creds: Credentials | undefined): string | undefined {
    const k = this.key(realm, service, scope, creds);
    const t = this.tokens.get(k);
    if (t && t.expiresAt > this.clock.now()) return t.token;
    if (t) this.tokens.delete(k);
    return undefined;
  }

  /** Forgets a token the registry refused. */
  invalidate(realm: string, service: string, scope: string, creds: Credentials | undefined): void {
    this.tokens.delete(this.key(realm, service, scope, creds));
  }

  /**
   * Returns a cached token or fetches one (`GET realm?service=&scope=`, Basic when credentials are given).
   * `registry` is the URL that sent the challenge: a realm more private than it (loopback, link-local,
   * LAN) is refused before anything is sent there.
   */
  get(
    realm: string,
    service: string,
    scope: string,
    creds: Credentials | undefined,
    send: TokenTransport,
    registry?: string,
  ): Promise<string> {
    const cached = this.peek(realm, service, scope, creds);
    if (cached) return Promise.resolve(cached);
    const k = this.key(realm, service, scope, creds);
    return this.flights.run(k, async () => {
      const url = new URL(realm);
      if (url.protocol !== 'https:' && url.protocol !== 'http:') {
        throw new LarderError('E_UPSTREAM', 'upstream token realm is not an http(s) URL');
      }
      if (registry) await checkTarget('token realm', url, registry, this.resolve);
      if (service) url.searchParams.set('service', service);
      for (const s of scope.split(' ').filter(Boolean)) url.searchParams.append('scope', s);
      const headers: Record<string, string> = { accept: 'application/json' };
      if (creds) headers.authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
      this.fetches++;
      const started = this.clock.now();
      const res = await send({ url: url.toString(), headers });
      if (res.status !== 200) {
        if (res.status === 401 || res.status === 403) {
          drain(res);
          throw new LarderError(
            res.status === 401 ? 'E_UNAUTHORIZED' : 'E_FORBIDDEN',
            'the upstream token service refused the configured credentials',
            {
              details: { upstreamStatus: res.status },
            },
          );
        }
        throw upstreamStatusError('upstream token service', res);
      }
      const body = await readBody(res, MAX_TOKEN_RESPONSE, 'upstream token response');
      let parsed: { token?: unknown; access_token?: unknown; expires_in?: unknown };
      try {
        parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
      } catch {
        throw new LarderError('E_UPSTREAM', 'upstream token service answered something other than JSON');
      }
      const token = typeof parsed.token === 'string' && parsed.token ? parsed.token : parsed.access_token;
      if (typeof token !== 'string' || !token) throw new LarderError('E_UPSTREAM', 'upstream token response carries no token');
      const lifetime = typeof parsed.expires_in === 'number' && parsed.expires_in > 0 ? parsed.expires_in : 60;
      // Renew a little early: 90% of the lifetime, measured from when we asked.
      this.tokens.set(k, { token, expiresAt: started + lifetime * 900 });
      return token;
    });
  }
}
