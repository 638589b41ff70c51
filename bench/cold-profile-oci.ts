/**
 * The OCI and big-document parts of the cold-path profile
 * (bench/cold-profile.ts): per image a cold `skopeo copy --all` direct and
 * through a profiled Larder (a counting proxy, no delay, in front of the
 * registry), a strace run, first-byte probes of every manifest of the small
 * images and of every layer; and one profiled cold GET of the 18 MiB
 * packument.
 */
import { join } from 'node:path';
import { createSkopeoSandbox } from '../test/helpers/oci/push.js';
import { BIG_DOC_NAME, startBigDocUpstream } from './bigdoc.js';
import { timeFirstBytes } from './cold-probes.js';
import { compareFirstBytes, profiled, report, say, traced, WORK } from './cold-measure.js';
import { startDelayProxy } from './delay-proxy.js';
import { startOciUpstream, timeCopies, type OciPull } from './oci-images.js';
import { startLarderWith, type LarderRemotes } from './servers.js';

const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/** Every manifest of the small images (by tag, then each child by digest), cold through a fresh Larder and direct. */
async function manifestProbe(cli: string, origin: string, remotes: LarderRemotes, pulls: readonly OciPull[]): Promise<string> {
  const paths: string[] = [];
  for (const p of pulls) {
    paths.push(`/v2/${p.repo}/manifests/${p.tag}`);
    const doc = (await (await fetch(`${origin}/v2/${p.repo}/manifests/${p.tag}`, { headers: { accept: MANIFEST_ACCEPT } })).json()) as {
      manifests?: Array<{ digest: string }>;
    };
    for (const child of doc.manifests ?? []) paths.push(`/v2/${p.repo}/manifests/${child.digest}`);
  }
  const s = await startLarderWith(cli, WORK, remotes);
  try {
    const direct = await timeFirstBytes(origin, paths, { accept: MANIFEST_ACCEPT });
    const larder = await timeFirstBytes(
      s.origin,
      paths.map((p) => p.replace('/v2/', '/v2/docker.io/')),
      { accept: MANIFEST_ACCEPT },
    );
    return compareFirstBytes(`OCI manifests (${paths.length}, by tag and by digest)`, larder, direct);
  } finally {
    await s.stop();
  }
}

/** Profiles `rounds` cold copies of every benchmark image. */
export async function ociSection(cli: string, rounds: number): Promise<void> {
  const up = await startOciUpstream(WORK);
  const proxy = await startDelayProxy(up.registry.url, 0);
  const sandbox = await createSkopeoSandbox();
  const remotes = { hub: { type: 'oci', url: proxy.origin, host: 'docker.io' } };
  try {
    const dest = join(WORK, 'oci-dest');
    for (let round = 1; round <= rounds; round++) {
      const direct: number[] = [];
      const cold: number[] = [];
      proxy.resetStats();
      for (const p of up.pulls) direct.push(await timeCopies(sandbox, proxy.origin.slice(7), [p], dest));
      const d = proxy.stats();
      let l = d;
      const text = await profiled(
        `oci-cold-${round}`,
        (args) => startLarderWith(cli, WORK, remotes, {}, args),
        async (s) => {
          proxy.resetStats();
          for (const p of up.pulls) cold.push(await timeCopies(sandbox, `${s.origin.slice(7)}/docker.io`, [p], dest));
          l = proxy.stats();
        },
      );
      report[`oci.round${round}`] = { pulls: up.pulls, directMs: direct, larderColdMs: cold, upstreamDirect: d, upstreamLarder: l };
      say(
        `OCI round ${round}: per image (direct / Larder cold, ms): ` +
          up.pulls.map((p, i) => `${p.tag} ${direct[i]}/${cold[i]}`).join(', '),
      );
      say(
        `  total ${direct.reduce((a, b) => a + b, 0)} / ${cold.reduce((a, b) => a + b, 0)} ms; upstream: ` +
          `direct ${d.connections} connections, ${d.responses} responses; Larder ${l.connections} connections, ${l.responses} responses`,
      );
      say(text);
    }
    say(
      await traced(
        'oci-strace',
        () => startLarderWith(cli, WORK, remotes),
        async (s) => void (await timeCopies(sandbox, `${s.origin.slice(7)}/docker.io`, up.pulls, dest)),
      ),
    );
    const accept = { accept: 'application/vnd.oci.image.manifest.v1+json' };
    const layers: string[] = [];
    for (const p of up.pulls.filter((x) => x.bytes > 2 ** 20)) {
      const m = (await (await fetch(`${up.registry.url}/v2/${p.repo}/manifests/${p.tag}`, { headers: accept })).json()) as {
        layers: Array<{ digest: string }>;
      };
      for (const layer of m.layers) layers.push(`/v2/${p.repo}/blobs/${layer.digest}`);
    }
    say(
      await manifestProbe(
        cli,
        proxy.origin,
        remotes,
        up.pulls.filter((x) => x.bytes <= 2 ** 20),
      ),
    );
    const s = await startLarderWith(cli, WORK, remotes);
    try {
      const direct = await timeFirstBytes(proxy.origin, layers);
      const larder = await timeFirstBytes(
        s.origin,
        layers.map((p) => p.replace('/v2/', '/v2/docker.io/')),
      );
      say(
        compareFirstBytes(
          `OCI layers (${layers.length}, ${(larder.reduce((a, r) => a + r.bytes, 0) / 2 ** 20).toFixed(0)} MiB)`,
          larder,
          direct,
        ),
      );
      say(
        '  per layer, MiB/s direct / Larder cold: ' +
          larder
            .map(
              (r, i) =>
                `${(r.bytes / 2 ** 20).toFixed(0)} MiB ${(direct[i]!.bytes / 2 ** 20 / (direct[i]!.totalMs / 1000)).toFixed(0)}/${(r.bytes / 2 ** 20 / (r.totalMs / 1000)).toFixed(0)}`,
            )
            .join(', '),
      );
    } finally {
      await s.stop();
    }
  } finally {
    await sandbox.cleanup();
    await proxy.close();
    await up.stop();
  }
}

/** One cold GET of the 18 MiB packument through a Larder run with `--cpu-prof`. */
export async function bigDocSection(cli: string): Promise<void> {
  const up = await startBigDocUpstream();
  try {
    const remotes = { big: { type: 'npm', url: up.origin, ttl: '1h' } };
    let took = 0;
    const text = await profiled(
      'bigdoc-cold',
      (args) => startLarderWith(cli, WORK, remotes, { npm: { default: 'big' } }, args),
      async (s) => {
        const t0 = performance.now();
        await (await fetch(`${s.registry}${BIG_DOC_NAME}`)).arrayBuffer();
        took = performance.now() - t0;
      },
    );
    const t0 = performance.now();
    await (await fetch(`${up.origin}/${BIG_DOC_NAME}`)).arrayBuffer();
    say(
      `big document ${(up.bytes / 2 ** 20).toFixed(1)} MiB: cold GET through Larder ${took.toFixed(0)} ms, ` +
        `direct ${(performance.now() - t0).toFixed(0)} ms\n${text}`,
    );
  } finally {
    up.server.closeAllConnections();
    up.server.close();
  }
}
