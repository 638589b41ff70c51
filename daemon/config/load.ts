/**
 * Loads the effective config: embedded defaults < YAML file < LARDER_* env <
 * command-line flags. A file replaces the default value of each top-level key
 * it sets (so a file's `remotes` replaces the public defaults entirely).
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import envPaths from 'env-paths';
import type { ZodIssue } from 'zod';
import { LarderError } from '../core/errors.js';
import { defaultDocument } from './defaults.js';
import type { Protocol, RoutingSection } from '../protocols/contract.js';
import { PROTOCOLS } from '../protocols/registry.js';
import { ConfigSchema, type Config, type RemoteConfig } from './schema.js';
import { parseListen } from './units.js';

export interface LoadOptions {
  /** Path of a YAML file (flag --config or LARDER_CONFIG). */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Values from flags, highest precedence. */
  overrides?: { listen?: string; dataDir?: string };
}

export interface LoadedConfig extends Config {
  dataDir: string;
  /** Where the file came from, for messages. */
  source: string;
}

export function configError(message: string): LarderError {
  return new LarderError('E_CONFIG', `config: ${message}`);
}

function formatIssue(issue: ZodIssue): string {
  const path = issue.path.length ? issue.path.join('.') : '(root)';
  if (issue.code === 'unrecognized_keys')
    return `${path}: unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  if (issue.code === 'invalid_union_discriminator') return `${path}: expected one of ${issue.options.map(String).join(', ')}`;
  return `${path}: ${issue.message}`;
}

/** Replaces ${NAME} in credential strings with environment values; a missing variable is an error. */
function interpolate(value: string, env: NodeJS.ProcessEnv, where: string): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const v = env[name];
    if (v === undefined) throw configError(`${where}: environment variable ${name} is not set`);
    return v;
  });
}

/** `${ENV}` in storage.s3's endpoint and keys, replaced before validation (so the endpoint checked is the real one). */
function interpolateS3(doc: unknown, env: NodeJS.ProcessEnv): unknown {
  const storage = (doc as { storage?: unknown } | null)?.storage;
  const s3 = (storage as { s3?: unknown } | null | undefined)?.s3;
  if (!s3 || typeof s3 !== 'object') return doc;
  const out: Record<string, unknown> = { ...(s3 as Record<string, unknown>) };
  for (const k of ['endpoint', 'accessKey', 'secretKey'] as const) {
    const v = out[k];
    if (typeof v === 'string') out[k] = interpolate(v, env, `storage.s3.${k}`);
  }
  return { ...(doc as object), storage: { ...(storage as object), s3: out } };
}

function parseDocument(text: string, source: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` (line ${err.linePos[0].line})` : '';
    throw configError(`${source}${where}: invalid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw configError(`${source}: the top level must be a mapping`);
  return doc as Record<string, unknown>;
}

export async function loadConfig(opts: LoadOptions = {}): Promise<LoadedConfig> {
  const env = opts.env ?? process.env;
  const merged = defaultDocument();
  const file = opts.file ?? env.LARDER_CONFIG;
  let source = 'embedded defaults';
  if (file) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw configError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    Object.assign(merged, parseDocument(text, file));
    source = file;
  }
  if (env.LARDER_LISTEN) merged.listen = env.LARDER_LISTEN;
  if (env.LARDER_DATA_DIR) merged.dataDir = env.LARDER_DATA_DIR;
  if (opts.overrides?.listen) merged.listen = opts.overrides.listen;
  if (opts.overrides?.dataDir) merged.dataDir = opts.overrides.dataDir;
  return validateConfig(merged, source, env);
}

/** Validates a parsed document (also used for hot reload and tests). */
export function validateConfig(doc: unknown, source: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const parsed = ConfigSchema.safeParse(interpolateS3(doc, env));
  if (!parsed.success) {
    throw configError(`${source}: ${parsed.error.issues.map(formatIssue).join('; ')}`);
  }
  const cfg = parsed.data;
  for (const [name, remote] of Object.entries(cfg.remotes)) {
    if (remote.auth) {
      for (const k of ['username', 'password', 'token'] as const) {
        const v = remote.auth[k];
        if (v !== undefined) remote.auth[k] = interpolate(v, env, `remotes.${name}.auth.${k}`);
      }
    }
  }
  if (cfg.parent?.token !== undefined) cfg.parent.token = interpolate(cfg.parent.token, env, 'parent.token');
  if (cfg.peers.token !== undefined) cfg.peers.token = interpolate(cfg.peers.token, env, 'peers.token');
  checkRouting(cfg);
  const dataDir = cfg.dataDir ?? envPaths('larder', { suffix: '' }).data;
  return { ...cfg, dataDir, source };
}

/** A protocol's validated routing section (`{}` when it has none). */
export function sectionOf(cfg: Config, p: Protocol): RoutingSection {
  return p.section ? p.section.schema.parse(cfg[p.section.key] ?? {}) : {};
}

/** Every remote a routing section names exists and is of one of its protocol's types. */
function checkRouting(cfg: Config): void {
  for (const p of PROTOCOLS) {
    const types = p.remotes.map((k) => k.type);
    for (const [path, name] of p.section?.remotesNamed(sectionOf(cfg, p)) ?? []) {
      const r = cfg.remotes[name];
      if (!r) throw configError(`${path}: no remote named "${name}"`);
      if (!types.includes(r.type)) throw configError(`${path}: remote "${name}" is of type ${r.type}, expected ${types.join(' or ')}`);
    }
  }
}

/** The default remote of a protocol: `<section>.default`, else the first remote of its types. */
export function defaultRemote(cfg: Config, p: Protocol): string | undefined {
  const explicit = sectionOf(cfg, p).default;
  if (explicit) return explicit;
  return Object.entries(cfg.remotes).find(([, r]) => p.remotes.some((k) => k.type === r.type))?.[0];
}

export function listenAddress(cfg: Config): { host: string; port: number } {
  return parseListen(cfg.listen)!;
}

export type { Config, RemoteConfig };
