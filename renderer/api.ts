/**
 * Typed client of the admin API (`/_/api/v1/`). Authenticated by the
 * HttpOnly session cookie only (`credentials: 'same-origin'`): the dashboard
 * never sees or stores the admin token.
 */
import type {
  ActivityItem,
  ActivityKind,
  ApiError,
  Job,
  JobRequest,
  Pin,
  PinRequest,
  ScrubStatus,
  Stats,
  StatsPoint,
} from '../daemon/admin/contract.js';

/** A failed API call: HTTP status plus the API's stable error code. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiFailure';
  }

  /** True when the session cookie is missing or expired. */
  get unauthorized(): boolean {
    return this.status === 401 || this.status === 403;
  }
}

/** Path prefix the daemon is served under (non-empty behind a path-prefixed proxy). */
export function basePrefix(pathname: string = location.pathname): string {
  const i = pathname.lastIndexOf('/_/ui');
  return i > 0 ? pathname.slice(0, i) : '';
}

/** Absolute path of an admin API endpoint, e.g. apiPath('/stats'). */
export function apiPath(path: string): string {
  return `${basePrefix()}/_/api/v1${path}`;
}

function isApiError(v: unknown): v is ApiError {
  if (typeof v !== 'object' || v === null || !('error' in v)) return false;
  const e = (v as { error: unknown }).error;
  return typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string';
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(apiPath(path), {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiFailure(0, 'E_NETWORK', 'Cannot reach the Larder daemon.');
  }
  const text = await res.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = undefined;
  }
  if (!res.ok) {
    if (isApiError(data)) throw new ApiFailure(res.status, data.error.code, data.error.message);
    throw new ApiFailure(res.status, `E_HTTP_${res.status}`, res.statusText || `request failed with HTTP ${res.status}`);
  }
  return data as T;
}

/** One method per admin endpoint the dashboard uses. */
export const api = {
  stats: () => request<Stats>('GET', '/stats'),
  history: () => request<StatsPoint[]>('GET', '/stats/history'),
  pins: () => request<Pin[]>('GET', '/pins'),
  addPin: (req: PinRequest) => request<Pin>('POST', '/pins', req),
  removePin: (id: string) => request<{ removed: true }>('DELETE', `/pins/${encodeURIComponent(id)}`),
  jobs: () => request<Job[]>('GET', '/jobs'),
  startJob: (req: JobRequest) => request<Job>('POST', '/jobs', req),
  cancelJob: (id: string) => request<Job>('DELETE', `/jobs/${encodeURIComponent(id)}`),
  activity: (kind?: ActivityKind, limit = 200) => {
    const q = new URLSearchParams({ limit: String(limit) });
    if (kind) q.set('kind', kind);
    return request<ActivityItem[]>('GET', `/activity?${q.toString()}`);
  },
  scrub: () => request<ScrubStatus>('POST', '/scrub', { now: true }),
  gc: () => request<{ removed: number; bytes: number }>('POST', '/gc'),
  evictToLowWatermark: () => request<{ removed: number; bytes: number }>('POST', '/evict', { toLowWatermark: true }),
  setOffline: (offline: boolean) => request<{ offline: boolean }>('POST', '/offline', { offline }),
};

/** Normalises anything thrown into an ApiFailure for display. */
export function toFailure(err: unknown): ApiFailure {
  if (err instanceof ApiFailure) return err;
  return new ApiFailure(0, 'E_CLIENT', err instanceof Error ? err.message : String(err));
}
