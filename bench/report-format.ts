/**
 * The plain-text table printed at the end of `npm run bench`: every phase
 * that ran, absolute numbers side by side, the paired ratios with their
 * spread over rounds, and the issue's targets.
 */
import type { LoadResult } from './load.js';
import { perCpu, type BenchResults, type Ratio, type Samples } from './report.js';
import type { ScenarioName } from './scenarios.js';

const pad = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const lpad = (s: string, n: number): string => (s.length >= n ? s : ' '.repeat(n - s.length) + s);
const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const mib = (b: number): string => fmt(b / 2 ** 20, 1);
const sec = (s: Samples): string => `${fmt(s.medianMs / 1000, 2)} s`;
const spread = (r: Ratio | undefined): string =>
  r ? `${fmt(r.median, 2)}x${r.rounds.length > 1 ? ` [${fmt(r.min, 2)}–${fmt(r.max, 2)}]` : ''}` : '';

function row(cells: [string, string, string, string, string]): string {
  return `${pad(cells[0], 44)}${lpad(cells[1], 12)}${lpad(cells[2], 12)}${lpad(cells[3], 20)}  ${cells[4]}`;
}

function loadRows(r: BenchResults, lines: string[]): void {
  const load = r.load;
  if (!load) return;
  const c = r.settings.connections;
  lines.push(row(['warm load', 'Larder', 'Verdaccio', 'ratio', '']));
  const pct = (cpuS: number, l: LoadResult): string => `${fmt((100 * cpuS) / l.windowSeconds)}%`;
  const add = (s: ScenarioName, label: string, value: (l: LoadResult) => number, digits: number, note: boolean): void => {
    const a = load[s].larder;
    const b = load[s].verdaccio;
    const text = note
      ? `server CPU ${pct(a.serverCpuSeconds, a)} / ${pct(b.serverCpuSeconds, b)}, ` +
        `other ${pct(a.otherCpuSeconds, a)} / ${pct(b.otherCpuSeconds, b)}, p99 ${fmt(a.latencyP99Ms)} / ${fmt(b.latencyP99Ms)} ms`
      : '';
    lines.push(row([label, fmt(value(a), digits), fmt(value(b), digits), `${fmt(value(a) / value(b), 2)}x`, text]));
  };
  add('packumentFull', `  packument full, hits/s @${c}`, (l) => l.requestsPerSec, 0, true);
  add('packumentAbbrev', `  packument abbreviated, hits/s @${c}`, (l) => l.requestsPerSec, 0, true);
  add('packumentFull', '    full, hits per server CPU-second', perCpu, 0, false);
  add('tarballSmall', `  small tarballs, req/s @${c}`, (l) => l.requestsPerSec, 0, true);
  add('tarballBig', `  ${mib(r.fixture.bigTarballBytes)} MiB tarball, MB/s @${c}`, (l) => l.bytesPerSec / 1e6, 0, true);
}

