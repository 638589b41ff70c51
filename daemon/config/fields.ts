/**
 * Field types shared by the config schema and by the protocols' own parts
 * of it (their remote types and routing sections): durations, sizes, URLs,
 * credentials and the fields every remote has. Imports no protocol.
 */
import { z } from 'zod';
import { parseDuration, parseSize } from './units.js';

export const duration = (help: string) =>
  z
    .union([z.string(), z.number()])
    .transform((v, ctx) => {
      const ms = parseDuration(v);
      if (ms === undefined)
        ctx.addIssue({ code: 'custom', message: `expected a duration like "30s", "5m" or "1h", got ${JSON.stringify(v)}` });
      return ms ?? 0;
    })
    .describe(help);

export const size = (help: string) =>
  z
    .union([z.string(), z.number()])
    .transform((v, ctx) => {
      const b = parseSize(v);
      if (b === undefined) ctx.addIssue({ code: 'custom', message: `expected a size like "512MB" or "50GB", got ${JSON.stringify(v)}` });
      return b ?? 0;
    })
    .describe(help);

export const httpUrl = (help: string) =>
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

/** The fields of every remote; a protocol's remote schema spreads them beside its `type` literal. */
export const remoteFields = {
  url: httpUrl('Base URL of the upstream'),
  ttl: duration('How long mutable metadata is served before it is revalidated').optional(),
  negativeTtl: duration('How long an upstream 404 is remembered').optional(),
  timeout: duration('Upstream timeout for connecting and for each idle gap in a body').optional(),
  auth: AuthSchema.optional(),
  offline: z.boolean().optional().describe('Never contact this upstream; serve only what is cached'),
};

/** A routing section with only `default` (most protocols). */
export const defaultOnlySection = z
  .object({ default: z.string().optional().describe('Name of the default remote for this protocol') })
  .strict();

/** The remote names a `defaultOnlySection` refers to. */
export function defaultNamed(key: string): (s: { default?: string | undefined }) => Array<[string, string]> {
  return (s) => (s.default ? [[`${key}.default`, s.default]] : []);
}
