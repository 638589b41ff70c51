/**
 * The `peers:` config section (a contract):
 *
 *   peers: { enabled: true, discover: static, static: ["http://10.1.0.2:7420"], token: ${LARDER_PEER_TOKEN} }
 *
 * `discover` is `static`, `mdns` (DNS-SD `_larder._tcp`, peers/discovery-mdns.ts)
 * or a list of both (merged).
 */
import { z } from 'zod';
import { duration, httpUrl } from '../config/fields.js';

const Discovery = z.enum(['mdns', 'static']);

export const PeersSchema = z
  .object({
    enabled: z.boolean().default(false).describe('Ask other Larder daemons of the LAN for immutable blobs before the upstream'),
    discover: z
      .union([Discovery, z.array(Discovery).min(1)])
      .default('static')
      .describe('How peers are found: static (the `static` list), mdns (_larder._tcp on the LAN), or both'),
    static: z.array(httpUrl('Base URL of another Larder daemon, e.g. http://10.1.0.2:7420')).default([]).describe('Peer base URLs'),
    budget: duration('How long the peers may take to say whether they hold a blob, when none does').default('100ms'),
    stall: duration(
      'A peer transfer that sends nothing for this long (or is slower than 512 KiB/s past it) is given up for the upstream',
    ).default('2s'),
    token: z
      .string()
      .min(1)
      .optional()
      .describe(
        'The site peer token (supports ${ENV}): signs each request to a peer (never sent itself), and checks the signatures of peers asking this daemon',
      ),
  })
  .strict()
  .refine((p) => !p.enabled || p.token !== undefined, { message: 'peers.token is required when peers are enabled', path: ['token'] })
  .describe('LAN peers sharing verified immutable blobs (off by default)');

export type PeersConfig = z.output<typeof PeersSchema>;

/** Discovery methods in the config, as a list. */
export function discoveryMethods(p: PeersConfig): Array<z.output<typeof Discovery>> {
  return typeof p.discover === 'string' ? [p.discover] : [...new Set(p.discover)];
}
