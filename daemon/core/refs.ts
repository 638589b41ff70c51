/**
 * The reference grammar used by the admin API, the CLI and pin files:
 *
 *   npm:<name>@<version|range|tag>        npm:@corp/ui@^2.1.0
 *   oci:<host>/<repo>:<tag>[ platform]    oci:docker.io/library/alpine:3.20 linux/arm64
 *   oci:<host>/<repo>@<digest>
 *   pypi:<name>==<version>
 *   go:<module>@<version>
 *   url:<remote>/<path>
 *
 * Errors name the reference and say what is wrong.
 */
import { LarderError } from './errors.js';

export type Ref =
  | { protocol: 'npm'; raw: string; name: string; spec: string }
  | { protocol: 'oci'; raw: string; host: string; repo: string; tag?: string; digest?: string; platform?: string }
  | { protocol: 'pypi'; raw: string; name: string; version: string }
  | { protocol: 'go'; raw: string; module: string; version: string }
  | { protocol: 'url'; raw: string; remote: string; path: string };

const NPM_NAME = /^(?:@[a-z0-9_~-][a-z0-9._~-]*\/)?[A-Za-z0-9_~-][A-Za-z0-9._~-]*$/;
const OCI_REPO = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const OCI_HOST = /^[A-Za-z0-9.-]+(?::\d{1,5})?$/;
const OCI_TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const PLATFORM = /^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/;
const PYPI_NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/;
const GO_MODULE = /^[A-Za-z0-9.~_-]+(?:\/[A-Za-z0-9.~_+-]+)*$/;
const GO_VERSION = /^v\d+\.\d+\.\d+[A-Za-z0-9.+-]*$/;
const REMOTE = /^[a-z0-9][a-z0-9_-]{0,62}$/;

function bad(raw: string, why: string): LarderError {
  return new LarderError('E_BAD_REQUEST', `invalid reference ${JSON.stringify(raw.slice(0, 200))}: ${why}`);
}

/** Whether a parsed reference can move upstream (tags, dist-tags, ranges). */
export function isMutable(ref: Ref): boolean {
  switch (ref.protocol) {
    case 'npm':
      return !/^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?$/.test(ref.spec);
    case 'oci':
      return ref.digest === undefined;
    case 'url':
      return true;
    default:
      return false;
  }
}

export function parseRef(input: string): Ref {
  const raw = input.trim();
  if (raw.length === 0) throw bad(input, 'it is empty');
  if (raw.length > 1024) throw bad(raw, 'it is longer than 1024 characters');
  const colon = raw.indexOf(':');
  if (colon < 0) throw bad(raw, 'expected a protocol prefix: npm:, oci:, pypi:, go: or url:');
  const protocol = raw.slice(0, colon);
  const body = raw.slice(colon + 1);
  switch (protocol) {
    case 'npm': {
      const at = body.lastIndexOf('@');
      if (at <= 0) throw bad(raw, 'expected npm:<name>@<version|range|tag>');
      const name = body.slice(0, at);
      const spec = body.slice(at + 1).trim();
      if (!NPM_NAME.test(name) || name.length > 214) throw bad(raw, `"${name}" is not a valid npm package name`);
      if (!spec || /[\s]{2,}|[\u0000-\u001f]/.test(spec)) throw bad(raw, 'expected a version, range or tag after @');
      return { protocol, raw, name, spec };
    }
    case 'oci': {
      const [image = '', platform, extra] = body.split(/\s+/);
      if (extra !== undefined) throw bad(raw, 'expected at most one platform after the image');
      if (platform !== undefined && !PLATFORM.test(platform)) throw bad(raw, `"${platform}" is not a platform like linux/amd64`);
      const slash = image.indexOf('/');
      if (slash < 0) throw bad(raw, 'expected oci:<host>/<repo>:<tag> or oci:<host>/<repo>@<digest>');
      const host = image.slice(0, slash);
      let rest = image.slice(slash + 1);
      let digest: string | undefined;
      let tag: string | undefined;
      const atIdx = rest.indexOf('@');
      if (atIdx >= 0) {
        digest = rest.slice(atIdx + 1);
        rest = rest.slice(0, atIdx);
        if (!DIGEST.test(digest)) throw bad(raw, `"${digest}" is not a sha256 digest`);
      } else {
        const c = rest.lastIndexOf(':');
        if (c < 0) throw bad(raw, 'expected a :tag or @digest');
        tag = rest.slice(c + 1);
        rest = rest.slice(0, c);
        if (!OCI_TAG.test(tag)) throw bad(raw, `"${tag}" is not a valid tag`);
      }
      if (!OCI_HOST.test(host) || !host.includes('.') && !host.includes(':') && host !== 'localhost') {
        throw bad(raw, `"${host}" is not a registry host (it needs a dot or a port, e.g. docker.io)`);
      }
      if (!OCI_REPO.test(rest)) throw bad(raw, `"${rest}" is not a valid repository name`);
      const ref: Ref = { protocol, raw, host, repo: rest };
      if (tag !== undefined) ref.tag = tag;
      if (digest !== undefined) ref.digest = digest;
      if (platform !== undefined) ref.platform = platform;
      return ref;
    }
    case 'pypi': {
      const m = /^([^=\s]+)==([^=\s]+)$/.exec(body);
      if (!m) throw bad(raw, 'expected pypi:<name>==<version>');
      if (!PYPI_NAME.test(m[1]!)) throw bad(raw, `"${m[1]}" is not a valid project name`);
      return { protocol, raw, name: m[1]!, version: m[2]! };
    }
    case 'go': {
      const at = body.lastIndexOf('@');
      if (at <= 0) throw bad(raw, 'expected go:<module>@<version>');
      const module = body.slice(0, at);
      const version = body.slice(at + 1);
      if (!GO_MODULE.test(module) || module.includes('..')) throw bad(raw, `"${module}" is not a valid module path`);
      if (!GO_VERSION.test(version)) throw bad(raw, `"${version}" is not a semantic version like v1.2.3`);
      return { protocol, raw, module, version };
    }
    case 'url': {
      const slash = body.indexOf('/');
      if (slash <= 0) throw bad(raw, 'expected url:<remote>/<path>');
      const remote = body.slice(0, slash);
      const path = body.slice(slash + 1);
      if (!REMOTE.test(remote)) throw bad(raw, `"${remote}" is not a remote name`);
      if (!path || path.split('/').some((s) => s === '..' || s === '.')) throw bad(raw, 'the path must not be empty or contain . or .. segments');
      return { protocol, raw, remote, path };
    }
    default:
      throw bad(raw, `unknown protocol "${protocol}" (expected npm, oci, pypi, go or url)`);
  }
}
