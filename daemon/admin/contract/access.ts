/** Errors every route answers with, and the scoped tokens that decide who may call what. */

export interface ApiError {
  error: { code: string; message: string };
}

/**
 * What a token may do: `admin` everything; `replicate` the pin feed
 * (GET /feed) and protocol reads (a child daemon's `parent.token`); `read`
 * protocol reads and /metrics only. Anything else is 403 `E_SCOPE`.
 */
export type TokenScope = 'admin' | 'replicate' | 'read';

export const TOKEN_SCOPES: readonly TokenScope[] = ['admin', 'replicate', 'read'];

/** Body of POST /tokens. Names are 1-64 letters, digits, ".", "_" or "-". */
export interface TokenRequest {
  name: string;
  scope: TokenScope;
}

/** A scoped token as listed (the secret is stored only as a hash). */
export interface TokenInfo {
  name: string;
  scope: TokenScope;
  createdAt: number;
  /** Last successful use (updated at most once a minute). */
  lastUsedAt?: number;
}

/** Answer of POST /tokens: the secret, shown once. */
export interface TokenCreated extends TokenInfo {
  token: string;
}
