/**
 * Where the list of LAN peers comes from: a `PeerDirectory` keeps the current
 * set of peer base URLs (e.g. `http://10.1.0.2:7420`) and says when it
 * changes. A static list from the config, mDNS discovery (discovery-mdns.ts),
 * or both merged (`discover: [mdns, static]`). The directory only says who
 * may be asked; nothing a peer sends is trusted before it is verified.
 */
import { EventEmitter } from 'node:events';
import { LarderError } from '../core/errors.js';

export interface PeerDirectory {
  /** Current peer base URLs, normalised, without duplicates, sorted. */
  list(): string[];
  on(event: 'change', listener: (peers: string[]) => void): this;
  off(event: 'change', listener: (peers: string[]) => void): this;
  close(): Promise<void>;
}

/** `http(s)://host:port` with no trailing slash; anything else is a config error. */
export function normalizePeerUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new LarderError('E_CONFIG', `peer URL is not a URL: ${raw}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new LarderError('E_CONFIG', `peer URL must be http or https: ${raw}`);
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new LarderError('E_CONFIG', `peer URL must be a base URL without credentials, query or fragment: ${raw}`);
  }
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Base class: holds the list and emits `change` only when it really changed. */
export class PeerSet extends EventEmitter implements PeerDirectory {
  private current: string[] = [];

  list(): string[] {
    return [...this.current];
  }

  /** Replaces the list; emits `change` when the set differs from the previous one. */
  protected set(peers: Iterable<string>): void {
    const next = [...new Set(peers)].sort();
    if (sameList(next, this.current)) return;
    this.current = next;
    this.emit('change', this.list());
  }

  async close(): Promise<void> {
    this.removeAllListeners();
  }
}

/** The `peers.static` list of the config; never changes. */
export class StaticPeerDirectory extends PeerSet {
  constructor(urls: readonly string[]) {
    super();
    this.set(urls.map(normalizePeerUrl));
  }
}

/** The union of several directories (`discover: [mdns, static]`), kept current. */
export class MergedPeerDirectory extends PeerSet {
  private readonly onChange = (): void => this.recompute();

  constructor(private readonly sources: readonly PeerDirectory[]) {
    super();
    for (const s of sources) s.on('change', this.onChange);
    this.recompute();
  }

  private recompute(): void {
    this.set(this.sources.flatMap((s) => s.list()));
  }

  override async close(): Promise<void> {
    for (const s of this.sources) s.off('change', this.onChange);
    await Promise.all(this.sources.map((s) => s.close()));
    await super.close();
  }
}
