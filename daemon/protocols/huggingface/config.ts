/**
 * The Hugging Face Hub's part of the config: remotes of `type: huggingface`
 * (the Hub's base URL, e.g. https://huggingface.co) and the `huggingface:`
 * routing section. In a mirror hierarchy remote R resolves through
 * `<parent>/hf/R/`. A remote's `auth` is never used: only public files are
 * fetched anonymously, and a gated file only with the requesting client's
 * own token (see files.ts).
 */
import { z } from 'zod';
import { defaultNamed, defaultOnlySection, remoteFields } from '../../config/fields.js';
import type { ConfigSection, RemoteConfig, RemoteKind } from '../contract.js';

export const HfRemoteSchema = z.object({ type: z.literal('huggingface'), ...remoteFields }).strict();
export type HfRemoteConfig = z.output<typeof HfRemoteSchema>;

export const isHfRemote = (c: RemoteConfig): c is HfRemoteConfig => c.type === 'huggingface';

export const hfRemote: RemoteKind<HfRemoteConfig> = {
  type: 'huggingface',
  schema: HfRemoteSchema,
  parentPrefixes: (name, _config, base, parent) => [{ upstream: base.toString(), parent: new URL(`hf/${name}/`, parent).toString() }],
};

export const hfSection: ConfigSection = { key: 'huggingface', schema: defaultOnlySection, remotesNamed: defaultNamed('huggingface') };
