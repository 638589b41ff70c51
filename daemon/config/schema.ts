/**
 * The one config schema: every field's type, default and help text. Unknown
 * keys are errors. Later protocols extend `remotes` with their own fields;
 * existing names are a stable contract.
 */
import { z } from 'zod';
import { parseDuration, parseListen, parseSize } from './units.js';

const duration = (help: string) =>
  z
    .union([z.string(), z.number()])
    .transform((v, ctx) => {
      const ms = parseDuration(v);
      if (ms === undefined) ctx.addIssue({ code: 'custom', message: `expected a duration like "30s", "5m" or "1h", got ${JSON.stringify(v)}` });
      return ms ?? 0;
    })
    .describe(help);

const size = (help: string) =>
  z
    .union([z.string(), z.number()])
    .transform((v, ctx) => {
      const b = parseSize(v);
      if (b === undefined) ctx.addIssue({ code: 'custom', message: `expected a size like "512MB" or "50GB", got ${JSON.stringify(v)}` });
      return b ?? 0;
    })
    .describe(help);

const httpUrl = (help: string) =>
  z
    .string()
    .url()
    .refine((u) => /^https?:\/\//.test(u), 'expected an http:// or https:// URL')
    .describe(help);

export const AuthSchema = z
  .object({
    username: z.string().optional().describe('Basic auth user name (supports ${ENV})'),
    password: z.string().optional().describe('Basic auth password (supports ${ENV})'),
    token: z.string().optional().describe('Bearer token (supports ${ENV})'),
  })
  .strict()
  .refine((a) => Boolean(a.token) !== Boolean(a.username), 'give either token or username/password')
  .describe('Credentials Larder uses towards this upstream; never logged');

const remoteCommon = {
  url: httpUrl('Base URL of the upstream'),
  ttl: duration('How long mutable metadata is served before it is revalidated').optional(),
  negativeTtl: duration('How long an upstream 404 is remembered').optional(),
  timeout: duration('Upstream timeout for connecting and for each idle gap in a body').optional(),
  auth: AuthSchema.optional(),
  offline: z.boolean().optional().describe('Never contact this upstream; serve only what is cached'),
};

/** Whether a rule's `match` is a valid glob or `/regex/` (flags: i). */
function validPattern(match: string): boolean {
  const m = /^\/(.+)\/(i?)$/.exec(match);
  if (!m) return true;
  try {
    new RegExp(m[1]!, m[2]);
    return true;
  } catch {
    return false;
  }
}

export const PathRuleSchema = z
  .object({
    match: z
      .string()
      .min(1)
      .max(1024)
      .refine(validPattern, 'expected a glob (`*`, `**`, `?`) or a valid /regular expression/')
      .describe('Glob on the path below the remote (`*` within a segment, `**` across segments), or /regex/'),
    policy: z.enum(['immutable', 'mutable', 'bypass']).describe('immutable: cache forever; mutable: HTTP caching rules; bypass: never store'),
    ttl: duration('Freshness of matching mutable files when the upstream gives none').optional(),
  })
  .strict();

export const RemoteSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('npm'), ...remoteCommon }).strict(),
  z
    .object({ type: z.literal('oci'), ...remoteCommon, host: z.string().min(1).describe('Registry host this remote stands for, e.g. docker.io') })
    .strict(),
  z.object({ type: z.literal('pypi'), ...remoteCommon, filesUrl: httpUrl('Base URL of the files host').optional() }).strict(),
  z
    .object({
      type: z.literal('go'),
      ...remoteCommon,
      sumdbs: z
        .array(z.string().regex(/^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$/, 'expected a checksum database name like sum.golang.org'))
        .default([])
        .describe('Checksum databases proxied at /go/<remote>/sumdb/<name>/; go asks any other one directly'),
      sumdbUrls: z.record(z.string(), httpUrl('Base URL of a checksum database')).optional().describe('Where a proxied checksum database lives (default https://<name>/)'),
    })
    .strict(),
  z
    .object({
      type: z.literal('http'),
      ...remoteCommon,
      layout: z.enum(['maven', 'apt', 'github-releases', 'plain']).default('plain').describe('Which paths are immutable'),
      rules: z.array(PathRuleSchema).default([]).describe('Path rules tried before the layout preset; the first match wins'),
    })
    .strict(),
]);

export const ParentSchema = z
  .object({
    url: httpUrl('Base URL of the parent Larder (e.g. a regional mirror); every remote resolves through it'),
    token: z.string().min(1).optional().describe("The parent's admin token, for its change feed (supports ${ENV}); sent only to the parent"),
    fallback: z.boolean().default(false).describe("Fetch from this daemon's own upstreams when the parent is unreachable or fails"),
    id: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'expected letters, digits, ".", "_" or "-"')
      .optional()
      .describe('Name this daemon reports to its parent (default: its daemon id)'),
  })
  .strict()
  .describe('Mirror hierarchy: resolve through a parent Larder and replicate its pins');

const routing = z
  .object({
    default: z.string().optional().describe('Name of the default remote for this protocol'),
    scopes: z.record(z.string().regex(/^@[a-z0-9][a-z0-9._~-]*$/, 'expected an npm scope like "@corp"'), z.string()).optional(),
  })
  .strict();

export const ConfigSchema = z
  .object({
    listen: z
      .string()
      .refine((v) => parseListen(v) !== undefined, 'expected HOST:PORT, e.g. 127.0.0.1:7420')
      .default('127.0.0.1:7420')
      .describe('Address the daemon binds to (loopback by default)'),
    dataDir: z.string().min(1).optional().describe("Where blobs and the index live (default: the user's data directory)"),
    publicUrl: httpUrl('Absolute base URL used in rewritten URLs (default: http://<listen>)').optional(),
    offline: z.boolean().default(false).describe('Contact no upstream at all'),
    storage: z
      .object({
        maxSize: size('Disk budget for cached content').default('50GB'),
        memoryCache: size('Bytes of small bodies kept in memory').default('32MB'),
        maxArtifactSize: size('Largest single artifact accepted from an upstream').default('20GB'),
        minFree: size('Free space always left on the cache disk; a miss that would go below it is streamed through without being stored').default('256MB'),
        highWatermark: z.number().gt(0).lte(1).default(0.95).describe('Fraction of maxSize above which eviction starts'),
        lowWatermark: z.number().gt(0).lte(1).default(0.85).describe('Fraction of maxSize eviction brings usage down to'),
        checkInterval: duration('How often the budget is checked').default('30s'),
        scrubRate: size('Bytes per second the background scrub may read').default('32MB'),
        scrubInterval: duration('Time between background scrub passes (0 = only on demand)').default('24h'),
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
    remotes: z.record(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'remote names are lower-case letters, digits, - and _'), RemoteSchema).default({}),
    npm: routing.default({}),
    oci: routing.omit({ scopes: true }).default({}),
    pypi: routing.omit({ scopes: true }).default({}),
    go: routing.omit({ scopes: true }).default({}),
    log: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('Log level') })
      .strict()
      .default({}),
    admin: z
      .object({ token: z.string().min(16).optional().describe('Admin API token (default: generated into <dataDir>/admin-token)') })
      .strict()
      .default({}),
    parent: ParentSchema.optional(),
  })
  .strict();

export type ConfigInput = z.input<typeof ConfigSchema>;
export type Config = z.output<typeof ConfigSchema>;
export type RemoteConfig = z.output<typeof RemoteSchema>;
export type RemoteType = RemoteConfig['type'];
export type ParentConfig = z.output<typeof ParentSchema>;
