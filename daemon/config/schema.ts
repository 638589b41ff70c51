/**
 * The one config schema: every field's type, default and help text. Unknown
 * keys are errors. The protocols (protocols/registry.ts) supply their remote
 * types and their routing sections, network.ts the sections about the
 * daemon's place on the network; existing names are a stable contract.
 */
import { z } from 'zod';
import type { RemoteConfig } from '../protocols/contract.js';
import { PROTOCOLS } from '../protocols/registry.js';
import { duration, httpUrl, size } from './fields.js';
import { PolicySchema } from './policy.js';
import { AccessSchema, ClusterSchema, LimitsSchema, ParentSchema } from './network.js';
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
