/**
 * What every request passes before it is routed:
 *
 * - Protocol answers (everything outside the dashboard and the admin API)
 *   carry `Content-Security-Policy: sandbox` and `nosniff`, so a mirrored
 *   HTML or SVG file opened in a browser runs, if at all, in an opaque
 *   origin: it cannot read the admin API or ride the dashboard's session.
 * - When the daemon listens on loopback, a request whose `Host` is not this
 *   daemon (its listen address, `localhost`, `127.0.0.1`, `[::1]`, on any
 *   port since no one else can point those at this machine, or `publicUrl`'s
 *   host and port) is refused: a hostile page whose name was re-pointed at
 *   127.0.0.1 (DNS rebinding) reads nothing. A request without `Host`
 *   (HTTP/1.0) passes.
 */
import { isLoopback } from '../config/units.js';
import { LarderError } from '../core/errors.js';

/** Whether a path is a protocol answer (not the dashboard or the admin API, which set their own policy). */
export function isProtocolPath(path: string): boolean {
  return !(path === '/_/ui' || path.startsWith('/_/ui/') || path.startsWith('/_/api/'));
}

const CSP = 'content-security-policy';
const NOSNIFF = 'x-content-type-options';

/** The headers every protocol answer carries (errors, 304s and 416s too). */
export const PROTOCOL_SECURITY_HEADERS: Readonly<Record<string, string>> = { [CSP]: 'sandbox', [NOSNIFF]: 'nosniff' };

/**
 * The headers of a protocol answer, in one pass over an adapter's: ours replace any an upstream sent
 * under another spelling, and an answer without a type is bytes (never left to the browser's sniffing).
 * A fresh object, handed whole to `writeHead` (a warm hit sets no header one by one).
 */
export function protocolHeaders(from: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  let typed = false;
  for (const k of Object.keys(from)) {
    const lower = k.toLowerCase();
    if (lower === CSP || lower === NOSNIFF) continue;
    if (lower === 'content-type') typed = true;
    out[k] = from[k]!;
  }
  if (!typed) out['content-type'] = 'application/octet-stream';
  out[CSP] = 'sandbox';
  out[NOSNIFF] = 'nosniff';
  return out;
}

/** Sets the protocol headers on an answer not written by respond.ts (Koa bodies, errors, refusals). */
export function setProtocolHeaders(res: { setHeader(name: string, value: string): unknown }): void {
  res.setHeader(CSP, 'sandbox');
  res.setHeader(NOSNIFF, 'nosniff');
}

export interface HostGuardOptions {
  /** The configured listen host (e.g. "127.0.0.1", "localhost", "::1", "0.0.0.0"). */
  listenHost: string;
  /** The daemon's public base URL (its host is always accepted). */
  publicUrl(): string;
}

const HOST_RE = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?$/;

function splitHost(value: string): { name: string; port: number | undefined } | undefined {
  const m = HOST_RE.exec(value.trim().toLowerCase());
  if (!m) return undefined;
  return { name: m[1]!, port: m[2] === undefined ? undefined : Number(m[2]) };
}

function bracket(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** Host values remembered as this daemon's own loopback names (a few in practice; forgotten all at once past this). */
const KNOWN_HOSTS = 256;

export class HostGuard {
  private readonly loopback: boolean;
  private readonly names: Set<string>;
  /** Host values already found to name a loopback name of this daemon: the same answer without parsing again. */
  private readonly known = new Set<string>();

  constructor(private readonly opts: HostGuardOptions) {
    this.loopback = isLoopback(opts.listenHost);
    this.names = new Set(['localhost', '127.0.0.1', '[::1]', bracket(opts.listenHost.toLowerCase())]);
  }

  /** Whether `host` (the request's Host header) names this daemon. */
  allows(host: string | undefined): boolean {
    if (!this.loopback || host === undefined || this.known.has(host)) return true;
    const h = splitHost(host);
    if (!h) return false;
    // Names no one else can point at this machine pass on any port: rebinding needs the attacker's own name.
    if (this.names.has(h.name)) {
      if (this.known.size >= KNOWN_HOSTS) this.known.clear();
      this.known.add(host);
      return true;
    }
    let pub: URL;
    try {
      pub = new URL(this.opts.publicUrl());
    } catch {
      return false;
    }
    if (h.name !== pub.hostname.toLowerCase()) return false;
    // A Host without a port matches a publicUrl on its scheme's default port (a TLS proxy in front).
    return h.port === undefined ? pub.port === '' : String(h.port) === (pub.port || (pub.protocol === 'https:' ? '443' : '80'));
  }

  /** The error a refused request gets (403, in the protocol's format). */
  refusal(host: string): LarderError {
    return new LarderError(
      'E_FORBIDDEN',
      `Host ${JSON.stringify(host.slice(0, 100))} is not this daemon's address: on loopback only its listen address, localhost, 127.0.0.1, [::1] or publicUrl's host are answered (DNS rebinding protection); set publicUrl to the name clients use`,
      { expose: true },
    );
  }
}
