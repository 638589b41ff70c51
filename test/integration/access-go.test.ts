/**
 * `access: { anonymous: false }` with Debian's go 1.19: `go mod download`
 * through GOPROXY is refused without credentials (Go's proxy format: 404
 * with the reason, X-Larder-Error E_UNAUTHORIZED) and works with the `read`
 * token in `~/.netrc` (go sends it as Basic auth). go sends credentials over
 * HTTPS only, so it reaches the daemon through a TLS front made here (a
 * certificate from openssl, trusted through SSL_CERT_FILE) that passes
 * requests on unchanged. The token never reaches the upstream proxy.
 */
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { execFile } from 'node:child_process';
import { createServer, request as httpRequest } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { promisify } from 'node:util';
import type { AddressInfo } from 'node:net';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TokenCreated } from '../../daemon/admin/contract.js';
import { adminToken } from '../helpers/admin-e2e.js';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { goEnv, runGo } from '../helpers/go/go-tool.js';
import { buildModule, goSum, writeProxyDir } from '../helpers/go/modules.js';
import { serveProxyDir, type StaticProxy } from '../helpers/go/proxy-server.js';

const run = promisify(execFile);
const lib = buildModule({ path: 'example.com/lib', version: 'v1.0.0', files: { 'lib.go': 'package lib\n\nconst Version = "v1.0.0"\n' } });

describe('go with a token in ~/.netrc', () => {
  let work: string;
  let proxy: StaticProxy;
  let front: ReturnType<typeof createServer>;
  let frontUrl = '';
  const seen: IncomingHttpHeaders[] = [];
  let daemon: TestDaemon;
  let token = '';
  let app: string;
  let tlsFront: ReturnType<typeof createHttps>;
  let tlsUrl = '';
  let certFile = '';

  before(async () => {
    work = await tempDir('larder-access-go-');
    await writeProxyDir(join(work, 'proxy'), [lib]);
    proxy = await serveProxyDir(join(work, 'proxy'));
    // A recording hop in front of the upstream proxy: what reaches the upstream.
    const target = new URL(proxy.url);
    front = createServer((req, res) => {
      seen.push(req.headers);
      fetch(`${target.origin}${req.url ?? '/'}`).then(
        async (r) => {
          res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/octet-stream' });
          res.end(Buffer.from(await r.arrayBuffer()));
        },
        () => res.destroy(),
      );
    });
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
    frontUrl = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
    daemon = await startTestDaemon({
      access: { anonymous: false },
      remotes: { gomain: { type: 'go', url: `${frontUrl}/` } },
      go: { default: 'gomain' },
    });
    const res = await fetch(`${daemon.url}/_/api/v1/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await adminToken(daemon.dataDir)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'go-ci', scope: 'read' }),
    });
    token = ((await res.json()) as TokenCreated).token;
    // The TLS front: forwards every request (headers included) to the daemon.
    const keyFile = join(work, 'key.pem');
    certFile = join(work, 'cert.pem');
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ]);
    const larder = new URL(daemon.url);
    tlsFront = createHttps({ key: await readFile(keyFile), cert: await readFile(certFile) }, (req, res) => {
      const up = httpRequest({ host: larder.hostname, port: larder.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    });
    await new Promise<void>((r) => tlsFront.listen(0, '127.0.0.1', r));
    tlsUrl = `https://127.0.0.1:${(tlsFront.address() as AddressInfo).port}`;
    app = join(work, 'app');
    await mkdir(app, { recursive: true });
    await writeFile(join(app, 'go.mod'), `module example.com/app\n\ngo 1.19\n\nrequire example.com/lib v1.0.0\n`);
    await writeFile(join(app, 'go.sum'), goSum([lib]));
  });

  after(async () => {
    tlsFront?.close();
    await daemon?.close();
    front?.close();
    await proxy?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('is refused without credentials and downloads with the token in ~/.netrc', async () => {
    const bare = join(work, 'home-bare');
    await mkdir(bare, { recursive: true });
    const denied = await runGo(['mod', 'download'], app, goEnv(bare, { GOPROXY: `${daemon.url}/go` }));
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /needs a token/);
    assert.equal(seen.length, 0, 'nothing was fetched for an anonymous client');

    const home = join(work, 'home-netrc');
    await mkdir(home, { recursive: true });
    await writeFile(join(home, '.netrc'), `machine 127.0.0.1 login go-ci password ${token}\n`, { mode: 0o600 });
    const env = goEnv(home, { GOPROXY: `${tlsUrl}/go`, SSL_CERT_FILE: certFile });
    const ok = await runGo(['mod', 'download'], app, env);
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(seen.length > 0, 'the upstream was asked');
    for (const h of seen) assert.equal(h.authorization, undefined, 'the token is not forwarded upstream');
  });
});
