/** The `cargo:<name>@<version>` reference scheme (an exact version: `.crate` files never change). */
import { badRef, type Ref, type RefScheme } from '../../core/refs.js';
import { isCrateName, isCrateVersion } from './names.js';

export interface CargoRef extends Ref {
  readonly protocol: 'cargo';
  name: string;
  version: string;
}

export const cargoRefs: RefScheme<CargoRef> = {
  scheme: 'cargo',
  usage: 'cargo:<name>@<version>',
  parse(body, raw) {
    const at = body.lastIndexOf('@');
    if (at <= 0) throw badRef(raw, 'expected cargo:<name>@<version>');
    const name = body.slice(0, at);
    const version = body.slice(at + 1);
    if (!isCrateName(name)) throw badRef(raw, `"${name}" is not a crate name (ASCII letters, digits, - and _)`);
    if (!isCrateVersion(version)) throw badRef(raw, `"${version}" is not an exact version like 1.0.2`);
    return { protocol: 'cargo', raw, name, version };
  },
  format: (r) => `cargo:${r.name}@${r.version}`,
  isMutable: () => false,
};
