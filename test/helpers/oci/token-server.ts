/**
 * A minimal Docker/OCI token server (distribution docs/spec/auth/token.md) for
 * a `docker-registry` 2.8 started with `auth: token`.
 *
 * `GET /token?service=…&scope=…[&scope=…]` with optional Basic credentials
 * answers `{"token","access_token","expires_in","issued_at"}`. Tokens are ES256
 * JWTs carrying the signing certificate in the `x5c` header; the registry trusts
 * them because that self-signed certificate (made with `openssl` at start-up)
 * is its `rootcertbundle`. Distribution 2.8 requires `aud` to be a plain string.
 */
import { createPrivateKey, randomUUID, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { runCommand } from './proc.js';

/** One parsed `scope` parameter (`repository:name:pull,push`). */
export interface TokenScope {
  type: string;
  name: string;
  actions: string[];
}

/** A request seen by the token server (for assertions in tests). */
export interface TokenRequestRecord {
  method: string;
  url: string;
  service: string | null;
  scopes: string[];
  /** Authenticated user name, null for anonymous. */
  user: string | null;
  status: number;
}

/** Options for {@link startTokenServer}. */
export interface TokenServerOptions {
  /** Directory for the generated key and certificate. */
  dir: string;
  /** The `service` the registry expects in `aud`. */
  service: string;
  /** The `iss` the registry trusts. */
  issuer: string;
  /** Accepted Basic credentials: user → password. Wrong credentials get 401. */
  users: Record<string, string>;
  /** Grant `pull` to anonymous callers (Docker Hub style). Default false: anonymous tokens carry no access. */
  anonymousPull?: boolean;
  /** `expires_in` and JWT lifetime in seconds (default 300; distribution adds 60 s leeway). */
  expiresIn?: number;
}

/** Handle of a running token server. */
export interface TokenServer {
  /** Realm URL to configure in the registry: `http://127.0.0.1:<port>/token`. */
  realm: string;
  /** PEM file with the signing certificate (the registry's `rootcertbundle`). */
  certBundlePath: string;
  /** Every request received, oldest first. */
  requests: TokenRequestRecord[];
  /** Number of tokens issued so far. */
  readonly issued: number;
  /** Signs a token for `scopes` directly, bypassing HTTP. */
  issue(scopes: TokenScope[], subject?: string): string;
  stop(): Promise<void>;
}

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

/** Parses one scope string; the name may itself contain ':' only in theory, so the middle is rejoined. */
export function parseScope(scope: string): TokenScope | null {
  const parts = scope.split(':');
  if (parts.length < 3) return null;
  const type = parts[0] ?? '';
  const actions = (parts[parts.length - 1] ?? '').split(',').filter((a) => a !== '');
  return { type, name: parts.slice(1, -1).join(':'), actions };
}

function signJwt(key: KeyObject, certDer: Buffer, claims: object): string {
  const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'ES256', x5c: [certDer.toString('base64')] }));
  const input = `${header}.${b64url(JSON.stringify(claims))}`;
  // libtrust (used by distribution 2.8) wants the raw r||s (64 bytes) JOSE form, not DER.
  const sig = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${b64url(sig)}`;
}

function basicUser(req: IncomingMessage, users: Record<string, string>): string | null | false {
  const h = req.headers.authorization;
  if (!h) return null;
  const m = /^Basic\s+(\S+)$/i.exec(h);
  if (!m?.[1]) return false;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = decoded.slice(0, colon);
  return colon > 0 && Object.hasOwn(users, user) && users[user] === decoded.slice(colon + 1) ? user : false;
}

/** Generates an EC P-256 key + self-signed certificate and starts the token server on 127.0.0.1:0. */
export async function startTokenServer(opts: TokenServerOptions): Promise<TokenServer> {
  const keyPath = join(opts.dir, 'token-key.pem');
  const certBundlePath = join(opts.dir, 'token-cert.pem');
  await runCommand(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyPath,
      '-out',
      certBundlePath,
      '-days',
      '3',
      '-subj',
      '/CN=larder-test-token-issuer',
    ],
    { timeoutMs: 30_000 },
  );
  const key = createPrivateKey(await readFile(keyPath));
  const certDer = new X509Certificate(await readFile(certBundlePath)).raw;
  const expiresIn = opts.expiresIn ?? 300;
  const requests: TokenRequestRecord[] = [];
  let issued = 0;

  const issue = (scopes: TokenScope[], subject = ''): string => {
    issued++;
    const now = Math.floor(Date.now() / 1000);
    return signJwt(key, certDer, {
      iss: opts.issuer,
      sub: subject,
      aud: opts.service,
      exp: now + expiresIn,
      nbf: now - 1,
      iat: now,
      jti: randomUUID(),
      access: scopes,
    });
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://token.invalid');
    const scopes = url.searchParams
      .getAll('scope')
      .flatMap((s) => s.split(' '))
      .filter((s) => s !== '');
    const record: TokenRequestRecord = {
      method: req.method ?? 'GET',
      url: req.url ?? '',
      service: url.searchParams.get('service'),
      scopes,
      user: null,
      status: 200,
    };
    requests.push(record);
    const reply = (status: number, body: object, headers: Record<string, string> = {}): void => {
      record.status = status;
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
    };
    if (url.pathname !== '/token' || req.method !== 'GET') {
      reply(404, { errors: [{ code: 'NOT_FOUND' }] });
      return;
    }
    const user = basicUser(req, opts.users);
    if (user === false) {
      reply(401, { errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }, { 'www-authenticate': 'Basic realm="larder-token"' });
      return;
    }
    record.user = user;
    const granted: TokenScope[] = [];
    for (const s of scopes) {
      const parsed = parseScope(s);
      if (!parsed) {
        reply(400, { errors: [{ code: 'INVALID_SCOPE', message: s }] });
        return;
      }
      const actions = user ? parsed.actions : opts.anonymousPull ? parsed.actions.filter((a) => a === 'pull') : [];
      if (actions.length > 0) granted.push({ ...parsed, actions });
    }
    const token = issue(granted, user ?? '');
    reply(200, { token, access_token: token, expires_in: expiresIn, issued_at: new Date().toISOString() });
  };

  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    certBundlePath,
    requests,
    get issued() {
      return issued;
    },
    issue,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
