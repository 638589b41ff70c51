/**
 * npm lockfiles as pre-warm plans, each entry keeping its own integrity so
 * the tarball is verified against it: package-lock.json / npm-shrinkwrap.json
 * (v2/v3), pnpm-lock.yaml, yarn.lock (v1 and berry). Uses yarn's own
 * parsers and `yaml`.
 */
import { createRequire } from 'node:module';
import type * as YarnLockfile from '@yarnpkg/lockfile';
import type * as YarnParsers from '@yarnpkg/parsers';
import { parseAllDocuments } from 'yaml';
import { parseSri } from '../../core/digest.js';
import { LarderError } from '../../core/errors.js';
import type { LockfilePlanner, PlannedItem } from '../contract.js';

// yarn's parsers are loaded on the first yarn.lock: loaded at start they were 2 MB of the
// daemon's live heap for good (code and tables), which V8 multiplies into its heap limit.
const require = createRequire(import.meta.url);
let yarnV1: typeof YarnLockfile | undefined;
let yarnBerry: typeof YarnParsers | undefined;

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function npmItem(name: string, version: string, integrity: unknown): PlannedItem {
  const item: PlannedItem = { ref: `npm:${name}@${version}` };
  if (typeof integrity === 'string') {
    const sri = parseSri(integrity);
    if (sri.length) item.expect = [sri.find((d) => d.algo === 'sha512') ?? sri[0]!];
  }
  return item;
}

function packageLock(text: string): PlannedItem[] {
  const doc = JSON.parse(text) as Json;
  const packages = isObj(doc.packages) ? doc.packages : undefined;
  if (!packages) throw new LarderError('E_BAD_REQUEST', 'package-lock.json: only lockfileVersion 2 and 3 (with "packages") are supported');
  const out: PlannedItem[] = [];
  for (const [path, entry] of Object.entries(packages)) {
    if (!path.includes('node_modules/') || !isObj(entry) || entry.link === true || typeof entry.version !== 'string') continue;
    if (typeof entry.resolved === 'string' && !/^https?:/.test(entry.resolved)) continue;
    const name = typeof entry.name === 'string' ? entry.name : path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    out.push(npmItem(name, entry.version, entry.integrity));
  }
  return out;
}

function pnpmLock(text: string): PlannedItem[] {
  const [doc] = parseAllDocuments(text).map((d) => d.toJS() as Json);
  const packages = doc && isObj(doc.packages) ? doc.packages : {};
  const out: PlannedItem[] = [];
  for (const [key, entry] of Object.entries(packages)) {
    const m = /^\/?((?:@[^/@]+\/)?[^/@(]+)[@/]([^(@/]+)/.exec(key);
    if (!m) continue;
    const resolution = isObj(entry) && isObj(entry.resolution) ? entry.resolution : {};
    out.push(npmItem(m[1]!, m[2]!, resolution.integrity));
  }
  return out;
}

function yarnLock(text: string): PlannedItem[] {
  const out: PlannedItem[] = [];
  if (/^__metadata:/m.test(text)) {
    yarnBerry ??= require('@yarnpkg/parsers') as typeof YarnParsers;
    const doc = yarnBerry.parseSyml(text) as Json;
    for (const [key, entry] of Object.entries(doc)) {
      if (key === '__metadata' || !isObj(entry) || typeof entry.resolution !== 'string') continue;
      const m = /^((?:@[^/@]+\/)?[^@]+)@npm:(.+)$/.exec(entry.resolution);
      if (m) out.push({ ref: `npm:${m[1]}@${m[2]}` });
    }
    return out;
  }
  yarnV1 ??= require('@yarnpkg/lockfile') as typeof YarnLockfile;
  const parsed = yarnV1.parse(text);
  if (parsed.type !== 'success') throw new LarderError('E_BAD_REQUEST', 'yarn.lock: cannot parse (merge conflict?)');
  const seen = new Set<string>();
  for (const [key, entry] of Object.entries(parsed.object as unknown as Record<string, Json>)) {
    const name = key.slice(0, key.lastIndexOf('@'));
    const version = entry.version;
    if (!name || typeof version !== 'string' || seen.has(`${name}@${version}`)) continue;
    seen.add(`${name}@${version}`);
    out.push(npmItem(name, version, entry.integrity));
  }
  return out;
}

export const npmPlanners: readonly LockfilePlanner[] = [
  { reads: 'package-lock.json', matches: (b) => b === 'package-lock.json' || b === 'npm-shrinkwrap.json', plan: packageLock },
  { reads: 'pnpm-lock.yaml', matches: (b) => b === 'pnpm-lock.yaml', plan: pnpmLock },
  { reads: 'yarn.lock', matches: (b) => b === 'yarn.lock', plan: yarnLock },
];
