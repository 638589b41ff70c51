/**
 * Admin authentication: a bearer token kept in <dataDir>/admin-token (mode
 * 0600, created at first start, rotatable), one-time dashboard login links,
 * and HttpOnly session cookies. Comparisons are constant-time.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';

export const SESSION_COOKIE = 'larder_session';
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

  constructor(
    private readonly file: string,
    private readonly configured?: string,
  ) {}

  /** Reads the token file, creating it (0600) when absent. */
  async init(): Promise<void> {
    if (this.configured) {
      this.token = this.configured;
      return;
    }
    try {
      this.token = (await readFile(this.file, 'utf8')).trim();
      await chmod(this.file, 0o600);
    } catch {
      this.token = '';
    }
    if (this.token.length < 16) await this.write(randomBytes(32).toString('base64url'));
  }

  private async write(token: string): Promise<void> {
    const tmp = `${this.file}.${process.pid}.tmp`;
    await writeFile(tmp, `${token}\n`, { mode: 0o600 });
    await rename(tmp, this.file);
    this.token = token;
  }

  /** Replaces the token; every session and link made with the old one ends too. */
  async rotate(): Promise<string> {
    await this.write(randomBytes(32).toString('base64url'));
    this.sessions.clear();
    this.links.clear();
    return this.token;
  }

  checkBearer(header: string | undefined): boolean {
    // The auth scheme is case-insensitive (RFC 9110 §11.1).
    const m = header ? /^bearer +(\S+) *$/i.exec(header) : null;
    return m !== null && safeEqual(m[1]!, this.token);
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
