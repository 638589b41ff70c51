/**
 * The OCI distribution protocol at `/v2/` (a registry mirror, and
 * `/v2/<host>/…` for any configured registry), `oci:` references, images
 * named by compose files, Kubernetes manifests and Dockerfiles, and scrub
 * repair of blobs, manifests and tags.
 */
import type { Protocol } from '../contract.js';
import { OciAdapter } from './adapter.js';
import { ociRemote, ociSection } from './config.js';
import { ociPlanners } from './lockfiles.js';
import { ociRefs } from './ref.js';
import { OciWarmer } from './warmer.js';

export const ociProtocol: Protocol = {
  name: 'oci',
  remotes: [ociRemote],
  section: ociSection,
  mounts: ['/v2'],
  refs: ociRefs,
  planners: ociPlanners,
  defaultRemotes: { dockerhub: { type: 'oci', url: 'https://registry-1.docker.io', host: 'docker.io' } },
  create(s) {
    const adapter = new OciAdapter({
      remotes: s.remotes,
      defaultRemote: s.defaultRemote,
      documents: s.documents,
      blobs: s.blobs,
      clock: s.clock,
    });
    return { adapter, warmer: new OciWarmer(adapter), repair: (entry) => adapter.repair(entry) };
  },
};
