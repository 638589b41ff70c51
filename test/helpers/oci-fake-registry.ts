/**
 * A tiny scriptable OCI registry on 127.0.0.1:0 for fault injection, next to
 * the real docker-registry fixture: corrupt blob bytes, forced statuses
 * (429 with Retry-After, 503), blob redirects to a second "CDN" server that
 * records whether Authorization reached it, Basic auth, paginated tag lists
 * with Link headers, and a referrers endpoint. Every request is recorded.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  accept: string | undefined;
}

export const sha256 = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

interface Listening {
  url: string;
  port: number;
  requests: SeenRequest[];
  close(): Promise<void>;
}

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Listening & { server: Server }> {
  const requests: SeenRequest[] = [];
  const server = createServer((req, res) => {
    requests.push({
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      authorization: req.headers.authorization,
      accept: req.headers.accept,
    });
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A blob store on another port that upstream blob GETs can be redirected to. */
export async function startCdn(blobs: Map<string, Buffer>): Promise<Listening> {
  return listen((req, res) => {
    const digest = /\/cdn\/(sha256:[0-9a-f]{64})/.exec(req.url ?? '')?.[1];
    const body = digest ? blobs.get(digest) : undefined;
    if (!body) return void res.writeHead(404).end();
    res
      .writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) })
      .end(req.method === 'HEAD' ? undefined : body);
  });
}

export interface FakeRegistry extends Listening {
  /** Manifests by `<name>:<tag>` and `<name>@<digest>`. */
  manifests: Map<string, { body: Buffer; mediaType: string }>;
  /** Bytes served for each blob digest (put wrong bytes here to corrupt). */
  blobs: Map<string, Buffer>;
  /** Tag lists served by tags/list (paginated with n/last and Link). */
  tags: Map<string, string[]>;
  /** Referrers indexes by subject digest. */
  referrers: Map<string, Buffer>;
  /** When set, manifest requests by tag answer this status (e.g. 429, 503). */
  tagStatus: number | undefined;
  /** When set, blob GETs answer 307 to `<redirectBlobs>/cdn/<digest>?sig=…`. */
  redirectBlobs: string | undefined;
  /** Adds a manifest under a digest and optionally a tag; returns the digest. */
  putManifest(name: string, body: Buffer, mediaType: string, tag?: string): string;
  /** Adds a blob; returns its digest. */
  putBlob(body: Buffer): string;
}

function error(res: ServerResponse, status: number, code: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify({ errors: [{ code, message: code }] }));
}

/** Starts the fake registry; with `basic`, every /v2 request needs those Basic credentials. */
export async function startFakeRegistry(opts: { basic?: { username: string; password: string } } = {}): Promise<FakeRegistry> {
  const state = {
    manifests: new Map<string, { body: Buffer; mediaType: string }>(),
    blobs: new Map<string, Buffer>(),
    tags: new Map<string, string[]>(),
    referrers: new Map<string, Buffer>(),
    tagStatus: undefined as number | undefined,
    redirectBlobs: undefined as string | undefined,
  };
  const expectedAuth = opts.basic ? `Basic ${Buffer.from(`${opts.basic.username}:${opts.basic.password}`).toString('base64')}` : undefined;
  const l = await listen((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake.invalid');
    const head = req.method === 'HEAD';
    if (expectedAuth && req.headers.authorization !== expectedAuth) {
      return error(res, 401, 'UNAUTHORIZED', { 'www-authenticate': 'Basic realm="fake"' });
    }
    if (url.pathname === '/v2/') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    let m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url.pathname);
    if (m) {
      const [, name, ref] = m as unknown as [string, string, string];
      if (!ref.includes(':') && state.tagStatus !== undefined)
        return error(res, state.tagStatus, 'TOOMANYREQUESTS', { 'retry-after': '17' });
      const found = state.manifests.get(ref.includes(':') ? `${name}@${ref}` : `${name}:${ref}`);
      if (!found) return error(res, 404, 'MANIFEST_UNKNOWN');
      const digest = sha256(found.body);
      res.writeHead(200, {
        'content-type': found.mediaType,
        'content-length': String(found.body.length),
        'docker-content-digest': digest,
        etag: `"${digest}"`,
      });
      return void res.end(head ? undefined : found.body);
    }
    m = /^\/v2\/(.+)\/blobs\/(sha256:[0-9a-f]{64})$/.exec(url.pathname);
    if (m) {
      const digest = m[2]!;
      const body = state.blobs.get(digest);
      if (!body) return error(res, 404, 'BLOB_UNKNOWN');
      if (state.redirectBlobs && !head) {
        return void res.writeHead(307, { location: `${state.redirectBlobs}/cdn/${digest}?sig=one-time-${Date.now()}` }).end();
      }
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': String(body.length),
        'docker-content-digest': digest,
      });
      return void res.end(head ? undefined : body);
    }
    m = /^\/v2\/(.+)\/tags\/list$/.exec(url.pathname);
    if (m) {
      const all = state.tags.get(m[1]!);
      if (!all) return error(res, 404, 'NAME_UNKNOWN');
      const last = url.searchParams.get('last');
      const n = url.searchParams.has('n') ? Number(url.searchParams.get('n')) : all.length;
      const after = [...all].sort().filter((t) => last === null || t > last);
      const page = after.slice(0, n);
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (after.length > n) headers.link = `</v2/${m[1]}/tags/list?last=${page[page.length - 1]}&n=${n}>; rel="next"`;
      return void res.writeHead(200, headers).end(JSON.stringify({ name: m[1], tags: page }));
    }
    m = /^\/v2\/(.+)\/referrers\/(sha256:[0-9a-f]{64})$/.exec(url.pathname);
    if (m) {
      const body = state.referrers.get(m[2]!);
      if (!body) return error(res, 404, 'NAME_UNKNOWN');
      return void res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json' }).end(body);
    }
    error(res, 404, 'NOT_FOUND');
  });
  const reg: FakeRegistry = Object.assign(state, {
    url: l.url,
    port: l.port,
    requests: l.requests,
    close: l.close,
    putManifest(name: string, body: Buffer, mediaType: string, tag?: string): string {
      const digest = sha256(body);
      state.manifests.set(`${name}@${digest}`, { body, mediaType });
      if (tag) state.manifests.set(`${name}:${tag}`, { body, mediaType });
      return digest;
    },
    putBlob(body: Buffer): string {
      const digest = sha256(body);
      state.blobs.set(digest, body);
      return digest;
    },
  });
  return reg;
}
