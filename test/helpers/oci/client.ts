/**
 * A tiny plain-HTTP registry client for assertions: it answers a 401 the way
 * Docker/containerd do (Basic, or the Bearer token flow: `GET realm?service=&scope=`
 * with optional Basic credentials), caches tokens per scope, and exposes raw
 * responses so tests can check bytes and headers exactly.
 */
import { createHash } from 'node:crypto';

/** Accept header listing all four manifest media types. */
export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/** A parsed `WWW-Authenticate` challenge. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses one challenge such as `Bearer realm="…",service="…",scope="…"`. */
export function parseChallenge(header: string): Challenge | null {
  const m = /^\s*(\w+)\s*(.*)$/.exec(header);
  if (!m?.[1]) return null;
  const params: Record<string, string> = {};
  for (const p of (m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)) if (p[1]) params[p[1]] = p[2] ?? '';
  return { scheme: m[1].toLowerCase(), params };
}

/** Response body plus the metadata tests usually check. */
export interface RegistryResponse {
  status: number;
  headers: Headers;
  body: Buffer;
  /** `sha256:<hex>` of the body. */
  digest: string;
}

/** Options of {@link RegistryClient.request}. */
export interface RequestOptions {
  method?: 'GET' | 'HEAD';
  headers?: Record<string, string>;
}

/** Minimal authenticated client for one registry base URL. */
export class RegistryClient {
  /** Number of token endpoint calls made by this client. */
  tokenFetches = 0;
  private readonly tokens = new Map<string, string>();

  /**
   * @param baseUrl e.g. `http://127.0.0.1:5000`
   * @param creds Basic credentials (for htpasswd or the token endpoint); null = anonymous
   */
  constructor(
    readonly baseUrl: string,
    readonly creds: { username: string; password: string } | null,
  ) {}

  private basic(): string | null {
    const c = this.creds;
    return c ? `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}` : null;
  }

  private async token(ch: Challenge): Promise<string> {
    const { realm, service, scope } = ch.params;
    if (!realm) throw new Error('Bearer challenge without realm');
    const key = `${realm} ${service ?? ''} ${scope ?? ''}`;
    const cached = this.tokens.get(key);
    if (cached) return cached;
    const url = new URL(realm);
    if (service) url.searchParams.set('service', service);
    if (scope) url.searchParams.set('scope', scope);
    this.tokenFetches++;
    const basic = this.basic();
    const res = await fetch(url, { headers: basic ? { authorization: basic } : {} });
    if (!res.ok) throw new Error(`token endpoint answered ${res.status}: ${await res.text()}`);
    const json = (await res.json()) as { token?: string; access_token?: string };
    const token = json.token ?? json.access_token;
    if (!token) throw new Error('token response without token');
    this.tokens.set(key, token);
    return token;
  }

  /** Sends a request to `path` (e.g. `/v2/foo/manifests/latest`), answering one 401 challenge. */
  async request(path: string, opts: RequestOptions = {}): Promise<RegistryResponse> {
    const send = async (auth: string | null): Promise<Response> =>
      fetch(this.baseUrl + path, {
        method: opts.method ?? 'GET',
        headers: { ...opts.headers, ...(auth ? { authorization: auth } : {}) },
        redirect: 'follow',
      });
    let res = await send(null);
    const header = res.headers.get('www-authenticate');
    if (res.status === 401 && header) {
      await res.arrayBuffer();
      const ch = parseChallenge(header);
      if (ch?.scheme === 'basic') res = await send(this.basic());
      else if (ch?.scheme === 'bearer') res = await send(`Bearer ${await this.token(ch)}`);
    }
    const body = Buffer.from(await res.arrayBuffer());
    return { status: res.status, headers: res.headers, body, digest: `sha256:${createHash('sha256').update(body).digest('hex')}` };
  }

  /** GET/HEAD a manifest by tag or digest with all manifest types accepted. */
  manifest(repo: string, reference: string, method: 'GET' | 'HEAD' = 'GET'): Promise<RegistryResponse> {
    return this.request(`/v2/${repo}/manifests/${reference}`, { method, headers: { accept: MANIFEST_ACCEPT } });
  }

  /** GET/HEAD a blob by digest (buffers the body: fine for fixtures up to a few hundred MB). */
  blob(repo: string, digest: string, method: 'GET' | 'HEAD' = 'GET', headers: Record<string, string> = {}): Promise<RegistryResponse> {
    return this.request(`/v2/${repo}/blobs/${digest}`, { method, headers });
  }
}
