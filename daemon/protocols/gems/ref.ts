/** The `gems:<name>@<version>[-<platform>]` reference scheme (exact versions: they never move). */
import { badRef, type Ref, type RefScheme } from '../../core/refs.js';
import { isGemName, isGemStem } from './names.js';

export interface GemsRef extends Ref {
  readonly protocol: 'gems';
  name: string;
  /** `<version>` or `<version>-<platform>` (the platform part of a native gem's file name). */
  version: string;
}

const VERSION = /^[0-9][0-9A-Za-z.]*(?:-[A-Za-z0-9_.-]+)?$/;

export const gemsRefs: RefScheme<GemsRef> = {
  scheme: 'gems',
  usage: 'gems:<name>@<version>[-<platform>]',
  parse(body, raw) {
    const at = body.lastIndexOf('@');
    if (at <= 0) throw badRef(raw, 'expected gems:<name>@<version>');
    const name = body.slice(0, at);
    const version = body.slice(at + 1);
    if (!isGemName(name)) throw badRef(raw, `"${name}" is not a valid gem name`);
    if (!VERSION.test(version) || !isGemStem(`${name}-${version}`)) throw badRef(raw, `"${version}" is not an exact gem version`);
    return { protocol: 'gems', raw, name, version };
  },
  format: (r) => `gems:${r.name}@${r.version}`,
  isMutable: () => false,
};
