/**
 * What the policy asks the npm protocol outside a client request: the
 * publish time of one version (`larder policy explain npm:foo@1.2.3`), read
 * from the cached packument's derived `time` form (the upstream is asked
 * only when the cached packument is not fresh), and which package version
 * a cached tarball holds (the blocklist quarantine walks the cache with it).
 */
import type { DocumentCache } from '../../core/document-cache.js';
import { LarderError } from '../../core/errors.js';
import type { Entry } from '../../core/types.js';
import { metaText, type PolicyHooks } from '../contract.js';
import type { NpmAdapter } from './adapter.js';
import { tarballVersion } from './policy.js';
import { npmRefs } from './ref.js';

const EXACT = /^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?$/;

/** The tarball file name of a version (`foo-1.2.3.tgz` for `foo` and `@s/foo`). */
function tarballFile(name: string, version: string): string {
  return `${name.slice(name.lastIndexOf('/') + 1)}-${version}.tgz`;
}

export function npmPolicyHooks(adapter: NpmAdapter, documents: DocumentCache): PolicyHooks {
  return {
    ecosystem: 'npm',
    async subject(ref) {
      const body = ref.startsWith('npm:') ? ref.slice('npm:'.length) : ref;
      const { name, spec } = npmRefs.parse(body, ref);
      if (!EXACT.test(spec)) throw new LarderError('E_BAD_REQUEST', `${ref}: explain needs an exact version (npm:<name>@<x.y.z>)`);
      const remote = adapter.docs.documentKey(name).split(':')[1] ?? '';
      const served = await adapter.docs.document(name);
      const timeRef = served.entry.variants?.time;
      const times = timeRef ? (JSON.parse((await documents.variant(timeRef)).toString('utf8')) as Record<string, number | null>) : {};
      if (!Object.hasOwn(times, spec)) throw new LarderError('E_NOT_FOUND', `${name} has no version ${spec} upstream`);
      return {
        remote,
        name,
        version: spec,
        published: times[spec] ?? undefined,
        keys: [adapter.tarballKey(name, tarballFile(name, spec))],
      };
    },
    artifact(entry: Entry) {
      const name = metaText(entry, 'name');
      const file = metaText(entry, 'file');
      const version = name && file ? tarballVersion(name, file) : undefined;
      return name && version ? { name, version } : undefined;
    },
  };
}
