/**
 * Cargo's part of the config: remotes of `type: cargo` (`url` is the root
 * of a sparse index, the folder holding `config.json`) and the `cargo:`
 * routing section. In a mirror hierarchy remote R resolves through
 * `<parent>/cargo/R/index/`; the parent's `config.json` then sends the
 * `.crate` downloads to the parent too.
 */
import { z } from 'zod';
import { defaultNamed, defaultOnlySection, remoteFields } from '../../config/fields.js';
import type { ConfigSection, RemoteConfig, RemoteKind } from '../contract.js';

export const CargoRemoteSchema = z.object({ type: z.literal('cargo'), ...remoteFields }).strict();
export type CargoRemoteConfig = z.output<typeof CargoRemoteSchema>;

export const isCargoRemote = (c: RemoteConfig): c is CargoRemoteConfig => c.type === 'cargo';

export const cargoRemote: RemoteKind<CargoRemoteConfig> = {
  type: 'cargo',
  schema: CargoRemoteSchema,
  parentPrefixes: (name, _config, base, parent) => [
    { upstream: base.toString(), parent: new URL(`cargo/${name}/index/`, parent).toString() },
  ],
};

export const cargoSection: ConfigSection = { key: 'cargo', schema: defaultOnlySection, remotesNamed: defaultNamed('cargo') };
