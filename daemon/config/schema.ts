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

export const RemoteSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('npm'), ...remoteCommon }).strict(),
  z
    .object({ type: z.literal('oci'), ...remoteCommon, host: z.string().min(1).describe('Registry host this remote stands for, e.g. docker.io') })
    .strict(),
  z.object({ type: z.literal('pypi'), ...remoteCommon, filesUrl: httpUrl('Base URL of the files host').optional() }).strict(),
  z.object({ type: z.literal('go'), ...remoteCommon }).strict(),
  z
    .object({
      type: z.literal('http'),
      ...remoteCommon,
      layout: z.enum(['maven', 'apt', 'github-releases', 'plain']).default('plain').describe('Which paths are immutable'),
    })
    .strict(),
]);

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
  })
  .strict();

export type ConfigInput = z.input<typeof ConfigSchema>;
export type Config = z.output<typeof ConfigSchema>;
export type RemoteConfig = z.output<typeof RemoteSchema>;
export type RemoteType = RemoteConfig['type'];
