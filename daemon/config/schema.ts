/**
 * The one config schema: every field's type, default and help text. Unknown
 * keys are errors. The protocols (protocols/registry.ts) supply their remote
 * types and their routing sections; existing names are a stable contract.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import type { RemoteConfig } from '../protocols/contract.js';
import { PROTOCOLS } from '../protocols/registry.js';
import { duration, httpUrl, size } from './fields.js';
import { PolicySchema } from './policy.js';
import { parseListen } from './units.js';
import { PeersSchema } from '../peers/config.js';

/** The remote types of every registered protocol, by `type`. */
const REMOTE_KINDS = new Map(PROTOCOLS.flatMap((p) => p.remotes.map((k) => [k.type, k] as const)));

/** One `remotes.<name>` entry, validated by the schema of its `type`'s protocol. */
export const RemoteSchema = z.unknown().transform((value, ctx): RemoteConfig => {
  const type = typeof value === 'object' && value !== null && 'type' in value ? value.type : undefined;
  const kind = typeof type === 'string' ? REMOTE_KINDS.get(type) : undefined;
  if (!kind) {
    ctx.addIssue({ code: 'invalid_union_discriminator', options: [...REMOTE_KINDS.keys()], path: ['type'] });
    return z.NEVER;
  }
  const parsed = kind.schema.safeParse(value);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) ctx.addIssue(issue);
    return z.NEVER;
  }
  return parsed.data;
});

export const ParentSchema = z
  .object({
    url: httpUrl('Base URL of the parent Larder (e.g. a regional mirror); every remote resolves through it'),
    token: z
      .string()
      .min(1)
      .optional()
      .describe(
        'A token of the parent with scope replicate (or admin), for its change feed and reads (supports ${ENV}); sent only to the parent',
      ),
    fallback: z.boolean().default(false).describe("Fetch from this daemon's own upstreams when the parent is unreachable or fails"),
    id: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'expected letters, digits, ".", "_" or "-"')
      .optional()
      .describe('Name this daemon reports to its parent (default: its daemon id)'),
  })
  .strict()
  .describe('Mirror hierarchy: resolve through a parent Larder and replicate its pins');

/** "10.0.0.0/8", "fd00::/8" or a single address. */
function isNetwork(v: string): boolean {
  const [addr = '', bits, extra] = v.split('/');
  const family = isIP(addr);
  if (!family || extra !== undefined) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 6 ? 128 : 32));
}

export const AccessSchema = z
  .object({
    anonymous: z
      .boolean()
      .default(true)
      .describe('Serve protocol reads and /metrics without a token; false: any token (admin, replicate or read) is required'),
    allow: z
      .array(z.string().refine(isNetwork, 'expected an address or a network like 10.0.0.0/8 or fd00::/8'))
      .default(['0.0.0.0/0', '::/0'])
      .describe('Networks whose clients may use the port at all (loopback always may); default: every network'),
  })
  .strict()
  .default({})
  .describe('Who may use the mirror: token-required reads and an allow-list of client networks');
/** Timeouts, the connection cap and the memory budget: what anonymous clients can hold. */
export const LimitsSchema = z
  .object({
    idleTimeout: duration(
      'A connection with no byte moving either way for this long is closed (not while the daemon works on its answer, nor the event stream or feed long-poll)',
    ).default('60s'),
    headerTimeout: duration('Time a client has to send the request line and headers (408 after)').default('20s'),
    requestTimeout: duration('Time a client has to send a whole request body (408 after; 0 = none)').default('60s'),
    maxConnections: z.number().int().min(0).default(1024).describe('Open connections at most; more are closed at once (0 = no cap)'),
    maxBody: size('Largest request body accepted (413 E_TOO_LARGE above)').default('16MiB'),
    memory: size('Bytes held in memory at once for request bodies and document fills; past it requests wait, then get 503').default(
      '512MiB',
    ),
    fills: z.number().int().min(1).max(1024).default(16).describe('Document fills (packuments, indexes) at once'),
    queueTimeout: duration('How long a request waits for memory or a fill slot before 503 E_BUSY with Retry-After').default('10s'),
  })
  .strict()
  .refine((l) => l.requestTimeout === 0 || l.headerTimeout <= l.requestTimeout, 'headerTimeout must not exceed requestTimeout')
  .default({})
  .describe('Limits that keep anonymous load within bounds');

