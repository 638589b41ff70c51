/**
 * Admin authentication: the admin token kept in <dataDir>/admin-token (mode
 * 0600, created at first start, rotatable), scoped tokens (tokens.ts),
 * one-time dashboard login links, and HttpOnly session cookies. A token is
 * presented as `Authorization: Bearer <token>` or as the password of Basic
 * auth (what pip, Go, Maven, apt and registry clients send). Comparisons
 * of the admin token are constant-time.
 *
 * A token named in the config (`admin.token`) is used as is and not
 * written anywhere. Rotating it writes the new one to the token file and
 * records the config token's hash as superseded: after a restart with the
 * same config, the rotated token stays in force (the config token is
 * ignored, with a warning) until the config names another.
 *
 * The admin API takes tokens as Bearer only; protocol routes (access.ts)
 * also take Basic with the token as password, as package clients send it.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import type { KvTable } from '../core/ports.js';
import type { TokenScope } from './contract.js';
import { sha256hex, type TokenStore } from './tokens.js';

/** The session cookie's name over plain HTTP; over HTTPS it is `__Host-` + this (Secure, Path=/, no Domain). */
export const SESSION_COOKIE = 'larder_session';

/** The cookie name for a request: `__Host-` prefixed when it came over TLS (browsers accept that prefix only then). */
export function sessionCookie(secure: boolean): string {
  return secure ? `__Host-${SESSION_COOKIE}` : SESSION_COOKIE;
}

/** Who presented a token. */
export interface Principal {
  scope: TokenScope;
  /** `admin` for the admin token, else the scoped token's name. */
  name: string;
}

/** The `auth-state` table's one row: the config token a rotation replaced. */
export interface AuthState {
  supersededConfigHash?: string;
}

/** The secret of `Authorization: Bearer <t>` or `Basic base64(user:<t>)`, else undefined. */
export function presentedSecret(header: string | undefined): string | undefined {
  if (!header) return undefined;
  // The auth scheme is case-insensitive (RFC 9110 §11.1).
  const bearer = /^bearer +(\S+) *$/i.exec(header);
  if (bearer) return bearer[1];
  const basic = /^basic +([A-Za-z0-9+/=_-]+) *$/i.exec(header);
  if (!basic) return undefined;
  const plain = Buffer.from(basic[1]!, 'base64').toString('utf8');
  const colon = plain.indexOf(':');
  return colon >= 0 && colon < plain.length - 1 ? plain.slice(colon + 1) : undefined;
}
const SESSION_TTL_MS = 12 * 3600_000;
const LINK_TTL_MS = 10 * 60_000;

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class AdminAuth {
  private token = '';
  private readonly sessions = new Map<string, number>();
  private readonly links = new Map<string, number>();
  /** Set by init() when the config's token was ignored because it had been rotated. */
  configTokenSuperseded = false;

  constructor(
    private readonly file: string,
    private readonly configured?: string,
    private readonly tokens?: TokenStore,
    private readonly state?: KvTable<AuthState>,
  ) {}

  /** Reads the token file, creating it (0600) when absent; a config token is used unless it was rotated. */
  async init(): Promise<void> {
    if (this.configured) {
      const superseded = this.state?.get('admin')?.supersededConfigHash === sha256hex(this.configured);
      const inFile = superseded ? await this.readFile() : '';
      this.configTokenSuperseded = inFile.length >= 16;
      this.token = this.configTokenSuperseded ? inFile : this.configured;
      return;
    }
    this.token = await this.readFile();
    if (this.token.length < 16) await this.write(randomBytes(32).toString('base64url'));
  }

  private async readFile(): Promise<string> {
    try {
      const t = (await readFile(this.file, 'utf8')).trim();
      await chmod(this.file, 0o600);
      return t;
    } catch {
      return '';
    }
  }

  private async write(token: string): Promise<void> {
    const tmp = `${this.file}.${process.pid}.tmp`;
    await writeFile(tmp, `${token}\n`, { mode: 0o600 });
    await rename(tmp, this.file);
    this.token = token;
  }

  /** Replaces the token; every session and link made with the old one ends too. */
  async rotate(): Promise<string> {
    // Recorded before the file is written: a crash in between leaves the file's older rotated token in force (or, after none, the config's).
    if (this.configured) await this.state?.put('admin', { supersededConfigHash: sha256hex(this.configured) });
    await this.write(randomBytes(32).toString('base64url'));
    this.sessions.clear();
    this.links.clear();
    return this.token;
  }

  /** Who the Authorization header's token (Bearer, or with `basic` also Basic's password) belongs to; undefined when none or unknown. */
  identify(header: string | undefined, opts: { basic: boolean } = { basic: true }): Principal | undefined {
    if (!opts.basic && header && !/^bearer /i.test(header)) return undefined;
    const secret = presentedSecret(header);
    if (secret === undefined) return undefined;
    if (safeEqual(secret, this.token)) return { scope: 'admin', name: 'admin' };
    const t = this.tokens?.verify(secret);
    return t ? { scope: t.scope, name: t.name } : undefined;
  }

  checkSession(id: string | undefined): boolean {
    if (!id) return false;
    const until = this.sessions.get(id);
    if (until === undefined) return false;
    if (until < Date.now()) {
      this.sessions.delete(id);
      return false;
    }
    return true;
  }

  /** A one-time login secret for the dashboard link. */
  newLink(): string {
    const t = randomBytes(24).toString('base64url');
    this.links.set(t, Date.now() + LINK_TTL_MS);
    return t;
  }

  /** Consumes a login secret; returns a new session id, or undefined. */
  redeem(link: string): string | undefined {
    const until = this.links.get(link);
    this.links.delete(link);
    if (until === undefined || until < Date.now()) return undefined;
    const id = randomBytes(32).toString('base64url');
    this.sessions.set(id, Date.now() + SESSION_TTL_MS);
    return id;
  }

  endSession(id: string): void {
    this.sessions.delete(id);
  }
}
