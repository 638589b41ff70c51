/**
 * The cases every registered protocol must pass, against the real daemon on
 * a real socket and a local upstream (both on port 0, started once per
 * protocol). A protocol brings a fixture: the routes of a small upstream,
 * the config pointing at it, four immutable artifacts (one per case), a
 * mutable metadata document and its own hostile paths.
 *
 * - N concurrent cold requests → exactly one upstream fetch and N correct bodies.
 * - A corrupt upstream body (a wrong byte, where the protocol's metadata
 *   publishes a digest; a body cut short, always) is never committed: the
 *   client sees an error status or a broken transfer, never a clean 200 of
 *   wrong bytes, and the next request fetches again and gets the right bytes.
 * - Upstream down → the cached metadata is served marked STALE, and a cached
 *   immutable artifact is served (HIT: it cannot change upstream).
 * - Hostile paths (`..`, encoded traversal, NUL, overlong) → 4xx, nothing
 *   written to the data dir or beside it, nothing of them sent upstream.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ConfigInput } from '../../daemon/config/schema.js';
import type { Protocol } from '../../daemon/protocols/contract.js';
import { startTestDaemon, tempDir, type TestDaemon } from '../helpers/daemon.js';
import { FixtureUpstream } from './upstream.js';

export interface ConformanceArtifact {
  /** Path on the daemon, e.g. "/npm/conf-a/-/conf-a-1.0.0.tgz". */
  path: string;
  /** Path on the upstream its bytes come from (its GETs are counted). */
  upstreamPath: string;
  body: Buffer;
}

export interface FixtureSetup {
  /** Remotes (and routing sections) pointing at the upstream; give them `ttl: 0` so metadata is revalidated each time. */
  config: Omit<ConfigInput, 'listen'>;
  /** Four different immutable artifacts: one per case. */
  artifacts: [ConformanceArtifact, ConformanceArtifact, ConformanceArtifact, ConformanceArtifact];
  /** Path on the daemon of a mutable metadata document. */
  metadata: string;
  /** Protocol-specific hostile paths on the daemon (the suite adds generic ones below every mount). */
  hostile: string[];
}

export interface ConformanceFixture {
  /**
   * Why a wrong byte in a complete body cannot be caught, when the upstream
   * protocol publishes no digest of the artifact (then that case is not run;
   * the cut-short body case always is).
   */
  noDigest?: string;
  /** Registers the upstream's routes (the upstream is already listening at `up.url`). */
  setup(up: FixtureUpstream): FixtureSetup;
}

interface Got {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** Whether the whole message arrived (false: the transfer broke off). */
  complete: boolean;
}

/** A GET with the path sent as written (no normalization of `..`). */
export function rawGet(port: number, path: string): Promise<Got> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', () => undefined);
      res.on('close', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), complete: res.complete }),
      );
    });
    req.on('error', () => resolve({ status: 0, headers: {}, body: Buffer.alloc(0), complete: false }));
    req.end();
  });
}

/** Every file below `dir` (relative), except the LMDB environment, with its size. */
async function files(dir: string, root = dir): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (relative(root, p) !== 'index') out.push(...(await files(p, root)));
    } else {
      const size = await stat(p).then(
        (st) => st.size,
        () => undefined,
      ); // a fill of an earlier case may just have committed
      if (size !== undefined) out.push(`${relative(root, p)} ${size}`);
    }
  }
  return out.sort();
}

/** The data dir's files once earlier fills have settled (two equal listings in a row). */
async function settled(dir: string): Promise<string[]> {
  let last = await files(dir);
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 50));
    const now = await files(dir);
    if (now.join('\n') === last.join('\n')) return now;
    last = now;
  }
  return last;
}

const CONCURRENT = 8;
const TRAVERSAL = /\.\.|%2e%2e|%00|\u0000/i;

function genericHostile(mount: string): string[] {
  return [
    `${mount}/../../../../etc/passwd`,
    `${mount}/..%2f..%2f..%2fetc%2fpasswd`,
    `${mount}/%2e%2e/%2e%2e/%2e%2e/etc/passwd`,
    `${mount}/x/%2E%2E%5c%2E%2E%5cetc%5cpasswd`,
    `${mount}/a%00b/c`,
    `${mount}/${'x/'.repeat(3000)}y`,
    `${mount}/${'a'.repeat(40_000)}`,
  ];
}

