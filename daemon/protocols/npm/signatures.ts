/**
 * npm registry signatures: the registry's public keys (`/-/npm/v1/keys`,
 * cached as a document with the remote's TTL) and the check of each
 * version's `dist.signatures`: ECDSA P-256 with SHA-256 over
 * `<name>@<version>:<integrity>`, the signature base64 DER. A key with an
 * `expires` signs only versions published before it (the version's
 * `time[version]`), as npm's own check (pacote) has it. A packument's
 * results are kept per revision (its full form's ETag), so a warm hit
 * verifies nothing.
 */
import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import type { DocumentCache, ServedDocument } from '../../core/document-cache.js';
import { LarderError } from '../../core/errors.js';
import type { Remote } from '../../upstream/remote.js';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `policy.npmSignatures`: not checked, checked and logged/counted, or checked and refused. */
export type SignatureMode = 'off' | 'warn' | 'require';

/** One registry key, by its `keyid` ("SHA256:…"). */
export interface RegistryKey {
  keyid: string;
  key: KeyObject;
  /** When it stopped signing (ms since the epoch; NaN when unreadable: it signs nothing); absent: no end. */
  expires?: number;
}

/** Results kept (packument revisions). */
const KEPT = 256;
const KEYS_DERIVE = 'npm-keys-1';
/** The publish time npm assumes for a version without one (very old packages have no `time`). */
const MISSING_TIME_CUTOFF = '2015-01-01T00:00:00.000Z';

/** The keys of a `/-/npm/v1/keys` body; throws E_UPSTREAM when it has none usable. */
export function parseKeys(body: Buffer): Map<string, RegistryKey> {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    doc = undefined;
  }
  const out = new Map<string, RegistryKey>();
  const list = isObject(doc) && Array.isArray(doc.keys) ? doc.keys : [];
  for (const k of list) {
    if (!isObject(k) || typeof k.keyid !== 'string' || typeof k.key !== 'string') continue;
    try {
      const key: RegistryKey = { keyid: k.keyid, key: createPublicKey({ key: Buffer.from(k.key, 'base64'), format: 'der', type: 'spki' }) };
      if (k.expires !== undefined && k.expires !== null) key.expires = typeof k.expires === 'string' ? Date.parse(k.expires) : Number.NaN;
      out.set(k.keyid, key);
    } catch {
      // A key this Node cannot read verifies nothing.
    }
  }
  if (!out.size) throw new LarderError('E_UPSTREAM', 'the npm registry keys (/-/npm/v1/keys) list no usable key');
  return out;
}

/**
 * Why a version's registry signature does not hold (undefined: it verifies).
 * `publishedAt` is the version's `time[version]`: a signature by a key that
 * had expired by then does not count.
 */
export function signatureProblem(
  name: string,
  version: string,
  dist: unknown,
  keys: ReadonlyMap<string, RegistryKey>,
  publishedAt?: unknown,
): string | undefined {
  if (!isObject(dist) || typeof dist.integrity !== 'string') return 'has no dist.integrity for its registry signature to cover';
  const sigs = Array.isArray(dist.signatures) ? dist.signatures.filter(isObject) : [];
  if (!sigs.length) return 'has no registry signature (dist.signatures is missing)';
  const data = Buffer.from(`${name}@${version}:${dist.integrity}`, 'utf8');
  // An unreadable time is NaN: no key with an end date signs it.
  const published = Date.parse(typeof publishedAt === 'string' ? publishedAt : MISSING_TIME_CUTOFF);
  let invalid = false;
  let expired = false;
  for (const s of sigs) {
    const key = typeof s.keyid === 'string' ? keys.get(s.keyid) : undefined;
    if (!key || typeof s.sig !== 'string') continue;
    if (key.expires !== undefined && !(published < key.expires)) {
      expired = true;
      continue;
    }
    try {
      if (verify('sha256', data, key.key, Buffer.from(s.sig, 'base64'))) return undefined;
    } catch {
      // A malformed signature is an invalid one.
    }
    invalid = true;
  }
  if (invalid) return 'has an invalid registry signature (dist.signatures does not verify)';
  if (expired) return 'has a registry signature by a key that had expired when it was published (see /-/npm/v1/keys)';
  return 'has a registry signature by no key the registry lists at /-/npm/v1/keys';
}

