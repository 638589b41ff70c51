/**
 * The blocklist quarantine: a cached artifact of a version the blocklist
 * refuses is moved out of the store (the blob store's quarantine, as scrub
 * does with a corrupt blob), its index entries dropped, and a record kept in
 * a durable table so `GET /policy` and the dashboard list it. Run when the
 * daemon starts (the blocklist was just loaded) and on explain.
 */
import type { Policy } from '../core/policy/index.js';
import type { BlobStore, HotCache, IndexStore, KvTable } from '../core/ports.js';
import type { Entry } from '../core/types.js';
import type { PolicyHooks } from '../protocols/contract.js';
import type { QuarantinedArtifact } from './contract.js';

export interface QuarantineDeps {
  policy: Policy;
  /** Policy hooks by protocol name. */
  hooks: ReadonlyMap<string, PolicyHooks>;
  index: IndexStore;
  blobs: BlobStore;
  hot: HotCache;
  table: KvTable<QuarantinedArtifact>;
  /** Told of each quarantined artifact (log, audit, activity). */
  onQuarantine?(q: QuarantinedArtifact): void | Promise<void>;
}

export class PolicyQuarantine {
  constructor(private readonly d: QuarantineDeps) {}

  list(): QuarantinedArtifact[] {
    return [...this.d.table.range()].map(([, q]) => q);
  }

  /** The blocking record of a cached entry of `protocol`, when its remote refuses blocked versions. */
  private blocking(protocol: string, hooks: PolicyHooks, entry: Entry): Omit<QuarantinedArtifact, 'at'> | undefined {
    const art = hooks.artifact(entry);
    if (!art) return undefined;
    const remote = entry.key.split(':')[1] ?? '';
    if (this.d.policy.rules(remote).onBlocked !== 'refuse') return undefined;
    const hit = this.d.policy.blocklist.match(hooks.ecosystem, art.name, art.version);
    if (!hit) return undefined;
    return { key: entry.key, digest: entry.digest, protocol, name: art.name, version: art.version, id: hit.id };
  }

  /** Quarantines every cached artifact the blocklist refuses; returns what it moved. */
  async sweep(): Promise<QuarantinedArtifact[]> {
    if (this.d.policy.blocklist.size === 0) return [];
    const found: Array<Omit<QuarantinedArtifact, 'at'>> = [];
    for (const [protocol, hooks] of this.d.hooks) {
      for (const entry of this.d.index.entries(`${protocol}:`)) {
        const b = this.blocking(protocol, hooks, entry);
        if (b) found.push(b);
      }
    }
    return this.move(found);
  }

  /** Quarantines the given keys when they are cached artifacts the blocklist refuses. */
  async keys(protocol: string, keys: readonly string[]): Promise<QuarantinedArtifact[]> {
    const hooks = this.d.hooks.get(protocol);
    if (!hooks) return [];
    const found: Array<Omit<QuarantinedArtifact, 'at'>> = [];
    for (const k of keys) {
      const entry = this.d.index.getEntry(k);
      const b = entry && this.blocking(protocol, hooks, entry);
      if (b) found.push(b);
    }
    return this.move(found);
  }

  private async move(found: Array<Omit<QuarantinedArtifact, 'at'>>): Promise<QuarantinedArtifact[]> {
    const out: QuarantinedArtifact[] = [];
    const digests = new Set<string>();
    for (const f of found) {
      const q: QuarantinedArtifact = { ...f, at: Date.now() };
      await this.d.index.deleteEntry(f.key);
      if (!digests.has(f.digest) && !this.stillReferenced(f.digest)) {
        digests.add(f.digest);
        await this.d.blobs.quarantine(f.digest);
        this.d.hot.delete(f.digest);
        await this.d.index.deleteBlob(f.digest);
      }
      await this.d.table.put(f.key, q);
      await this.d.onQuarantine?.(q);
      out.push(q);
    }
    return out;
  }

  /** Whether another entry (a different package with the same bytes) still serves the blob. */
  private stillReferenced(digest: string): boolean {
    for (const [p] of this.d.hooks) for (const e of this.d.index.entries(`${p}:`)) if (e.digest === digest) return true;
    return false;
  }
}
