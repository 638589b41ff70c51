/**
 * `.crate` files for tests, built as cargo packs them: a gzip'd tar whose
 * entries sit below `<name>-<version>/` (Cargo.toml and src/lib.rs), with
 * the index line a registry publishes for it (deps, features, `cksum`).
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { fileHeader, padding, trailer } from '../../../daemon/bundle/ustar.js';

export interface CrateDep {
  name: string;
  req: string;
}

export interface CrateSpec {
  name: string;
  version: string;
  deps?: CrateDep[];
  /** Source of src/lib.rs. */
  lib: string;
  yanked?: boolean;
}

export interface BuiltCrate {
  name: string;
  version: string;
  body: Buffer;
  cksum: string;
  /** The crate's line in its index file (JSON). */
  line: string;
}

/** A fixed mtime keeps the bytes (and the cksum) of a crate the same across runs. */
const MTIME = Date.UTC(2024, 0, 1);

function tar(files: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, text] of Object.entries(files)) {
    const body = Buffer.from(text);
    parts.push(fileHeader(name, body.length, MTIME), body, padding(body.length));
  }
  parts.push(trailer());
  return Buffer.concat(parts);
}

export function buildCrate(spec: CrateSpec): BuiltCrate {
  const deps = spec.deps ?? [];
  const manifest =
    `[package]\nname = "${spec.name}"\nversion = "${spec.version}"\nedition = "2021"\n` +
    `\n[dependencies]\n${deps.map((d) => `${d.name} = "${d.req}"\n`).join('')}`;
  const root = `${spec.name}-${spec.version}`;
  const body = gzipSync(tar({ [`${root}/Cargo.toml`]: manifest, [`${root}/src/lib.rs`]: spec.lib }), { level: 9 });
  const cksum = createHash('sha256').update(body).digest('hex');
  const line = JSON.stringify({
    name: spec.name,
    vers: spec.version,
    deps: deps.map((d) => ({
      name: d.name,
      req: d.req,
      features: [],
      optional: false,
      default_features: true,
      target: null,
      kind: 'normal',
    })),
    cksum,
    features: {},
    yanked: spec.yanked === true,
  });
  return { name: spec.name, version: spec.version, body, cksum, line };
}
