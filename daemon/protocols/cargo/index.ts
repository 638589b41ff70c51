/**
 * The Cargo sparse registry protocol at `/cargo/index/` (`/cargo/<remote>/index/`
 * for a named remote), downloads at `/cargo/<remote>/dl/`, `cargo:`
 * references, Cargo.lock, and scrub repair of `.crate` files.
 */
import { refill } from '../../core/warm.js';
import { metaText, type Protocol } from '../contract.js';
import { CargoAdapter } from './adapter.js';
import { cargoRemote, cargoSection } from './config.js';
import { cargoPlanners } from './lockfiles.js';
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
    };
  },
};
