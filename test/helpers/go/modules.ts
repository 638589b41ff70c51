/**
 * Go module fixtures: writes a GOPROXY directory (a static tree is a valid
 * proxy) with `list`, `.info`, `.mod` and `.zip` files in the exact layout Go
 * expects (every zip entry under `<module>@<version>/`, paths case-encoded on
 * disk), and computes the `h1:` hashes go.sum needs (dirhash Hash1).
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { storedZip } from '../stored-zip.js';

export interface ModuleSpec {
  path: string;
  version: string;
  /** Files of the module, relative to its root; go.mod is generated when absent. */
  files?: Record<string, string>;
  time?: string;
}

export interface BuiltModule {
  path: string;
  version: string;
  zip: Buffer;
  mod: Buffer;
  info: Buffer;
  /** `h1:` of the zip's contents and of the go.mod alone. */
  zipHash: string;
  modHash: string;
}

/** Go's case encoding: `A` → `!a`. */
export function escapeCase(s: string): string {
  return s.replace(/[A-Z]/g, (c) => `!${c.toLowerCase()}`);
}

/** dirhash.Hash1: sha256 over "<sha256 hex>  <name>\n" lines of the sorted files. */
export function hash1(files: Array<[string, Buffer]>): string {
  const summary = [...files]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, data]) => `${createHash('sha256').update(data).digest('hex')}  ${name}\n`)
    .join('');
  return `h1:${createHash('sha256').update(summary).digest('base64')}`;
}

export function buildModule(spec: ModuleSpec): BuiltModule {
  const files = { 'go.mod': `module ${spec.path}\n\ngo 1.19\n`, ...(spec.files ?? {}) };
  const prefix = `${spec.path}@${spec.version}/`;
  const entries: Array<[string, Buffer]> = Object.entries(files).map(([name, text]) => [`${prefix}${name}`, Buffer.from(text)]);
  const mod = Buffer.from(files['go.mod']);
  return {
    path: spec.path,
    version: spec.version,
    zip: storedZip(entries),
    mod,
    info: Buffer.from(JSON.stringify({ Version: spec.version, Time: spec.time ?? '2024-01-02T03:04:05Z' })),
    zipHash: hash1(entries),
    modHash: hash1([['go.mod', mod]]),
  };
}

/** Writes modules into a GOPROXY directory; `list` holds each module's versions. */
export async function writeProxyDir(dir: string, mods: BuiltModule[]): Promise<void> {
  const versions = new Map<string, string[]>();
  for (const m of mods) {
    const at = join(dir, escapeCase(m.path), '@v');
    await mkdir(at, { recursive: true });
    const v = escapeCase(m.version);
    await writeFile(join(at, `${v}.zip`), m.zip);
    await writeFile(join(at, `${v}.mod`), m.mod);
    await writeFile(join(at, `${v}.info`), m.info);
    versions.set(m.path, [...(versions.get(m.path) ?? []), m.version]);
  }
  for (const [path, list] of versions) await writeFile(join(dir, escapeCase(path), '@v', 'list'), list.map((v) => `${v}\n`).join(''));
}

/** go.sum lines for modules. */
export function goSum(mods: BuiltModule[]): string {
  return mods.map((m) => `${m.path} ${m.version} ${m.zipHash}\n${m.path} ${m.version}/go.mod ${m.modHash}\n`).join('');
}
