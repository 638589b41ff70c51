/**
 * npm endpoints that are forwarded, never cached: search, audit (gzip body
 * kept as is), whoami, ping. (The registry keys, `/-/npm/v1/keys`, are
 * cached: the adapter serves them.) The client's Authorization is forwarded
 * only to a remote without credentials of its own.
 */
import type { Remote } from '../../upstream/remote.js';
import type { ProtoRequest, ProtoResponse } from '../adapter.js';

const FORWARD_REQUEST = ['accept', 'content-type', 'content-encoding', 'user-agent', 'npm-command', 'npm-session', 'npm-auth-type'];
const FORWARD_RESPONSE = ['content-type', 'content-length', 'content-encoding', 'www-authenticate', 'retry-after'];

/** Endpoint paths (below /-/) that are passed through, by method. */
export function passthroughKind(method: string, path: string): 'get' | 'post' | undefined {
  if (
    method === 'POST' &&
    (path === '/-/npm/v1/security/advisories/bulk' || path === '/-/npm/v1/security/audits/quick' || path === '/-/npm/v1/security/audits')
  )
    return 'post';
  if ((method === 'GET' || method === 'HEAD') && (path === '/-/ping' || path === '/-/whoami' || path === '/-/v1/search')) return 'get';
  return undefined;
}

export async function passthrough(req: ProtoRequest, remote: Remote): Promise<ProtoResponse> {
  const headers: Record<string, string> = {};
  for (const h of FORWARD_REQUEST) {
    const v = req.headers[h];
    if (typeof v === 'string') headers[h] = v;
  }
  const clientAuth = req.headers.authorization;
  if (!remote.authorization() && typeof clientAuth === 'string') headers.authorization = clientAuth;
  const qs = req.query.toString();
  const url = remote.resolve(`${req.path.slice(1)}${qs ? `?${qs}` : ''}`);
  const body = req.method === 'POST' ? await req.body() : undefined;
  const res = await remote.request({ url, method: req.method === 'POST' ? 'POST' : 'GET', headers, body });
  const out: Record<string, string> = { 'cache-control': 'no-store' };
  for (const h of FORWARD_RESPONSE) {
    const v = res.headers[h];
    if (typeof v === 'string') out[h] = v;
  }
  return { status: res.status, headers: out, body: { type: 'stream', stream: res.body }, cache: 'BYPASS' };
}