/** Several daemons acting as one cache: etcd coordinates them (issue 18); needs storage.s3 for the shared blobs. */
export const ClusterSchema = z
  .object({
    etcd: z
      .array(httpUrl('etcd client URL, e.g. http://10.0.0.5:2379'))
      .min(1, 'list at least one etcd client URL')
      .describe('etcd endpoints (client URLs) used for fill leases and node registration'),
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'cluster names are lower-case letters, digits, - and _ (at most 63)')
      .describe('Cluster name: the etcd key prefix /larder/<name>/ shared by its nodes'),
    leaseTtl: duration("Time after which a dead node's fill lease expires and another node takes over").default('5s'),
  })
  .strict()
  .describe('Cluster mode: several daemons sharing one S3 bucket and one etcd (absent: a single daemon)');

const BaseConfigSchema = z
  .object({
    listen: z
      .string()
      .refine((v) => parseListen(v) !== undefined, 'expected HOST:PORT, e.g. 127.0.0.1:7420')
      .default('127.0.0.1:7420')
      .describe('Address the daemon binds to (loopback by default)'),
    dataDir: z.string().min(1).optional().describe("Where blobs and the index live (default: the user's data directory)"),
    publicUrl: httpUrl('Absolute base URL used in rewritten URLs (default: http://<listen>, https://<listen> with tls)').optional(),
    offline: z.boolean().default(false).describe('Contact no upstream at all'),
    storage: z
      .object({
        maxSize: size('Disk budget for cached content').default('50GB'),
        memoryCache: size('Bytes of small bodies kept in memory').default('32MB'),
        maxArtifactSize: size('Largest single artifact accepted from an upstream').default('20GB'),
        minFree: size(
          'Free space always left on the cache disk; a miss that would go below it is streamed through without being stored',
        ).default('256MB'),
        highWatermark: z.number().gt(0).lte(1).default(0.95).describe('Fraction of maxSize above which eviction starts'),
        lowWatermark: z.number().gt(0).lte(1).default(0.85).describe('Fraction of maxSize eviction brings usage down to'),
        checkInterval: duration('How often the budget is checked').default('30s'),
        scrubRate: size('Bytes per second the background scrub may read').default('32MB'),
        scrubInterval: duration('Time between background scrub passes (0 = only on demand)').default('24h'),
        s3: z
          .object({
            endpoint: httpUrl('S3 API endpoint, path-style (e.g. a Ceph RADOS Gateway: http://rgw:7480)'),
            bucket: z.string().min(3).max(63).describe('Bucket holding the shared blobs (created when missing)'),
            region: z.string().min(1).default('us-east-1').describe('Region for request signing'),
            accessKey: z.string().min(1).describe('S3 access key'),
            secretKey: z.string().min(1).describe('S3 secret key'),
            maxSize: size(
              'Byte budget of the whole S3 tier, enforced by the one node etcd elects (cluster mode only; absent: S3 is not evicted)',
            ).optional(),
            evictionGrace: duration(
              'Blobs written to S3 more recently than this are never evicted (their entry may not be published yet; default 1m)',
            ).optional(),
          })
          .strict()
          .optional()
          .describe('Shared S3 blob tier for several daemons; this disk becomes a local tier in front of it'),
        localCache: size('Disk budget of the local tier in front of storage.s3').default('20GB'),
      })
      .strict()
      .refine((s) => s.lowWatermark < s.highWatermark, 'lowWatermark must be below highWatermark')
      .default({}),
    pins: z
      .object({
        interval: duration('How often mutable pins are re-resolved').default('5m'),
        file: z.string().optional().describe('Pin file, one reference per line (default: pins.txt beside the config file)'),
        lagThreshold: duration('Lag above which a pin counts as lagging in alerts').default('15m'),
      })
      .strict()
      .default({}),
    prewarm: z
      .object({
        concurrency: z.number().int().min(1).max(64).default(8).describe('Artifacts fetched at once per job'),
        retries: z.number().int().min(0).max(10).default(3).describe('Retries of transient upstream failures'),
        watch: z.array(z.string().min(1)).default([]).describe('Globs of lockfiles/manifests to watch and warm'),
      })
      .strict()
      .default({}),
    remotes: z
      .record(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'remote names are lower-case letters, digits, - and _'), RemoteSchema)
      .default({}),
    log: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('Log level') })
      .strict()
      .default({}),
    admin: z
      .object({ token: z.string().min(16).optional().describe('Admin API token (default: generated into <dataDir>/admin-token)') })
      .strict()
      .default({}),
    parent: ParentSchema.optional(),
    tls: z
      .object({
        cert: z.string().min(1).describe('PEM certificate file (with its chain); HTTPS is served on the listen port, reloaded on change'),
        key: z.string().min(1).describe('PEM private key file of the certificate'),
        ca: z.string().min(1).optional().describe('PEM file of extra chain certificates sent to clients'),
      })
      .strict()
      .optional()
      .describe('Serve HTTPS instead of HTTP (publicUrl then defaults to https://<listen>)'),
    bundles: z
      .object({
        trustedKeys: z
          .array(z.string().regex(/^ed25519:[A-Za-z0-9+/]{43}=$/, 'expected ed25519:<base64 of 32 bytes> (see larder export --print-key)'))
          .default([])
          .describe('Public keys whose signed bundles `larder import` accepts'),
      })
      .strict()
      .default({})
      .describe('Air-gap bundle signing'),
    cluster: ClusterSchema.optional(),
    access: AccessSchema,
    peers: PeersSchema.default({}),
    policy: PolicySchema.default({}),
    limits: LimitsSchema,
  })
  .strict();

