/**
 * The dashboard's admin API client: the shared typed client
 * (daemon/admin/client.ts) authenticated by the HttpOnly session cookie only
 * (same-origin): the dashboard never sees or stores the admin token.
 */
import { AdminClient } from '../daemon/admin/client.js';
import { AdminError } from '../daemon/admin/client-decode.js';

export { AdminError };

/** Path prefix the daemon is served under (non-empty behind a path-prefixed proxy). */
export function basePrefix(pathname: string = typeof location === 'undefined' ? '' : location.pathname): string {
  const i = pathname.lastIndexOf('/_/ui');
  return i > 0 ? pathname.slice(0, i) : '';
}

/** Absolute path of an admin API endpoint, e.g. apiPath('/events') for the EventSource. */
export function apiPath(path: string): string {
  return `${basePrefix()}/_/api/v1${path}`;
}

/** The client every view uses. */
export const api = new AdminClient({ baseUrl: basePrefix(), auth: { session: 'same-origin' } });

/** Normalises anything thrown into an AdminError for display. */
export function toFailure(err: unknown): AdminError {
  if (err instanceof AdminError) return err;
  return new AdminError('E_CLIENT', 0, err instanceof Error ? err.message : String(err));
}
