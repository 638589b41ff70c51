/**
 * Parses `/v2/…` request paths and picks the remote that serves them.
 *
 * Three client layouts reach the same remotes (configured as `type: oci`
 * remotes with the registry `host` they stand for):
 * - containerd: `/v2/<name>/…?ns=<host>`;
 * - registries.conf path prefix: `/v2/<host>/<name>/…`;
 * - Docker `registry-mirrors`: bare `/v2/<name>/…` → the default remote.
 * On a Docker Hub remote (`host: docker.io`) one-component names get `library/`.
 */
import { ociError } from './errors.js';

/** Repository name grammar of the distribution spec. */
const NAME = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const DIGEST = /^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/;
const HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

export type OciRoute =
  | { kind: 'base' }
  | { kind: 'write'; what: string }
  | { kind: 'manifest'; target: RepoTarget; reference: string; byDigest: boolean }
  | { kind: 'blob'; target: RepoTarget; digest: string }
  | { kind: 'tags'; target: RepoTarget }
  | { kind: 'referrers'; target: RepoTarget; digest: string };

/** Where a repository request goes, and how the client spelled it (for Link headers). */
export interface RepoTarget {
  /** Name of the configured remote. */
  remote: string;
  /** Repository name on the upstream (with `library/` added for Hub). */
  name: string;
  /** The name part of the client's path, e.g. `docker.io/alpine` in the path-prefix layout. */
  clientPath: string;
  /** The client's `ns`, repeated in rewritten links. */
  ns: string | undefined;
}

/** Canonical form of a registry host for matching (`Docker Hub` has several names). */
export function canonicalHost(host: string): string {
  const h = host.toLowerCase();
  return HUB_ALIASES.has(h) ? 'docker.io' : h;
}

export function isHubHost(host: string): boolean {
  return canonicalHost(host) === 'docker.io';
}

/** Whether `ref` is a well-formed digest (sha256 or sha512, lower-case hex). */
export function isDigest(ref: string): boolean {
  return DIGEST.test(ref);
}

/** Validates a digest from a path; `sha256:totallywrong` is answered here, never upstream. */
export function checkDigest(ref: string): string {
  if (!DIGEST.test(ref)) throw ociError('DIGEST_INVALID', `invalid digest ${JSON.stringify(ref.slice(0, 140))}`);
  return ref;
}

/** Validates a manifest reference: a digest when it has a colon, else a tag. */
export function checkReference(ref: string): { reference: string; byDigest: boolean } {
  if (ref.includes(':')) return { reference: checkDigest(ref), byDigest: true };
  if (!TAG.test(ref)) throw ociError('TAG_INVALID', `invalid tag ${JSON.stringify(ref.slice(0, 140))}`);
  return { reference: ref, byDigest: false };
}

export function checkName(name: string): string {
  if (name.length > 255 || !NAME.test(name))
    throw ociError('NAME_INVALID', `invalid repository name ${JSON.stringify(name.slice(0, 140))}`);
  return name;
}

/** Maps registry hosts to remote names and knows the default remote. */
export class RemoteTable {
  private readonly byHost = new Map<string, string>();
  private readonly hostOf = new Map<string, string>();

  /** @param remotes remote name → registry host, in config order */
  constructor(
    remotes: Iterable<[string, string]>,
    private readonly defaultRemote: string | undefined,
  ) {
    for (const [name, host] of remotes) {
      const h = canonicalHost(host);
      if (!this.byHost.has(h)) this.byHost.set(h, name);
      this.hostOf.set(name, h);
    }
  }

  remoteForHost(host: string): string | undefined {
    return this.byHost.get(canonicalHost(host));
  }

  /** Picks remote and upstream name for `name` as the client wrote it. */
  target(clientPath: string, ns: string | undefined): RepoTarget {
    let remote: string | undefined;
    let rest = clientPath;
    const slash = clientPath.indexOf('/');
    const first = slash > 0 ? this.remoteForHost(clientPath.slice(0, slash)) : undefined;
    if (ns) {
      remote = this.remoteForHost(ns);
      if (!remote) throw ociError('NAME_UNKNOWN', `no remote is configured for registry ${ns.slice(0, 100)}`);
      // A mirror path prefix naming the same registry as `ns` (containerd with override_path).
      if (first === remote) rest = clientPath.slice(slash + 1);
    } else if (first) {
      remote = first;
      rest = clientPath.slice(slash + 1);
    } else {
      remote = this.defaultRemote;
    }
    if (!remote || !this.hostOf.has(remote)) throw ociError('NAME_UNKNOWN', 'no OCI remote is configured');
    let name = checkName(rest);
    if (this.hostOf.get(remote) === 'docker.io' && !name.includes('/')) name = `library/${name}`;
    return { remote, name, clientPath, ns };
  }
}

function decodeRef(ref: string): string {
  try {
    return decodeURIComponent(ref);
  } catch {
    throw ociError('TAG_INVALID', `invalid reference ${JSON.stringify(ref.slice(0, 140))}`);
  }
}

/** Parses a path below `/v2` (e.g. `/library/alpine/manifests/3`) into a route. */
export function parseRoute(method: string, path: string, ns: string | undefined, table: RemoteTable): OciRoute {
  const read = method === 'GET' || method === 'HEAD';
  if (path === '/' || path === '') return read ? { kind: 'base' } : { kind: 'write', what: 'the API root' };
  if (/\/blobs\/uploads(\/.*)?$/.test(path)) return { kind: 'write', what: 'blob uploads' };
  if (!read) return { kind: 'write', what: `${method} requests` };
  let m = /^\/(.+)\/(manifests|blobs|referrers)\/([^/]+)$/.exec(path);
  if (m) {
    const [, clientPath, what, ref] = m as unknown as [string, string, string, string];
    const reference = decodeRef(ref);
    if (what === 'manifests') {
      const checked = checkReference(reference);
      return { kind: 'manifest', target: table.target(clientPath, ns), ...checked };
    }
    const digest = checkDigest(reference);
    const target = table.target(clientPath, ns);
    return what === 'blobs' ? { kind: 'blob', target, digest } : { kind: 'referrers', target, digest };
  }
  m = /^\/(.+)\/tags\/list$/.exec(path);
  if (m) return { kind: 'tags', target: table.target(m[1]!, ns) };
  throw ociError('NAME_UNKNOWN', `unknown registry endpoint ${path.slice(0, 140)}`);
}