/** The protocols' routing sections (`npm:`, `oci:` …) by key. */
const SECTIONS = new Map(PROTOCOLS.flatMap((p) => (p.section ? [[p.section.key, p.section.schema] as const] : [])));
const BASE_KEYS = new Set(Object.keys(BaseConfigSchema.shape));

/** Values of the protocols' sections, by key (each protocol reads its own through its schema). */
export interface ProtocolSections {
  [section: string]: unknown;
}

export type Config = z.output<typeof BaseConfigSchema> & ProtocolSections;
export type ConfigInput = z.input<typeof BaseConfigSchema> & ProtocolSections;

/** The whole document: the fixed keys, then each protocol's section (`{}` when absent); any other key is an error. */
export const ConfigSchema: z.ZodType<Config, z.ZodTypeDef, ConfigInput> = BaseConfigSchema.passthrough().transform((doc, ctx): Config => {
  const out: Config = { ...doc };
  const unknown = Object.keys(doc).filter((k) => !BASE_KEYS.has(k) && !SECTIONS.has(k));
  if (unknown.length) ctx.addIssue({ code: 'unrecognized_keys', keys: unknown });
  if (doc.cluster && !doc.storage.s3) {
    ctx.addIssue({ code: 'custom', path: ['cluster'], message: 'cluster needs storage.s3: the nodes share their blobs through S3' });
  }
  if (doc.storage.s3?.maxSize !== undefined && !doc.cluster) {
    ctx.addIssue({
      code: 'custom',
      path: ['storage', 's3', 'maxSize'],
      message: 'storage.s3.maxSize needs cluster: eviction of the shared bucket is decided by the node etcd elects',
    });
  }
  if (doc.storage.s3?.maxSize === 0) {
    ctx.addIssue({ code: 'custom', path: ['storage', 's3', 'maxSize'], message: 'storage.s3.maxSize must be above 0' });
  }
  for (const [key, schema] of SECTIONS) {
    const parsed = schema.safeParse(doc[key] ?? {});
    if (parsed.success) out[key] = parsed.data;
    else for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, path: [key, ...issue.path] });
  }
  return out;
});
export type { RemoteConfig };
export type ParentConfig = z.output<typeof ParentSchema>;