/** The human-readable report. */
export function formatReport(r: BenchResults): string {
  const lines: string[] = [];
  const x = r.ratios;
  lines.push(`Larder benchmark at ${r.commit}, ${r.date}; ratios are medians of per-round pairs [min–max]`);
  lines.push('-'.repeat(110));
  loadRows(r, lines);
  const n = r.npmCi;
  if (n) {
    lines.push(row([`npm ci (${r.settings.ciRounds} rounds, medians)`, 'Larder', 'floor', 'ratio', 'floor is']));
    lines.push(
      row(['  warm (fresh npm cache)', sec(n.larderWarm), sec(n.nginxWarm), spread(x.npmCiWarm_larderOverNginx), 'nginx, static files']),
    );
    lines.push(
      row([
        `  cold, upstream +${n.delayMs} ms (running, emptied)`,
        sec(n.larderRunningDelayed),
        sec(n.directDelayed),
        spread(x.npmCiCold_larderOverDirect_delayed),
        'npm ci direct to the upstream',
      ]),
    );
    lines.push(
      row([
        `  cold +${n.delayMs} ms, vs a bare node:http pass-through`,
        sec(n.larderRunningDelayed),
        sec(n.passThroughDelayed),
        spread(x.npmCiCold_larderOverPassThrough_delayed),
        `the Node.js floor (itself ${spread(x.npmCiCold_passThroughOverDirect_delayed)} direct)`,
      ]),
    );
    lines.push(
      row([
        `  cold +${n.delayMs} ms, vs the pass-through hashing and writing`,
        sec(n.larderRunningDelayed),
        sec(n.verifyDelayed),
        spread(x.npmCiCold_larderOverVerify_delayed),
        `sha256 + temp file per body (itself ${spread(x.npmCiCold_verifyOverDirect_delayed)} direct)`,
      ]),
    );
    lines.push(
      row([
        `  cold +${n.delayMs} ms, a fresh daemon`,
        sec(n.larderColdDelayed),
        sec(n.directDelayed),
        spread(x.npmCiCold_freshOverDirect_delayed),
        'npm ci direct to the upstream',
      ]),
    );
    lines.push(
      row([
        `  cold tarballs +${n.delayMs} ms, packuments cached`,
        sec(n.larderTarballsColdDelayed),
        sec(n.directDelayed),
        spread(x.npmCiColdTarballs_larderOverDirect_delayed),
        'npm ci direct to the upstream',
      ]),
    );
    lines.push(
      row([
        '  cold, bare loopback, a fresh daemon',
        sec(n.larderCold),
        sec(n.direct),
        spread(x.npmCiCold_freshOverDirect_loopback),
        'npm ci direct to the upstream',
      ]),
    );
    const d = n.upstreamTraffic.direct;
    const l = n.upstreamTraffic.larder;
    const e = n.upstreamTraffic.larderRunning;
    lines.push(
      `  upstream traffic of one cold npm ci (+${n.delayMs} ms): ` +
        `direct ${d.connections} connections / ${d.responses} responses / ${mib(d.bytesDown)} MiB; ` +
        `Larder fresh ${l.connections} / ${l.responses} / ${mib(l.bytesDown)} MiB, running ${e.connections} / ${e.responses} / ${mib(e.bytesDown)} MiB`,
    );
  }
  const o = r.oci;
  if (o) {
    lines.push(row([`skopeo copy --all, ${o.pulls.length} images, ${mib(o.totalBytes)} MiB`, 'Larder', 'floor', 'ratio', '']));
    lines.push(
      row([
        '  cold vs direct (running, emptied)',
        sec(o.larderRunningCold),
        sec(o.direct),
        spread(x.ociCold_larderOverDirect),
        'skopeo straight from the upstream',
      ]),
    );
    lines.push(
      row([
        "  cold vs the registry's pull-through proxy",
        sec(o.larderRunningCold),
        sec(o.regproxyCold),
        spread(x.ociCold_larderOverRegistryProxy),
        `docker-registry proxy.remoteurl (itself ${spread(x.ociCold_registryProxyOverDirect)} direct)`,
      ]),
    );
    lines.push(
      row([
        '  cold vs a bare node:http pass-through',
        sec(o.larderRunningCold),
        sec(o.passThroughCold),
        spread(x.ociCold_larderOverPassThrough),
        `the Node.js floor (itself ${spread(x.ociCold_passThroughOverDirect)} direct)`,
      ]),
    );
    lines.push(
      row([
        '  cold vs the pass-through hashing and writing',
        sec(o.larderRunningCold),
        sec(o.verifyCold),
        spread(x.ociCold_larderOverVerify),
        `sha256 + temp file per body (itself ${spread(x.ociCold_verifyOverDirect)} direct)`,
      ]),
    );
    lines.push(
      row([
        '  cold vs direct, a fresh daemon',
        sec(o.larderCold),
        sec(o.direct),
        spread(x.ociCold_freshOverDirect),
        `registry proxy: ${spread(x.ociCold_freshOverRegistryProxy)}`,
      ]),
    );
    lines.push(
      row([
        '  warm (Larder) vs cold direct',
        sec(o.larderWarm),
        sec(o.direct),
        `${fmt(o.larderWarm.medianMs / o.direct.medianMs, 2)}x`,
        '',
      ]),
    );
    lines.push(`  peak RSS: Larder ${mib(o.larderPeakRss)} MiB, docker-registry proxy ${mib(o.regproxyPeakRss)} MiB`);
  }
  const p = r.larderPeakRss;
  lines.push(
    `Larder peak RSS: ${mib(p.overall)} MiB over the run (npm ci ${mib(p.npmCi)}, warm load ${mib(p.load)}, OCI ${mib(p.oci)}); ` +
      `Verdaccio ${mib(r.verdaccioPeakRss)} MiB`,
  );
  const b = r.bigDoc;
  if (b) {
    const rate = (l: LoadResult): string => `${fmt(l.requestsPerSec, 1)} req/s, ${fmt(l.bytesPerSec / 1e6, 0)} MB/s`;
    lines.push(
      `big document ${mib(b.documentBytes)} MiB, ${fmt(b.versions)} versions: ` +
        `RSS idle ${mib(b.idleRss)} → after one cold GET ${mib(b.rssAfterColdGet)} MiB (peak ${mib(b.hwmAfterColdGet)}, ` +
        `GET ${fmt(b.coldGetMs)} ms); ${b.clients} clients × ${b.seconds} s: peak ${mib(b.peakRss)} MiB`,
    );
    lines.push(
      `  served: full ${rate(b.load.full)}, ` +
        `abbreviated ${rate(b.load.abbreviated)} (errors ${b.load.full.errors + b.load.abbreviated.errors})`,
    );
  }
  if (r.eco && r.eco.length > 0) {
    lines.push('ecosystems (median ms; ratio to direct; upstream requests cold/warm):');
    for (const e of r.eco) {
      lines.push(
        `  ${pad(`${e.ecosystem}: ${e.flow}`, 48)} direct ${fmt(e.directMs)}  cold ${fmt(e.coldMs)} (${fmt(e.coldMs / e.directMs, 2)}x)  ` +
          `warm ${fmt(e.warmMs)} (${fmt(e.warmMs / e.directMs, 2)}x)  upstream ${e.coldUpstreamRequests}/${e.warmUpstreamRequests}  ` +
          `RSS ${mib(e.larderPeakRss)} MiB`,
      );
    }
  }
  lines.push('');
  lines.push('targets (issue 13):');
  for (const t of r.targets) {
    const range = t.spread && t.spread[0] !== t.spread[1] ? ` [${fmt(t.spread[0], 2)}–${fmt(t.spread[1], 2)}]` : '';
    lines.push(
      `  ${t.target === 'report' ? 'INFO' : t.pass ? 'PASS' : 'FAIL'}  ${pad(t.name, 58)} ${fmt(t.value, 2)}${range} (target ${t.target})`,
    );
  }
  lines.push('');
  for (const note of r.settings.notes) lines.push(`note: ${note}`);
  return lines.join('\n');
}
