/**
 * Runs the real `skopeo` against test registries with an isolated
 * configuration (own auth file, registries.conf, policy, registries.d, HOME and
 * XDG dirs) so nothing from the host's containers/docker config is used, and
 * with a hard timeout. Provides helpers to push fixture layouts
 * (`skopeo copy --all --preserve-digests oci:… docker://…`) and to read manifests back
 * (`skopeo inspect --raw`).
 */
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FixtureLayout } from './images.js';
import { runCommand, type CommandResult } from './proc.js';

/** Where to push to / read from: a host:port plus optional credentials. */
export interface RegistryTarget {
  /** `127.0.0.1:<port>` (or `host:port/prefix` for a path-prefixed mirror). */
  host: string;
  credentials: { username: string; password: string } | null;
}

/** Per-call options for skopeo. */
export interface SkopeoRunOptions {
  /** Kill skopeo after this many ms (default 120 s). */
  timeoutMs?: number;
  /** Reject on non-zero exit (default true). */
  check?: boolean;
  /** Run inside this network namespace (`ip netns exec`; needs root). */
  netns?: string;
}

/** An isolated skopeo configuration directory. */
export interface SkopeoSandbox {
  dir: string;
  /** Path of the `registries.conf` in use (`CONTAINERS_REGISTRIES_CONF`). */
  registriesConf: string;
  /** Runs `skopeo <global isolation flags> …args`. */
  run(args: readonly string[], opts?: SkopeoRunOptions): Promise<CommandResult>;
  /** Deletes the sandbox directory. */
  cleanup(): Promise<void>;
}

/** Default registries.conf: no unqualified search, nothing else configured. */
export const EMPTY_REGISTRIES_CONF = 'unqualified-search-registries = []\n';

/**
 * Creates a sandbox. Pass `registriesConf` (TOML text) to test mirror setups,
 * e.g. a `[[registry.mirror]] location="127.0.0.1:PORT/docker.io" insecure=true` block.
 */
export async function createSkopeoSandbox(registriesConf: string = EMPTY_REGISTRIES_CONF): Promise<SkopeoSandbox> {
  const dir = await mkdtemp(join(tmpdir(), 'larder-skopeo-'));
  const paths = {
    registriesConf: join(dir, 'registries.conf'),
    authFile: join(dir, 'auth.json'),
    policy: join(dir, 'policy.json'),
    registriesD: join(dir, 'registries.d'),
    containersConf: join(dir, 'containers.conf'),
    home: join(dir, 'home'),
    runtime: join(dir, 'run'),
  };
  await Promise.all([paths.registriesD, paths.home, paths.runtime].map((d) => mkdir(d, { mode: 0o700 })));
  await writeFile(paths.registriesConf, registriesConf);
  await writeFile(paths.authFile, JSON.stringify({ auths: {} }));
  await writeFile(paths.policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  await writeFile(paths.containersConf, '');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    TMPDIR: process.env.TMPDIR ?? tmpdir(),
    HOME: paths.home,
    XDG_RUNTIME_DIR: paths.runtime,
    XDG_CONFIG_HOME: join(paths.home, '.config'),
    DOCKER_CONFIG: join(paths.home, '.docker'),
    REGISTRY_AUTH_FILE: paths.authFile,
    CONTAINERS_REGISTRIES_CONF: paths.registriesConf,
    CONTAINERS_CONF: paths.containersConf,
  };
  const globals = ['--policy', paths.policy, '--registries.d', paths.registriesD];
  return {
    dir,
    registriesConf: paths.registriesConf,
    run: (args, opts = {}) => {
      const [cmd, pre] = opts.netns ? ['/usr/sbin/ip', ['netns', 'exec', opts.netns, 'skopeo']] : ['skopeo', []];
      return runCommand(cmd, [...pre, ...globals, ...args], { env, timeoutMs: opts.timeoutMs ?? 120_000, check: opts.check ?? true });
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

let shared: Promise<SkopeoSandbox> | null = null;

/** A lazily created per-process sandbox with the empty registries.conf, removed at process exit. */
export function defaultSandbox(): Promise<SkopeoSandbox> {
  shared ??= createSkopeoSandbox().then((sb) => {
    process.once('exit', () => rmSync(sb.dir, { recursive: true, force: true }));
    return sb;
  });
  return shared;
}

/** Runs skopeo in the default sandbox. */
export async function skopeo(args: readonly string[], opts?: SkopeoRunOptions): Promise<CommandResult> {
  return (await defaultSandbox()).run(args, opts);
}

/** `--<prefix>creds user:pass` or `--<prefix>no-creds` for a target. */
export function credsArgs(target: RegistryTarget, prefix: '' | 'src-' | 'dest-' = ''): string[] {
  const c = target.credentials;
  return c ? [`--${prefix}creds`, `${c.username}:${c.password}`] : [`--${prefix}no-creds`];
}

/** `docker://host/repo:tag` or `docker://host/repo@sha256:…`. */
export function dockerRef(target: RegistryTarget, repo: string, reference: string): string {
  return `docker://${target.host}/${repo}${reference.startsWith('sha256:') ? '@' : ':'}${reference}`;
}

/**
 * Pushes tag `tag` of `layout` to `repo:destTag` with `skopeo copy --all --preserve-digests`
 * over plain HTTP. Returns the wall time in ms.
 */
export async function pushImage(
  layout: FixtureLayout,
  tag: string,
  target: RegistryTarget,
  repo: string,
  destTag: string = tag,
  opts?: SkopeoRunOptions,
): Promise<number> {
  const started = Date.now();
  await skopeo(
    [
      'copy',
      '--all',
      '--preserve-digests',
      '--dest-tls-verify=false',
      ...credsArgs(target, 'dest-'),
      layout.ref(tag),
      dockerRef(target, repo, destTag),
    ],
    opts,
  );
  return Date.now() - started;
}

/** Pushes every tag of `layout` into `repo` (same tag names), one after another. */
export async function pushLayout(layout: FixtureLayout, target: RegistryTarget, repo: string): Promise<void> {
  for (const tag of Object.keys(layout.images)) await pushImage(layout, tag, target, repo);
}

/** `skopeo inspect --raw`: the exact manifest bytes the registry serves for a tag or digest. */
export async function inspectRaw(target: RegistryTarget, repo: string, reference: string): Promise<Buffer> {
  const res = await skopeo(['inspect', '--raw', '--tls-verify=false', ...credsArgs(target), dockerRef(target, repo, reference)], {
    timeoutMs: 60_000,
  });
  return res.stdout;
}
