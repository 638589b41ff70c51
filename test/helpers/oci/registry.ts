/**
 * Starts the real CNCF distribution registry (Debian `docker-registry` 2.8.x,
 * `/usr/bin/docker-registry serve <config>`) as a test upstream on
 * 127.0.0.1:<free port>, plain HTTP, with private temp storage and one of three
 * auth flavours: none, htpasswd (bcrypt via `htpasswd -Bbn`) or token (see
 * token-server.ts). The access log on stdout is parsed so tests can count the
 * requests that reached the upstream.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, killChild, runCommand, trackChild, waitUntil } from './proc.js';
import { startTokenServer, type TokenServer } from './token-server.js';

/** Auth flavour of a test registry. */
export type RegistryAuth = 'none' | 'htpasswd' | 'token';

/** Options for {@link startRegistry}. */
export interface StartRegistryOptions {
  /** Default 'none'. */
  auth?: RegistryAuth;
  /** Credentials accepted by htpasswd / the token server (default larder / larder-secret). */
  username?: string;
  password?: string;
  /** token only: anonymous callers get pull tokens (Docker Hub style). Default false. */
  anonymousPull?: boolean;
  /** token only: token lifetime in seconds (default 300). */
  tokenExpiresIn?: number;
  /** Registry log level (default 'warn'; the access log is always on). */
  logLevel?: 'error' | 'warn' | 'info' | 'debug';
  /** Milliseconds to wait for `/v2/` to answer (default 15 s). */
  startTimeoutMs?: number;
}

/** One line of the registry's access log. */
export interface RegistryRequest {
  method: string;
  /** Request target as received, including any query (e.g. `?ns=`). */
  path: string;
  status: number;
  userAgent: string;
}

/** Handle of a running test registry. */
export interface RunningRegistry {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `127.0.0.1:<port>`, as used in `docker://` references. */
  host: string;
  port: number;
  auth: RegistryAuth;
  /** Accepted credentials; null for auth 'none'. */
  credentials: { username: string; password: string } | null;
  /** Root of the registry's filesystem storage. */
  storageDir: string;
  /** The token server (auth 'token' only). */
  token: TokenServer | null;
  /** Number of requests the token server received (0 unless auth 'token'). */
  readonly tokenRequests: number;
  /** Parsed access log since start (or since the last {@link RunningRegistry.clearRequests}). */
  requests(): RegistryRequest[];
  clearRequests(): void;
  /** Combined stdout+stderr of the registry process(es), for debugging. */
  logs(): string;
  /** Stops the registry process but keeps port, storage and token server (simulates an outage). */
  down(): Promise<void>;
  /** Restarts the process after {@link RunningRegistry.down} on the same port and storage. */
  up(): Promise<void>;
  /** Stops everything and deletes the temp directory. */
  stop(): Promise<void>;
}

const PROBE_AGENT = 'larder-fixture-readiness-probe';
const ACCESS_LINE = /"([A-Z]+) (\S+) HTTP\/[\d.]+" (\d{3}) \S+ "[^"]*" "([^"]*)"/;

/** Environment for docker-registry: REGISTRY_* variables would override its config. */
function registryEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('REGISTRY_')) env[k] = v;
  return env;
}

/** Starts a docker-registry; see {@link StartRegistryOptions}. Call `stop()` when done. */
export async function startRegistry(opts: StartRegistryOptions = {}): Promise<RunningRegistry> {
  const auth = opts.auth ?? 'none';
  const username = opts.username ?? 'larder';
  const password = opts.password ?? 'larder-secret';
  const dir = await mkdtemp(join(tmpdir(), 'larder-oci-registry-'));
  const storageDir = join(dir, 'storage');
  await mkdir(storageDir);
  let token: TokenServer | null = null;
  let authConfig: object = {};
  if (auth === 'htpasswd') {
    const line = await runCommand('htpasswd', ['-Bbn', username, password], { timeoutMs: 30_000 });
    await writeFile(join(dir, 'htpasswd'), `${line.stdout.toString('utf8').trim()}\n`);
    authConfig = { auth: { htpasswd: { realm: 'larder-test', path: join(dir, 'htpasswd') } } };
  } else if (auth === 'token') {
    const service = 'larder-test-registry';
    const issuer = 'larder-test-issuer';
    token = await startTokenServer({
      dir,
      service,
      issuer,
      users: { [username]: password },
      anonymousPull: opts.anonymousPull ?? false,
      expiresIn: opts.tokenExpiresIn ?? 300,
    });
    authConfig = { auth: { token: { realm: token.realm, service, issuer, rootcertbundle: token.certBundlePath } } };
  }
  let port = 0;
  let host = '';
  const configPath = join(dir, 'config.yml');
  // JSON is YAML; docker-registry parses it with its YAML loader.
  const writeConfig = (): Promise<void> =>
    writeFile(
      configPath,
      JSON.stringify(
        {
          version: 0.1,
          log: { level: opts.logLevel ?? 'warn', formatter: 'text', accesslog: { disabled: false } },
          storage: {
            filesystem: { rootdirectory: storageDir },
            delete: { enabled: true },
            cache: { blobdescriptor: 'inmemory' },
            maintenance: { uploadpurging: { enabled: false } },
          },
          http: { addr: host, secret: 'larder-test-secret', headers: { 'X-Content-Type-Options': ['nosniff'] } },
          ...authConfig,
        },
        null,
        2,
      ),
    );

  let child: ChildProcess | null = null;
  let log = '';
  let requests: RegistryRequest[] = [];
  let partial = '';
  const onStdout = (chunk: Buffer): void => {
    const text = chunk.toString('utf8');
    log += text;
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const m = ACCESS_LINE.exec(line);
      if (m && m[4] !== PROBE_AGENT) requests.push({ method: m[1] ?? '', path: m[2] ?? '', status: Number(m[3]), userAgent: m[4] ?? '' });
    }
  };
  const up = async (): Promise<void> => {
    if (child) return;
    const proc = spawn('/usr/bin/docker-registry', ['serve', configPath], { env: registryEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    trackChild(proc);
    proc.stdout.on('data', onStdout);
    proc.stderr.on('data', (b: Buffer) => (log += b.toString('utf8')));
    let exited = false;
    proc.once('exit', () => {
      exited = true;
      if (child === proc) child = null;
    });
    await waitUntil(
      async () => {
        if (exited) throw new Error(`docker-registry exited early:\n${log.slice(-2000)}`);
        const res = await fetch(`http://${host}/v2/`, { headers: { 'user-agent': PROBE_AGENT }, signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        return res.status === 200 || res.status === 401;
      },
      opts.startTimeoutMs ?? 15_000,
      `docker-registry on ${host}`,
    ).catch(async (e: unknown) => {
      await killChild(proc);
      throw e;
    });
  };
  const down = async (): Promise<void> => {
    const proc = child;
    child = null;
    if (proc) await killChild(proc);
  };
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    host = `127.0.0.1:${port}`;
    try {
      await writeConfig();
      await up();
      break;
    } catch (e) {
      // freePort() is racy: retry when another process grabbed the port meanwhile.
      if (attempt < 3 && log.includes('address already in use')) continue;
      await token?.stop();
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
  }
  return {
    url: `http://${host}`,
    host,
    port,
    auth,
    credentials: auth === 'none' ? null : { username, password },
    storageDir,
    token,
    get tokenRequests() {
      return token?.requests.length ?? 0;
    },
    requests: () => [...requests],
    clearRequests: () => {
      requests = [];
    },
    logs: () => log,
    down,
    up,
    stop: async () => {
      await down();
      await token?.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
