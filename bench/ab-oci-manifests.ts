/**
 * Cold OCI manifest latency of two Larder builds, interleaved:
 * `node --import tsx bench/ab-oci-manifests.ts <dist-a> <dist-b> [rounds]`.
 * A small in-process registry serves 20 fresh tags per Larder, each an index
 * of two image manifests; a client GETs each tag, then both children by
 * digest, one request after another, through a fresh Larder per build and
 * round (order alternating). Prints per-round totals and b/a.
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { join, resolve } from 'node:path';
import { startLarderWith } from './servers.js';

const WORK = join(import.meta.dirname, '.work');
const builds = [resolve(process.argv[2]!), resolve(process.argv[3]!)];
const rounds = Number(process.argv[4] ?? 6);
const TAGS = 20;
const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const docs = new Map<string, { body: Buffer; type: string }>();
const IDX = 'application/vnd.oci.image.index.v1+json';
const MAN = 'application/vnd.oci.image.manifest.v1+json';
let gen = 0;
function makeTags(): string[] {
  const tags: string[] = [];
  for (let t = 0; t < TAGS; t++) {
    const children = [0, 1].map((c) => {
      const body = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MAN,
          config: { digest: `sha256:${'0'.repeat(64)}`, size: gen * 100 + t * 2 + c },
          layers: [],
        }),
      );
      docs.set(sha(body), { body, type: MAN });
      return { mediaType: MAN, digest: sha(body), size: body.length };
    });
    const idx = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: IDX, manifests: children }));
    const tag = `g${gen}t${t}`;
    docs.set(tag, { body: idx, type: IDX });
    docs.set(sha(idx), { body: idx, type: IDX });
    tags.push(tag);
  }
  gen++;
  return tags;
}
const server = createServer((req, res) => {
  const ref = decodeURIComponent(req.url!.split('/manifests/')[1] ?? '');
  const d = docs.get(ref);
  if (!d) return void res.writeHead(404).end();
  res.writeHead(200, { 'content-type': d.type, 'content-length': String(d.body.length), 'docker-content-digest': sha(d.body) });
  res.end(req.method === 'HEAD' ? undefined : d.body);
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
const accept = `${IDX}, ${MAN}`;
const results: number[][] = [[], []];
for (let round = 0; round < rounds; round++) {
  for (const i of round % 2 ? [1, 0] : [0, 1]) {
    const tags = makeTags();
    const s = await startLarderWith(join(builds[i]!, 'daemon', 'cli.js'), WORK, { hub: { type: 'oci', url, host: 'docker.io' } });
    try {
      const t0 = performance.now();
      for (const tag of tags) {
        const r = await fetch(`${s.origin}/v2/docker.io/bench/m/manifests/${tag}`, { headers: { accept } });
        const idx = (await r.json()) as { manifests: Array<{ digest: string }> };
        for (const c of idx.manifests)
          await (await fetch(`${s.origin}/v2/docker.io/bench/m/manifests/${c.digest}`, { headers: { accept } })).arrayBuffer();
      }
      results[i]!.push(performance.now() - t0);
    } finally {
      await s.stop();
    }
  }
  console.log(
    `round ${round + 1}: a ${results[0]!.at(-1)!.toFixed(0)} ms, b ${results[1]!.at(-1)!.toFixed(0)} ms (${TAGS} tags × 3 manifests)`,
  );
}
const med = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
const ratios = results[1]!.map((b, i) => b / results[0]![i]!);
console.log(
  `median a ${med(results[0]!).toFixed(0)} b ${med(results[1]!).toFixed(0)} ms; b/a median ${med(ratios).toFixed(2)} [${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}]`,
);
server.close();