/** Versions whose signature does not hold, with the reason, for one packument. */
export function packumentProblems(doc: Json, keys: ReadonlyMap<string, RegistryKey>): Map<string, string> {
  const out = new Map<string, string>();
  const name = typeof doc.name === 'string' ? doc.name : '';
  const time = isObject(doc.time) ? doc.time : {};
  for (const [version, manifest] of Object.entries(isObject(doc.versions) ? doc.versions : {})) {
    const problem = signatureProblem(name, version, isObject(manifest) ? manifest.dist : undefined, keys, time[version]);
    if (problem) out.set(version, problem);
  }
  return out;
}

export class NpmSignatures {
  private readonly results = new Map<string, Map<string, string>>();
  private readonly parsed = new Map<string, Map<string, RegistryKey>>();

  constructor(
    readonly mode: SignatureMode,
    private readonly documents: DocumentCache,
    private readonly remotes: ReadonlyMap<string, Remote>,
    private readonly warn: (message: string) => void = (m) => process.emitWarning(m, { code: 'LARDER_NPM_SIGNATURE' }),
  ) {}

  /** The registry keys document of a remote (cached with the remote's TTL). */
  keysDocument(remote: Remote): Promise<ServedDocument> {
    const s = remote.settings;
    return this.documents.get({
      key: `npm:${remote.name}:keys`,
      ttlMs: s.ttlMs,
      negativeTtlMs: s.negativeTtlMs,
      offline: remote.offline,
      deriveTag: KEYS_DERIVE,
      fetch: (validators, signal) => {
        const headers: Record<string, string> = { accept: 'application/json' };
        if (validators.etag) headers['if-none-match'] = validators.etag;
        return remote.request({ url: remote.resolve('-/npm/v1/keys'), headers, signal });
      },
      derive: (raw) => {
        parseKeys(raw);
        return { variants: { keys: { body: raw, mediaType: 'application/json' } } };
      },
    });
  }

  private async keys(remote: Remote): Promise<Map<string, RegistryKey>> {
    const ref = (await this.keysDocument(remote)).entry.variants?.keys;
    if (!ref) throw new LarderError('E_INTERNAL', 'the npm registry keys have no stored form', { expose: false });
    let keys = this.parsed.get(ref.etag);
    if (!keys) {
      keys = parseKeys(await this.documents.variant(ref));
      this.parsed.clear();
      this.parsed.set(ref.etag, keys);
    }
    return keys;
  }

  /** The versions of a packument whose signature does not hold (empty when the check is off). */
  async problems(remoteName: string, name: string, served: ServedDocument): Promise<Map<string, string>> {
    const ref = served.entry.variants?.full;
    const remote = this.remotes.get(remoteName);
    if (this.mode === 'off' || !ref || !remote) return new Map();
    const revision = `${remoteName}\0${name}\0${ref.etag}`;
    const kept = this.results.get(revision);
    if (kept) return kept;
    const doc = JSON.parse((await this.documents.variant(ref)).toString('utf8')) as Json;
    let keys: Map<string, RegistryKey>;
    try {
      keys = await this.keys(remote);
    } catch (err) {
      const why = `cannot be verified: the registry keys are unavailable (${err instanceof Error ? err.message : String(err)})`;
      this.warn(`npm signatures of ${name}: ${why}`);
      const all = Object.keys(isObject(doc.versions) ? doc.versions : {});
      return new Map(this.mode === 'require' ? all.map((v) => [v, why] as const) : []);
    }
    const out = packumentProblems(doc, keys);
    for (const [v, why] of out) this.warn(`npm signature check (${this.mode}): ${name}@${v} ${why}`);
    this.results.set(revision, out);
    if (this.results.size > KEPT) this.results.delete(this.results.keys().next().value as string);
    return out;
  }
}
