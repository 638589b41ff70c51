/**
 * Generated Helm charts for the tests: a real chart archive (a gzipped
 * ustar tar of `<name>/Chart.yaml` and `<name>/values.yaml`), a provenance
 * file shaped like Helm's (a clear-signed block naming the archive's
 * sha256), and the index.yaml entry Helm's `helm repo index` would write.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { stringify } from 'yaml';

export interface BuiltChart {
  name: string;
  version: string;
  file: string;
  tgz: Buffer;
  sha256: string;
  prov: Buffer;
}

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, '0')}\0`;
}

/** One ustar header + body, padded to 512 bytes. */
function tarEntry(name: string, body: Buffer): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(0o644, 8), 100);
  h.write(octal(0, 8), 108);
  h.write(octal(0, 8), 116);
  h.write(octal(body.length, 12), 124);
  h.write(octal(1_700_000_000, 12), 136);
  h.write('        ', 148);
  h.write('0', 156);
  h.write('ustar\u000000', 257);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return Buffer.concat([h, body, Buffer.alloc((512 - (body.length % 512)) % 512)]);
}

export function buildChart(name: string, version: string, extra = ''): BuiltChart {
  const chartYaml = `apiVersion: v2\nname: ${name}\nversion: ${version}\ndescription: a generated test chart\n`;
  const tar = Buffer.concat([
    tarEntry(`${name}/Chart.yaml`, Buffer.from(chartYaml)),
    tarEntry(`${name}/values.yaml`, Buffer.from(`replicaCount: 1\nnote: "${extra}"\n`)),
    Buffer.alloc(1024),
  ]);
  const tgz = gzipSync(tar);
  const sha256 = createHash('sha256').update(tgz).digest('hex');
  const file = `${name}-${version}.tgz`;
  const prov = Buffer.from(
    `-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n${chartYaml}\n...\nfiles:\n  ${file}: sha256:${sha256}\n` +
      '-----BEGIN PGP SIGNATURE-----\n\nwsBcBAEBCgAQBQJnotarealsignature\n-----END PGP SIGNATURE-----\n',
  );
  return { name, version, file, tgz, sha256, prov };
}

/** An index.yaml listing each chart at its URL (digest omitted where asked). */
export function indexYaml(items: Array<{ chart: BuiltChart; url: string; digest?: boolean }>): string {
  const entries: Record<string, unknown[]> = {};
  for (const { chart, url, digest } of items) {
    const list = entries[chart.name] ?? [];
    entries[chart.name] = list;
    list.push({
      apiVersion: 'v2',
      name: chart.name,
      version: chart.version,
      created: '2026-01-01T00:00:00Z',
      description: 'a generated test chart',
      urls: [url],
      ...(digest === false ? {} : { digest: chart.sha256 }),
    });
  }
  return stringify({ apiVersion: 'v1', entries, generated: '2026-01-01T00:00:00Z' });
}
