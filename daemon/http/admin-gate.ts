/**
 * Who may call an admin endpoint (`/_/api/v1/…`), decided before routing:
 *
 * - An `Authorization` header must carry a known token as Bearer; one that
 *   is present but unknown (or Basic) is a 401 even when a valid session
 *   cookie comes along.
 * - A scoped token reaches only its scope: `replicate` the pin feed
 *   (GET /feed), `read` nothing here; anything else is 403 E_SCOPE.
 * - Without a header, the dashboard's session cookie; a write made with it
 *   must say `Sec-Fetch-Site: same-origin` (a missing header is refused,
 *   not trusted) and `Content-Type: application/json`, which a cross-site
 *   form or no-cors fetch cannot send (CSRF).
 */
import type { Context } from 'koa';
import { LarderError } from '../core/errors.js';
import { type AdminAuth, sessionCookie } from '../admin/auth.js';

const PREFIX = '/_/api/v1';
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Endpoints open to each non-admin scope, as `METHOD path`. */
const SCOPED: Record<'replicate' | 'read', ReadonlySet<string>> = {
  replicate: new Set(['GET /feed']),
  read: new Set(),
};

/** The session id of the request's cookie (the `__Host-` one over TLS). */
export function sessionOf(ctx: Context): string | undefined {
  return ctx.cookies.get(sessionCookie(ctx.secure));
}

/** Checks a request below `/_/api/v1`; returns the actor to audit, or throws E_UNAUTHORIZED / E_SCOPE / E_FORBIDDEN. */
export function admitAdmin(ctx: Context, auth: AdminAuth): string {
  const header = ctx.get('authorization');
  const path = ctx.path.slice(PREFIX.length) || '/';
  if (header) {
    const who = auth.identify(header, { basic: false });
    if (!who) {
      ctx.set('www-authenticate', 'Bearer realm="larder-admin", error="invalid_token"');
      throw new LarderError('E_UNAUTHORIZED', 'the token in the Authorization header is not valid (rotated or revoked?)');
    }
    if (who.scope === 'admin') return who.name === 'admin' ? 'token' : `token:${who.name}`;
    if (!SCOPED[who.scope].has(`${ctx.method} ${path}`)) {
      throw new LarderError(
        'E_SCOPE',
        `token ${who.name} has scope ${who.scope}, which does not cover ${ctx.method} ${path.slice(0, 100)}`,
      );
    }
    return `token:${who.name}`;
  }
  if (!auth.checkSession(sessionOf(ctx))) {
    ctx.set('www-authenticate', 'Bearer realm="larder-admin"');
    throw new LarderError('E_UNAUTHORIZED', 'the admin API needs `Authorization: Bearer <token>` (see <dataDir>/admin-token)');
  }
  if (!SAFE.has(ctx.method)) {
    if (ctx.get('sec-fetch-site') !== 'same-origin') throw new LarderError('E_FORBIDDEN', 'cross-site admin requests are refused');
    const type = ctx.get('content-type').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') {
      throw new LarderError('E_BAD_REQUEST', 'admin writes from the dashboard must be sent as application/json', { status: 415 });
    }
  }
  return 'dashboard';
}
