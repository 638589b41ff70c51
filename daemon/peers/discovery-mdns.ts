/**
 * LAN peers found by mDNS/DNS-SD: this daemon advertises itself as
 * `_larder._tcp` and browses for the others. The TXT record carries the
 * daemon id (to ignore our own answer), the scheme of the base URL and the
 * peer protocol version; never the token. A peer's base URL is the address
 * its answer came from plus the advertised port. `openPeerDirectory` builds
 * the directory the `peers.discover` setting asks for.
 */
import { Bonjour, type Browser, type Service, type ServiceConfig } from 'bonjour-service';
import { LarderError } from '../core/errors.js';
import { MergedPeerDirectory, PeerSet, StaticPeerDirectory, type PeerDirectory } from './discovery.js';

export const PEER_SERVICE_TYPE = 'larder';
export const PEER_PROTOCOL_VERSION = '1';

export interface MdnsPeerOptions {
  /** Unique id of this daemon; the same id seen on the network is ourselves. */
  daemonId: string;
  /** Port of this daemon's HTTP listener (what peers connect to). */
  port: number;
  scheme?: 'http' | 'https';
  /** IPv4 address of the interface to use for multicast (default: the system's choice). */
  interface?: string;
  onError?(err: Error): void;
}

/** The fields of a discovered service `peerUrlOf` reads (a subset of bonjour-service's `Service`). */
export interface SeenService {
  port: number;
  txt?: unknown;
  addresses?: string[];
  referer?: { address: string; family: string };
}

function txtField(txt: unknown, key: string): string | undefined {
  if (typeof txt !== 'object' || txt === null) return undefined;
  const v = (txt as Record<string, unknown>)[key];
  return typeof v === 'string' ? v : undefined;
}

/** The base URL of a discovered daemon, or undefined if it is ourselves, another version, or unusable. */
export function peerUrlOf(s: SeenService, ownId: string): string | undefined {
  const id = txtField(s.txt, 'id');
  if (!id || id === ownId || txtField(s.txt, 'v') !== PEER_PROTOCOL_VERSION) return undefined;
  const scheme = txtField(s.txt, 'scheme') === 'https' ? 'https' : 'http';
  const v4 = (a: string): boolean => /^\d{1,3}(\.\d{1,3}){3}$/.test(a);
  const from = s.referer && v4(s.referer.address) ? s.referer.address : s.addresses?.find(v4);
  if (!from || !Number.isInteger(s.port) || s.port <= 0 || s.port > 65535) return undefined;
  return `${scheme}://${from}:${s.port}`;
}

export class MdnsPeerDirectory extends PeerSet {
  private readonly bonjour: Bonjour;
  private readonly browser: Browser;
  /** Service fqdn → peer base URL. */
  private readonly seen = new Map<string, string>();
  private closed = false;

  constructor(private readonly o: MdnsPeerOptions) {
    super();
    const onError = (err: unknown): void => o.onError?.(err instanceof Error ? err : new Error(String(err)));
    // The constructor's options go to multicast-dns, whose `interface` its types do not list.
    const mdnsOptions: Partial<ServiceConfig> = {};
    // With `interface` alone multicast-dns binds to that unicast address, where Linux delivers
    // no multicast: bind the wildcard and only join the group (and send) on the interface.
    if (o.interface) Object.assign(mdnsOptions, { interface: o.interface, bind: '0.0.0.0' });
    this.bonjour = new Bonjour(mdnsOptions, onError);
    this.bonjour.publish({
      name: `larder-${o.daemonId}`,
      host: `larder-${o.daemonId}.local`,
      type: PEER_SERVICE_TYPE,
      port: o.port,
      disableIPv6: true,
      txt: { id: o.daemonId, scheme: o.scheme ?? 'http', v: PEER_PROTOCOL_VERSION },
    });
    this.browser = this.bonjour.find({ type: PEER_SERVICE_TYPE });
    this.browser.on('up', (s) => this.up(s));
    this.browser.on('srv-update', (s) => this.up(s));
    this.browser.on('txt-update', (s) => this.up(s));
    this.browser.on('down', (s) => this.down(s));
  }

  private up(s: Service): void {
    const url = peerUrlOf(s, this.o.daemonId);
    if (url) this.seen.set(s.fqdn, url);
    else this.seen.delete(s.fqdn);
    this.set(this.seen.values());
  }

  private down(s: Service): void {
    this.seen.delete(s.fqdn);
    this.set(this.seen.values());
  }

  /** Says goodbye on the network (others drop us at once), then closes the socket. */
  override async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.browser.stop();
    await new Promise<void>((resolve) => this.bonjour.unpublishAll(() => resolve()));
    await new Promise<void>((resolve) => this.bonjour.destroy(() => resolve()));
    await super.close();
  }
}

export type DiscoverMode = 'mdns' | 'static';

export interface PeerDiscoveryConfig {
  discover: DiscoverMode | readonly DiscoverMode[];
  static?: readonly string[];
  mdns?: MdnsPeerOptions;
}

/** The directory `peers.discover` asks for: static, mDNS, or both merged. */
export function openPeerDirectory(c: PeerDiscoveryConfig): PeerDirectory {
  const modes = new Set(typeof c.discover === 'string' ? [c.discover] : c.discover);
  const parts: PeerDirectory[] = [];
  if (modes.has('static')) parts.push(new StaticPeerDirectory(c.static ?? []));
  if (modes.has('mdns')) {
    if (!c.mdns) throw new LarderError('E_CONFIG', 'peers.discover includes mdns but no mDNS identity was given');
    parts.push(new MdnsPeerDirectory(c.mdns));
  }
  if (parts.length === 0) throw new LarderError('E_CONFIG', 'peers.discover must name mdns, static or both');
  return parts.length === 1 && parts[0] ? parts[0] : new MergedPeerDirectory(parts);
}
