/**
 * Generated conda channels for the tests: package files (opaque bytes:
 * Larder never looks inside a `.conda` or `.tar.bz2`, it verifies their
 * sha256 and size against repodata), repodata.json documents listing them,
 * and a large repodata.json written to disk in chunks (hundreds of MB of
 * filler records, never held whole) with real records at its end.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

export interface CondaPackage {
  subdir: string;
  file: string;
  body: Buffer;
  record: {
    name: string;
    version: string;
    build: string;
    build_number: number;
    depends: string[];
    sha256: string;
    size: number;
    md5: string;
  };
}

export function buildPackage(
  subdir: string,
  name: string,
  version: string,
  ext: '.conda' | '.tar.bz2',
  depends: string[] = [],
): CondaPackage {
  const build = 'h1234567_0';
  const body = randomBytes(20_000 + Math.floor(Math.random() * 20_000));
  return {
    subdir,
    file: `${name}-${version}-${build}${ext}`,
    body,
    record: {
      name,
      version,
      build,
      build_number: 0,
      depends,
      sha256: createHash('sha256').update(body).digest('hex'),
      size: body.length,
      md5: createHash('md5').update(body).digest('hex'),
    },
  };
}

/** A subdir's repodata.json listing the packages under `packages` / `packages.conda` by extension. */
export function repodata(subdir: string, pkgs: CondaPackage[]): string {
  const packages: Record<string, unknown> = {};
  const condas: Record<string, unknown> = {};
  for (const p of pkgs) (p.file.endsWith('.conda') ? condas : packages)[p.file] = { ...p.record, subdir };
  return JSON.stringify({ info: { subdir }, packages, 'packages.conda': condas, removed: [], repodata_version: 1 }, null, 1);
}

/**
 * Writes a repodata.json of about `bytes` bytes to `file`: filler records
 * first, then `pkgs`. Returns its size and sha256 (computed while writing).
 */
export async function writeLargeRepodata(
  file: string,
  subdir: string,
  bytes: number,
  pkgs: CondaPackage[],
): Promise<{ size: number; sha256: string }> {
  const out = createWriteStream(file);
  const hash = createHash('sha256');
  let size = 0;
  const write = async (s: string): Promise<void> => {
    const b = Buffer.from(s);
    hash.update(b);
    size += b.length;
    if (!out.write(b)) await once(out, 'drain');
  };
  await write(`{\n "info": {"subdir": "${subdir}"},\n "packages": {},\n "packages.conda": {\n`);
  const fake = 'f'.repeat(64);
  for (let i = 0; size < bytes; ) {
    const lines: string[] = [];
    for (let j = 0; j < 2000; j++, i++) {
      lines.push(
        `  "filler-${i}-1.0-h0_0.conda": {"build": "h0_0", "build_number": 0, "depends": ["python >=3.8", "libzlib >=1.2.13,<2.0a0"], ` +
          `"license": "MIT", "md5": "${fake.slice(0, 32)}", "name": "filler-${i}", "sha256": "${fake}", "size": ${1000 + j}, ` +
          `"subdir": "${subdir}", "timestamp": 1700000000000, "version": "1.0"},\n`,
      );
    }
    await write(lines.join(''));
  }
  const real = pkgs.map((p) => `  ${JSON.stringify(p.file)}: ${JSON.stringify({ ...p.record, subdir })}`);
  const tail = [...real, '  "last-0-h0_0.conda": {"name": "last"}'].join(',\n');
  await write(`${tail}\n },\n "removed": [],\n "repodata_version": 1\n}\n`);
  out.end();
  await once(out, 'close');
  return { size, sha256: hash.digest('hex') };
}
