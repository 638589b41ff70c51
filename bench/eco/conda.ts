/**
 * Conda's bench row: no conda binary here, so a client-shaped flow as a
 * `conda create` download does it: GET repodata.json of linux-64 and
 * noarch (linux-64 padded to ~20 MB with filler records, as real channels
 * are large), then every package they list (5 at a time, conda's default),
 * each checked against its repodata sha256. Direct to a generated channel,
 * cold through a fresh Larder per round, and warm (0 upstream requests
 * while repodata is fresh).
 */
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { buildPackage, type CondaPackage, repodata, writeLargeRepodata } from '../../test/helpers/conda/channel.js';
import { StaticHost } from '../../test/helpers/helm/static-host.js';
import type { EcoBench } from './contract.js';
import { body, measureEco, pool } from './helm.js';

const PACKAGES = 60;
const PARALLEL = 5;
const BIG_MB = 20;
const SUBDIRS = ['linux-64', 'noarch'];

interface Repodata {
  packages: Record<string, { sha256: string }>;
  'packages.conda': Record<string, { sha256: string }>;
}

/** Repodata of each subdir, then every real package it lists (filler records are skipped), sha256 checked. */
async function condaFlow(base: string): Promise<void> {
  for (const subdir of SUBDIRS) {
    const doc = JSON.parse((await body(`${base}${subdir}/repodata.json`)).toString('utf8')) as Repodata;
    const listed = Object.entries({ ...doc.packages, ...doc['packages.conda'] }).filter(([f]) => f.startsWith('pkg-'));
    await pool(listed, PARALLEL, async ([file, rec]) => {
      const b = await body(`${base}${subdir}/${file}`);
      if (createHash('sha256').update(b).digest('hex') !== rec.sha256) throw new Error(`${file}: sha256 mismatch`);
    });
  }
}

export const condaBench: EcoBench = {
  ecosystem: 'conda',
  async run(ctx) {
    const upstream = await new StaticHost().start();
    try {
      const pkgs: CondaPackage[] = Array.from({ length: PACKAGES }, (_, i) =>
        buildPackage(SUBDIRS[i % 2]!, `pkg-${i}`, '1.0', i % 3 === 0 ? '.tar.bz2' : '.conda'),
      );
      const dir = join(ctx.workDir, 'eco-conda');
      await mkdir(dir, { recursive: true });
      const linux = pkgs.filter((p) => p.subdir === 'linux-64');
      await writeLargeRepodata(join(dir, 'repodata.json'), 'linux-64', BIG_MB * 1024 * 1024, linux);
      await upstream.setFile('/forge/linux-64/repodata.json', join(dir, 'repodata.json'));
      upstream.set(
        '/forge/noarch/repodata.json',
        repodata(
          'noarch',
          pkgs.filter((p) => p.subdir === 'noarch'),
        ),
        'application/json',
      );
      for (const p of pkgs) upstream.set(`/forge/${p.subdir}/${p.file}`, p.body);
      const row = await measureEco(ctx, {
        ecosystem: 'conda',
        flow: `repodata.json of 2 subdirs (${BIG_MB} MB + small) + ${PACKAGES} packages (${PARALLEL} parallel), sha256 checked`,
        upstream,
        remotes: (url) => ({ forge: { type: 'conda', url: `${url}/forge/`, ttl: '1h' } }),
        run: condaFlow,
        through: (origin) => `${origin}/conda/forge/`,
        direct: `${upstream.url}/forge/`,
      });
      return [row];
    } finally {
      await upstream.stop();
    }
  },
};
