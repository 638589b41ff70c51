/**
 * Config sections about the daemon's place on the network: the parent it
 * resolves through (mirror hierarchy), who may use it (access), what
 * anonymous clients may hold (limits), and the cluster it is a node of.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { duration, httpUrl, size } from './fields.js';

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

export type ParentConfig = z.output<typeof ParentSchema>;
