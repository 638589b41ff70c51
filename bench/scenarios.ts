/**
 * The warm load scenarios (packuments full and abbreviated, small tarballs,
 * the multi-MB tarball) as request lists per server, and the priming pass
 * that fills each server's cache and checks what it serves before anything
 * is measured.
 */
import { createHash } from 'node:crypto';
import type { FixtureTarball, RegistryFixture } from '../test/helpers/npm-fixture/types.js';
import type { LoadSpec } from './load.js';
import type { BenchServer } from './servers.js';

/** Accept header npm sends for install metadata (abbreviated form). */
export const ACCEPT_ABBREVIATED = 'application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*';
/** Accept header for the full packument. */
export const ACCEPT_FULL = 'application/json';

export type ScenarioName = 'packumentFull' | 'packumentAbbrev' | 'tarballSmall' | 'tarballBig';

/** A load scenario: what is requested, independent of the server. */
export interface Scenario {
  name: ScenarioName;
  title: string;
  paths: string[];
  accept: string;
  connections: number;
  engine: LoadSpec['engine'];
}

/** How npm encodes a package name in a packument URL (`@scope%2fname`). */
export function packumentPath(name: string): string {
  return `/${name.replace('/', '%2f')}`;
}

function smallTarballs(fixture: RegistryFixture): FixtureTarball[] {
  return fixture.packages.filter((p) => p.name !== fixture.bigPackage).flatMap((p) => p.tarballs);
}

function bigTarballs(fixture: RegistryFixture): FixtureTarball[] {
  return fixture.packages.find((p) => p.name === fixture.bigPackage)?.tarballs ?? [];
}

/** The four warm scenarios over the whole fixture. */
export function scenarios(fixture: RegistryFixture, connections: number): Scenario[] {
  const packuments = fixture.packages.map((p) => packumentPath(p.name));
  return [
    {
      name: 'packumentFull',
      title: 'warm packument, full (hits/s)',
      paths: packuments,
      accept: ACCEPT_FULL,
      connections,
      engine: 'autocannon',
    },
    {
      name: 'packumentAbbrev',
      title: 'warm packument, abbreviated (hits/s)',
      paths: packuments,
      accept: ACCEPT_ABBREVIATED,
      connections,
      engine: 'autocannon',
    },
    {
      name: 'tarballSmall',
      title: 'warm small tarballs (req/s)',
      paths: smallTarballs(fixture).map((t) => t.urlPath),
      accept: '*/*',
      connections,
      engine: 'autocannon',
    },
    {
      name: 'tarballBig',
      title: 'warm big tarball (MB/s)',
      paths: bigTarballs(fixture).map((t) => t.urlPath),
      accept: '*/*',
      connections,
      engine: 'http',
    },
  ];
}

/** The autocannon spec of a scenario against one server. */
export function specFor(s: Scenario, server: BenchServer, seconds: number): LoadSpec {
  return {
    origin: server.origin,
    paths: s.paths.map((p) => server.prefix + p),
    headers: { accept: s.accept, 'user-agent': 'npm/11 node/v20 linux x64 workspaces/false' },
    connections: s.connections,
    seconds,
    engine: s.engine,
    serverPid: server.child.pid ?? 0,
  };
}

async function get(server: BenchServer, path: string, accept: string): Promise<{ body: Buffer; cache: string | null }> {
  const res = await fetch(server.origin + server.prefix + path, { headers: { accept } });
  const body = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200) throw new Error(`${server.name} GET ${path}: ${res.status} ${body.toString('utf8', 0, 200)}`);
  return { body, cache: res.headers.get('x-larder-cache') };
}

/** Mean response body size per scenario, as served by one server (bytes). */
export type BodySizes = Record<ScenarioName, number>;

/**
 * Requests everything twice: the first pass fills the server's cache, the
 * second checks it is served correctly from the cache (packument names,
 * tarball sha1; Larder must say HIT). Returns the mean body sizes.
 */
export async function prime(server: BenchServer, fixture: RegistryFixture): Promise<BodySizes> {
  const sizes: BodySizes = { packumentFull: 0, packumentAbbrev: 0, tarballSmall: 0, tarballBig: 0 };
  for (let pass = 0; pass < 2; pass++) {
    const check = pass === 1;
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    for (const [key, accept] of [
      ['packumentFull', ACCEPT_FULL],
      ['packumentAbbrev', ACCEPT_ABBREVIATED],
    ] as const) {
      const lens: number[] = [];
      for (const p of fixture.packages) {
        const { body, cache } = await get(server, packumentPath(p.name), accept);
        const doc = JSON.parse(body.toString('utf8')) as { name?: string };
        if (check && doc.name !== p.name) throw new Error(`${server.name}: packument of ${p.name} names ${String(doc.name)}`);
        if (check && server.name === 'larder' && cache !== 'HIT') throw new Error(`larder: packument ${p.name} was ${cache}, not HIT`);
        lens.push(body.length);
      }
      sizes[key] = mean(lens);
    }
    for (const [key, list] of [
      ['tarballSmall', smallTarballs(fixture)],
      ['tarballBig', bigTarballs(fixture)],
    ] as const) {
      const lens: number[] = [];
      for (const t of list) {
        const { body, cache } = await get(server, t.urlPath, '*/*');
        const sha1 = createHash('sha1').update(body).digest('hex');
        if (check && sha1 !== t.shasum) throw new Error(`${server.name}: ${t.urlPath} has sha1 ${sha1}, expected ${t.shasum}`);
        if (check && server.name === 'larder' && cache !== 'HIT') throw new Error(`larder: ${t.urlPath} was ${cache}, not HIT`);
        lens.push(body.length);
      }
      sizes[key] = mean(lens);
    }
  }
  return sizes;
}
