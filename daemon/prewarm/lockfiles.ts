/**
 * Reads lockfiles and manifests into references to warm, keeping each
 * lockfile's own hash so the artifact is verified against it:
 * package-lock.json (v2/v3), pnpm-lock.yaml, yarn.lock (v1 and berry),
 * requirements.txt (--hash), go.sum, docker-compose.yml, Kubernetes
 * manifests and Dockerfile FROM lines. Uses yarn's own parsers and `yaml`.
 */
import yarnLockfile from '@yarnpkg/lockfile';
import { parseSyml } from '@yarnpkg/parsers';
import { parseAllDocuments } from 'yaml';
import { LarderError } from '../core/errors.js';
import { parseSri } from '../core/digest.js';
import type { ExpectedDigest } from '../core/types.js';

export interface PlannedItem {
  ref: string;
  expect?: ExpectedDigest[];
  /** Expand npm dependency ranges (default: the job's setting). A lockfile already lists its whole tree, pinned. */
  deps?: boolean;
}

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
    const doc = parseSyml(text) as Json;
    for (const [key, entry] of Object.entries(doc)) {
      if (key === '__metadata' || !isObj(entry) || typeof entry.resolution !== 'string') continue;
      const m = /^((?:@[^/@]+\/)?[^@]+)@npm:(.+)$/.exec(entry.resolution);
      if (m) out.push({ ref: `npm:${m[1]}@${m[2]}` });
    }
    return out;
  }
  const parsed = yarnLockfile.parse(text);
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

function requirements(text: string): PlannedItem[] {
  const out: PlannedItem[] = [];
  for (const logical of text.replace(/\\\r?\n/g, ' ').split(/\r?\n/)) {
    const line = logical.replace(/(^|\s)#.*$/, '').trim();
    if (!line || line.startsWith('-')) continue;
    const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*==\s*([A-Za-z0-9.+!_-]+)/.exec(line);
    if (!m) continue;
    const hashes = [...line.matchAll(/--hash[=\s]+sha256:([0-9a-f]{64})/g)].map((h) => ({ algo: 'sha256' as const, hex: h[1]! }));
    const item: PlannedItem = { ref: `pypi:${m[1]}==${m[2]}` };
    if (hashes.length) item.expect = hashes;
    out.push(item);
  }
  return out;
}

function goSum(text: string): PlannedItem[] {
  const seen = new Set<string>();
  for (const line of text.split(/\r?\n/)) {
    const [mod, version] = line.trim().split(/\s+/);
    if (!mod || !version) continue;
    seen.add(`go:${mod}@${version.replace(/\/go\.mod$/, '')}`);
  }
  return [...seen].map((ref) => ({ ref }));
}

/** Normalizes an image reference the way Docker does (docker.io, library/, :latest). */
export function imageRef(image: string): string | undefined {
  const clean = image.trim().replace(/^docker:\/\//, '');
  if (!clean || clean.includes('$')) return undefined;
  const [namePart, digest] = clean.split('@');
  let name = namePart!;
  let tag = 'latest';
  const lastColon = name.lastIndexOf(':');
  if (lastColon > name.lastIndexOf('/')) {
    tag = name.slice(lastColon + 1);
    name = name.slice(0, lastColon);
  }
  const first = name.split('/')[0]!;
  const hasHost = name.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (!hasHost) name = `docker.io/${name.includes('/') ? name : `library/${name}`}`;
  return digest ? `oci:${name}@${digest}` : `oci:${name}:${tag}`;
}

function images(text: string): PlannedItem[] {
  const out = new Set<string>();
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (isObj(v)) {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'image' && typeof x === 'string') {
          const r = imageRef(x);
          if (r) out.add(r);
        } else visit(x);
      }
    }
  };
  for (const d of parseAllDocuments(text)) visit(d.toJS());
  return [...out].map((ref) => ({ ref }));
}

function dockerfile(text: string): PlannedItem[] {
  const stages = new Set<string>();
  const out: PlannedItem[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (!m) continue;
    if (!stages.has(m[1]!.toLowerCase()) && m[1] !== 'scratch') {
      const r = imageRef(m[1]!);
      if (r) out.push({ ref: r });
    }
    if (m[2]) stages.add(m[2].toLowerCase());
  }
  return out;
}

/** Plans the items of one file, chosen by its name; they never expand dependency ranges. */
export function planFile(name: string, content: string): PlannedItem[] {
  return planByName(name, content).map((item) => ({ ...item, deps: false }));
}

function planByName(name: string, content: string): PlannedItem[] {
  const base = name.split(/[\\/]/).pop()!.toLowerCase();
  try {
    if (base === 'package-lock.json' || base === 'npm-shrinkwrap.json') return packageLock(content);
    if (base === 'pnpm-lock.yaml') return pnpmLock(content);
    if (base === 'yarn.lock') return yarnLock(content);
    if (base === 'go.sum') return goSum(content);
    if (/requirements.*\.txt$/.test(base)) return requirements(content);
    if (base === 'dockerfile' || base.endsWith('.dockerfile') || base.startsWith('dockerfile.')) return dockerfile(content);
    if (base.endsWith('.yml') || base.endsWith('.yaml')) return images(content);
  } catch (err) {
    if (err instanceof LarderError) throw err;
    throw new LarderError('E_BAD_REQUEST', `${name}: cannot parse: ${(err as Error).message.split('\n')[0]}`);
  }
  throw new LarderError('E_BAD_REQUEST', `${name}: unsupported file (expected a lockfile, requirements.txt, go.sum, a compose/Kubernetes YAML or a Dockerfile)`);
}
