/**
 * Scoped tokens (`larder token create --scope replicate --name edge-1`):
 * named secrets with a scope (admin, replicate, read), kept in the index's
 * `tokens` table as a SHA-256 of the secret only.
 *
 * Why SHA-256 and not a slow hash (scrypt): a secret is 32 random bytes, so
 * there is nothing to guess and a stolen table cannot be brute-forced
 * whatever the speed of the hash; a fast unsalted hash also lets a request
 * be looked up by its hash in one step, with no per-token comparison whose
 * timing could leak anything, and costs nothing per protocol request.
 */
import { createHash, randomBytes } from 'node:crypto';
import { LarderError } from '../core/errors.js';
import type { KvTable } from '../core/ports.js';
import { TOKEN_SCOPES, type TokenCreated, type TokenInfo, type TokenScope } from './contract.js';

/** A row of the `tokens` table, keyed by name. */
export interface StoredToken extends TokenInfo {
  /** sha256 hex of the secret. */
  hash: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Secrets carry a recognisable prefix (secret scanners, and `larder token ls` users, can tell them). */
const PREFIX = 'lrd_';
const TOUCH_EVERY_MS = 60_000;

export const sha256hex = (s: string): string => createHash('sha256').update(s).digest('hex');

export function isScope(v: unknown): v is TokenScope {
  return typeof v === 'string' && (TOKEN_SCOPES as readonly string[]).includes(v);
}

const info = (t: StoredToken): TokenInfo => ({
  name: t.name,
  scope: t.scope,
  createdAt: t.createdAt,
  ...(t.lastUsedAt ? { lastUsedAt: t.lastUsedAt } : {}),
});

export class TokenStore {
  private readonly byHash = new Map<string, StoredToken>();

  constructor(private readonly table: KvTable<StoredToken>) {
    for (const [, t] of table.range()) this.byHash.set(t.hash, t);
  }

  /** Makes a token; the secret is returned here only. */
  async create(name: string, scope: TokenScope): Promise<TokenCreated> {
    if (!NAME.test(name)) throw new LarderError('E_BAD_REQUEST', 'a token name is 1-64 letters, digits, ".", "_" or "-"');
    // The admin token is identified and audited as `admin`: a scoped token of that name would pass for it.
    if (name === 'admin') throw new LarderError('E_BAD_REQUEST', "the name admin is the admin token's; choose another");
    if (!isScope(scope)) throw new LarderError('E_BAD_REQUEST', `scope must be one of ${TOKEN_SCOPES.join(', ')}`);
    if (this.table.get(name)) throw new LarderError('E_BAD_REQUEST', `a token named ${name} exists (revoke it first)`);
    const token = `${PREFIX}${randomBytes(32).toString('base64url')}`;
    const row: StoredToken = { name, scope, createdAt: Date.now(), hash: sha256hex(token) };
    await this.table.put(name, row);
    this.byHash.set(row.hash, row);
    return { ...info(row), token };
  }

  list(): TokenInfo[] {
    return [...this.table.range()].map(([, t]) => info(this.byHash.get(t.hash) ?? t));
  }

  /** Removes a token; it stops working at once. */
  async revoke(name: string): Promise<void> {
    const row = this.table.get(name);
    if (!row) throw new LarderError('E_NOT_FOUND', `no token named ${name}`);
    this.byHash.delete(row.hash);
    await this.table.remove(name);
  }

  /** The token a secret is, or undefined. */
  verify(secret: string): TokenInfo | undefined {
    if (!secret.startsWith(PREFIX)) return undefined;
    const row = this.byHash.get(sha256hex(secret));
    if (!row) return undefined;
    const now = Date.now();
    if (!row.lastUsedAt || now - row.lastUsedAt > TOUCH_EVERY_MS) {
      row.lastUsedAt = now;
      // Best effort: a failed write (full disk) only loses the time of last use.
      if (this.table.get(row.name)) void this.table.put(row.name, row).catch(() => undefined);
    }
    return row;
  }
}
