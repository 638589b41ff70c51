/**
 * The Cargo sparse registry protocol at `/cargo/index/` (`/cargo/<remote>/index/`
 * for a named remote), downloads at `/cargo/<remote>/dl/`, `cargo:`
 * references, Cargo.lock, and scrub repair of `.crate` files.
 */
import { LarderError } from '../../core/errors.js';
import { refill } from '../../core/warm.js';
import { metaText, type Protocol } from '../contract.js';
import { CargoAdapter } from './adapter.js';
import { cargoRemote, cargoSection } from './config.js';
import { cargoPlanners } from './lockfiles.js';
import { CARGO_ECOSYSTEM, CargoPolicy } from './policy.js';
import { cargoRefs } from './ref.js';
import { CargoWarmer } from './warmer.js';

export const cargoProtocol: Protocol = {
  name: 'cargo',
  remotes: [cargoRemote],
  section: cargoSection,
  mounts: ['/cargo'],
  refs: cargoRefs,
  planners: cargoPlanners,
  defaultRemotes: { 'crates-io': { type: 'cargo', url: 'https://index.crates.io/' } },
  create(s) {
    const adapter = new CargoAdapter({
      remotes: s.remotes,
      defaultRemote: s.defaultRemote,
      publicUrl: s.publicUrl,
      documents: s.documents,
      blobs: s.blobs,
      policy: new CargoPolicy(s.policy),
    });
    return {
      adapter,
      warmer: new CargoWarmer(adapter),
      async repair(entry) {
        const crate = metaText(entry, 'crate');
        const version = metaText(entry, 'version');
        if (!crate || !version) return false;
        return refill(await adapter.crateBlob(crate, version, metaText(entry, 'remote')), () => s.indexed(entry.key));
      },
      policy: {
        ecosystem: CARGO_ECOSYSTEM,
        async subject(ref) {
          const r = cargoRefs.parse(ref.startsWith('cargo:') ? ref.slice('cargo:'.length) : ref, ref);
          const key = adapter.crateKey(r.name, r.version);
          const v = await adapter.versions(r.name);
          if (!Object.hasOwn(v.cksums, r.version)) throw new LarderError('E_NOT_FOUND', `${r.name} has no version ${r.version} upstream`);
          return { remote: key.split(':')[1] ?? '', name: v.name, version: r.version, published: v.published[r.version], keys: [key] };
        },
        artifact(entry) {
          const crate = metaText(entry, 'crate');
          const version = metaText(entry, 'version');
          return crate && version ? { name: crate, version } : undefined;
        },
      },
    };
  },
};
