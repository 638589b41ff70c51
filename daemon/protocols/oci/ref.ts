/**
 * The `oci:` reference scheme: `oci:<host>/<repo>:<tag>[ <platform>]` or
 * `oci:<host>/<repo>@<digest>`, and Docker's short image names normalized
 * into it (for compose files, manifests and Dockerfiles).
 */
import { badRef, type Ref, type RefScheme } from '../../core/refs.js';

export interface OciRef extends Ref {
  readonly protocol: 'oci';
  host: string;
  repo: string;
  tag?: string;
  digest?: string;
  platform?: string;
}

const OCI_REPO = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const OCI_HOST = /^[A-Za-z0-9.-]+(?::\d{1,5})?$/;
const OCI_TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const PLATFORM = /^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/;

function parse(body: string, raw: string): OciRef {
  const [image = '', platform, extra] = body.split(/\s+/);
  if (extra !== undefined) throw badRef(raw, 'expected at most one platform after the image');
  if (platform !== undefined && !PLATFORM.test(platform)) throw badRef(raw, `"${platform}" is not a platform like linux/amd64`);
  const slash = image.indexOf('/');
  if (slash < 0) throw badRef(raw, 'expected oci:<host>/<repo>:<tag> or oci:<host>/<repo>@<digest>');
  const host = image.slice(0, slash);
  let rest = image.slice(slash + 1);
  let digest: string | undefined;
  let tag: string | undefined;
  const atIdx = rest.indexOf('@');
  if (atIdx >= 0) {
    digest = rest.slice(atIdx + 1);
    rest = rest.slice(0, atIdx);
    if (!DIGEST.test(digest)) throw badRef(raw, `"${digest}" is not a sha256 digest`);
  } else {
    const c = rest.lastIndexOf(':');
    if (c < 0) throw badRef(raw, 'expected a :tag or @digest');
    tag = rest.slice(c + 1);
    rest = rest.slice(0, c);
    if (!OCI_TAG.test(tag)) throw badRef(raw, `"${tag}" is not a valid tag`);
  }
  if (!OCI_HOST.test(host) || (!host.includes('.') && !host.includes(':') && host !== 'localhost')) {
    throw badRef(raw, `"${host}" is not a registry host (it needs a dot or a port, e.g. docker.io)`);
  }
  if (!OCI_REPO.test(rest)) throw badRef(raw, `"${rest}" is not a valid repository name`);
  const ref: OciRef = { protocol: 'oci', raw, host, repo: rest };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  if (platform !== undefined) ref.platform = platform;
  return ref;
}

export const ociRefs: RefScheme<OciRef> = {
  scheme: 'oci',
  usage: 'oci:<host>/<repo>:<tag>|@<digest>',
  parse,
  format: (r) => `oci:${r.host}/${r.repo}${r.digest ? `@${r.digest}` : `:${r.tag ?? 'latest'}`}${r.platform ? ` ${r.platform}` : ''}`,
  isMutable: (r) => r.digest === undefined,
};

/** Normalizes an image reference the way Docker does (docker.io, library/, :latest). */
export function imageRef(image: string): string | undefined {
  const clean = image.trim().replace(/^docker:\/\//, '');
  if (!clean || clean.includes('$')) return undefined;
  const [namePart, digest] = clean.split('@');
  let name = namePart!;
  let tag = 'latest';
  const lastColon = name.lastIndexOf(':');
  if (lastColon > name.lastIndexOf('/')) {
    tag = name.slice(lastColon + 1);
    name = name.slice(0, lastColon);
  }
  const first = name.split('/')[0]!;
  const hasHost = name.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (!hasHost) name = `docker.io/${name.includes('/') ? name : `library/${name}`}`;
  return digest ? `oci:${name}@${digest}` : `oci:${name}:${tag}`;
}
