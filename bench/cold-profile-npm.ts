/**
 * The npm part of the cold-path profile (bench/cold-profile.ts): cold `npm
 * ci` direct and through a profiled Larder with the upstream behind the
 * delay proxy, upstream connections and responses of each side, a strace
 * run, and the first-byte probe of every locked tarball, bare and delayed.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { timeFirstBytes } from './cold-probes.js';
import { BENCH, compareFirstBytes, profiled, report, say, traced, WORK } from './cold-measure.js';
import { startDelayProxy, type DelayProxy } from './delay-proxy.js';
import { prepareApp, timeNpmCi } from './npm-ci.js';
import { startLarder, startUpstream } from './servers.js';

/** Profiles `rounds` cold installs with the upstream `delayMs` away. */
export async function npmSection(cli: string, rounds: number, delayMs: number): Promise<void> {
  const upstream = await startUpstream(BENCH, join(WORK, 'fixture'));
  const proxy: DelayProxy = await startDelayProxy(upstream.url, delayMs);
  try {
    const app = await prepareApp(WORK, upstream.fixture, upstream.url);
    const lock = JSON.parse(await readFile(join(app.dir, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { resolved?: string }>;
    };
    const tarballs = Object.values(lock.packages).flatMap((p) => (p.resolved ? [new URL(p.resolved).pathname] : []));
    const via = `${proxy.origin}/`;
    for (let round = 1; round <= rounds; round++) {
      proxy.resetStats();
      const direct = await timeNpmCi(app, WORK, via);
      const d = proxy.stats();
      let cold = 0;
      const text = await profiled(
        `npm-cold-${round}`,
        (args) => startLarder(cli, WORK, via, args),
        async (s) => {
          proxy.resetStats();
          cold = await timeNpmCi(app, WORK, s.registry);
        },
      );
      const l = proxy.stats();
      report[`npm.round${round}`] = { directMs: direct, larderColdMs: cold, upstreamDirect: d, upstreamLarder: l };
      say(
        `npm round ${round} (+${delayMs} ms): cold npm ci direct ${direct} ms, ` +
          `through Larder ${cold} ms (${(cold / direct).toFixed(2)}x; Larder under --cpu-prof)`,
      );
      say(
        `  upstream: direct ${d.connections} connections, ${d.responses} responses, ${(d.bytesDown / 2 ** 20).toFixed(1)} MiB; ` +
          `Larder ${l.connections} connections, ${l.responses} responses, ${(l.bytesDown / 2 ** 20).toFixed(1)} MiB`,
      );
      say(text);
    }
    say(
      await traced(
        'npm-strace',
        () => startLarder(cli, WORK, via),
        async (s) => void (await timeNpmCi(app, WORK, s.registry)),
      ),
    );
    for (const [label, base] of [
      ['npm tarballs, bare loopback', upstream.url],
      [`npm tarballs, +${delayMs} ms`, via],
    ] as const) {
      const s = await startLarder(cli, WORK, base);
      try {
        const direct = await timeFirstBytes(base, tarballs);
        const larder = await timeFirstBytes(
          s.origin,
          tarballs.map((p) => `/npm${p}`),
        );
        if (larder.some((r) => r.status !== 200)) throw new Error(`${label}: a tarball through Larder was not 200`);
        say(compareFirstBytes(label, larder, direct));
      } finally {
        await s.stop();
      }
    }
  } finally {
    await proxy.close();
    await upstream.stop();
  }
}
