/** The `go:<module>@<version>` reference scheme. */
import { badRef, type Ref, type RefScheme } from '../../core/refs.js';

export interface GoRef extends Ref {
  readonly protocol: 'go';
  module: string;
  version: string;
}

const GO_MODULE = /^[A-Za-z0-9.~_-]+(?:\/[A-Za-z0-9.~_+-]+)*$/;
const GO_VERSION = /^v\d+\.\d+\.\d+[A-Za-z0-9.+-]*$/;

export const goRefs: RefScheme<GoRef> = {
  scheme: 'go',
  usage: 'go:<module>@<version>',
  parse(body, raw) {
    const at = body.lastIndexOf('@');
    if (at <= 0) throw badRef(raw, 'expected go:<module>@<version>');
    const module = body.slice(0, at);
    const version = body.slice(at + 1);
    if (!GO_MODULE.test(module) || module.includes('..')) throw badRef(raw, `"${module}" is not a valid module path`);
    if (!GO_VERSION.test(version)) throw badRef(raw, `"${version}" is not a semantic version like v1.2.3`);
    return { protocol: 'go', raw, module, version };
  },
  format: (r) => `go:${r.module}@${r.version}`,
  isMutable: () => false,
};