export function protocolSuite(protocol: Protocol, fixture: ConformanceFixture): void {
  describe(`protocol ${protocol.name}: conformance`, () => {
    const up = new FixtureUpstream();
    let sandbox = '';
    let dataDir = '';
    let d: TestDaemon;
    let s: FixtureSetup;
    const get = (path: string): Promise<Got> => rawGet(d.port, path);

    before(async () => {
      await up.start();
      s = fixture.setup(up);
      sandbox = await tempDir(`larder-conformance-${protocol.name}-`);
      dataDir = join(sandbox, 'data');
      await mkdir(dataDir);
      d = await startTestDaemon(s.config, { dataDir });
    });

    after(async () => {
      await d?.close({ keepData: true });
      await up.down();
      if (sandbox) await rm(sandbox, { recursive: true, force: true });
    });

    // First, on an empty cache: later cases leave commits pending (write-behind) that would land meanwhile.
    test('hostile paths: 4xx, nothing written, nothing sent upstream', async () => {
      const before = await settled(dataDir);
      const seen = up.seen.length;
      const paths = [...protocol.mounts.flatMap(genericHostile), ...s.hostile];
      for (const path of paths) {
        const r = await get(path);
        assert.ok(r.status >= 400 && r.status < 500, `${path.slice(0, 120)} → ${r.status} ${r.body.toString().slice(0, 200)}`);
      }
      assert.deepEqual(await files(dataDir), before, 'nothing written to the data dir');
      assert.deepEqual(await readdir(sandbox), ['data'], 'nothing written beside it');
      const sent = up.seen.slice(seen).filter((u) => TRAVERSAL.test(u));
      assert.deepEqual(sent, [], 'no traversal or NUL reached the upstream');
    });

    test(`${CONCURRENT} concurrent cold requests: one upstream fetch, ${CONCURRENT} correct bodies`, async () => {
      const a = s.artifacts[0];
      const all = await Promise.all(Array.from({ length: CONCURRENT }, () => get(a.path)));
      for (const r of all) {
        assert.equal(r.status, 200, `${a.path}: ${r.body.toString().slice(0, 200)}`);
        assert.ok(r.complete && r.body.equals(a.body), `${a.path}: a complete, correct body`);
      }
      assert.equal(up.count(a.upstreamPath), 1, 'exactly one upstream fetch');
    });

    const refused = async (a: ConformanceArtifact, fault: 'corrupt' | 'truncate'): Promise<void> => {
      up.fault(a.upstreamPath, fault);
      const bad = await get(a.path);
      up.fault(a.upstreamPath, undefined);
      const fetched = up.count(a.upstreamPath);
      assert.ok(fetched >= 1, 'the upstream was asked');
      assert.ok(bad.status >= 400 || !bad.complete, `a ${fault} body must not end as a clean ${bad.status} (${bad.body.length} bytes)`);
      const good = await get(a.path);
      assert.equal(good.status, 200, good.body.toString().slice(0, 200));
      assert.ok(good.complete && good.body.equals(a.body), 'the right bytes once the upstream is healed');
      assert.ok(up.count(a.upstreamPath) > fetched, 'the bad body was not committed: it is fetched again');
    };

    test('a body cut short is never committed; the client sees a failed transfer', () => refused(s.artifacts[2], 'truncate'));

    if (fixture.noDigest === undefined) {
      test('a corrupt body (one wrong byte) is never committed; the client sees a failed transfer', () =>
        refused(s.artifacts[1], 'corrupt'));
    }

    test('upstream down: cached metadata served STALE, a cached immutable artifact served (HIT)', async () => {
      const a = s.artifacts[3];
      const meta = await get(s.metadata);
      assert.equal(meta.status, 200, meta.body.toString().slice(0, 200));
      const art = await get(a.path);
      assert.equal(art.status, 200);
      await up.down();
      const staleMeta = await get(s.metadata);
      assert.equal(staleMeta.status, 200, staleMeta.body.toString().slice(0, 200));
      assert.equal(staleMeta.headers['x-larder-cache'], 'STALE');
      assert.ok(staleMeta.complete && staleMeta.body.equals(meta.body), 'the cached metadata');
      const cached = await get(a.path);
      assert.equal(cached.status, 200);
      assert.equal(cached.headers['x-larder-cache'], 'HIT');
      assert.ok(cached.complete && cached.body.equals(a.body));
    });
  });
}
