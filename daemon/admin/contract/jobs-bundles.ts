/** Pre-warm jobs and air-gap bundles: both take references and lockfiles and fetch what they name. */

export interface JobRequest {
  refs?: string[];
  /** Lockfiles or manifests by file name (package-lock.json, pnpm-lock.yaml, yarn.lock, requirements.txt, go.sum, docker-compose.yml, Dockerfile, *.yaml). */
  files?: Array<{ name: string; content: string }>;
  /** Fetch npm dependency trees (default true). */
  deps?: boolean;
  concurrency?: number;
}

export type ItemState = 'queued' | 'running' | 'done' | 'cached' | 'failed' | 'cancelled';

export interface JobItem {
  ref: string;
  state: ItemState;
  bytes: number;
  totalBytes?: number;
  attempts: number;
  error?: string;
}

export interface Job {
  id: string;
  state: 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
  createdAt: number;
  finishedAt?: number;
  source: string;
  items: JobItem[];
  bytes: number;
  done: number;
  failed: number;
  total: number;
}

/** What goes into an air-gap bundle. */
export interface ExportRequest {
  /** Every pin (true) or the pins with these ids or references. */
  pins?: boolean | string[];
  /** References (as for pins); resolved and fetched first. */
  refs?: string[];
  /** Lockfiles or manifests, as for pre-warm jobs. */
  files?: Array<{ name: string; content: string }>;
  /** Also include npm dependencies of `refs` (default false; lockfiles list everything already). */
  deps?: boolean;
  /** Index key prefixes, e.g. `oci:hub:` (whatever is cached under them). */
  prefixes?: string[];
  /** Sign the manifest with this daemon's bundle key (created in its data dir on first use). */
  sign?: boolean;
}

export interface ImportReport {
  blobs: { added: number; present: number };
  /** Bytes of blobs added. */
  bytes: number;
  entries: { added: number; updated: number };
  pins: number;
  /** Remote names in the bundle's keys that this daemon does not configure. */
  unknownRemotes: string[];
  /** The key that signed the bundle (`ed25519:…`), or 'unsigned' (imported with allowUnsigned). */
  signer?: string;
  /** Entries whose times were clamped (a future fetch time, or an expiry past now + the remote's TTL). */
  clamped?: number;
}
