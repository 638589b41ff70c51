/**
 * Runs the real apt-get against one source line with private state: its own
 * sources.list, lists, package cache and archives directories, no locking,
 * no dpkg status (so nothing on the machine is read or changed), and the
 * repository's key given by `signed-by`.
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface AptRun {
  code: number;
  output: string;
}

export interface AptClient {
  dir: string;
  update(): Promise<AptRun>;
  /** `apt-get download <pkg>` into `<dir>/downloads`; returns the run and the files there. */
  download(pkg: string): Promise<AptRun & { files: string[] }>;
}

function exec(args: string[], cwd: string): Promise<AptRun> {
  return new Promise((resolve) => {
    execFile(
      'apt-get',
      args,
      { cwd, timeout: 120_000, env: { ...process.env, LC_ALL: 'C', DEBIAN_FRONTEND: 'noninteractive' } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, output: `${stdout}${stderr}` });
      },
    );
  });
}

/** `repoUrl` is the archive root as apt should see it (e.g. http://127.0.0.1:p/files/debian). */
export async function createAptClient(dir: string, repoUrl: string, suite: string, keyring: string): Promise<AptClient> {
  const sources = join(dir, 'sources.list');
  await mkdir(join(dir, 'lists', 'partial'), { recursive: true });
  await mkdir(join(dir, 'cache', 'archives', 'partial'), { recursive: true });
  await mkdir(join(dir, 'downloads'), { recursive: true });
  await writeFile(join(dir, 'status'), '');
  await writeFile(sources, `deb [signed-by=${keyring}] ${repoUrl} ${suite} main\n`);
  const opts = [
    `Dir::Etc::SourceList=${sources}`,
    'Dir::Etc::SourceParts=/dev/null',
    `Dir::State::Lists=${join(dir, 'lists')}`,
    `Dir::State::status=${join(dir, 'status')}`,
    `Dir::Cache=${join(dir, 'cache')}`,
    `Dir::Cache::Archives=${join(dir, 'cache', 'archives')}`,
    'Debug::NoLocking=1',
    'APT::Sandbox::User=root',
    'Acquire::Languages=none',
    'Acquire::http::Proxy=DIRECT',
    'Acquire::Retries=0',
  ].flatMap((o) => ['-o', o]);
  return {
    dir,
    update: () => exec([...opts, 'update'], dir),
    async download(pkg) {
      const cwd = join(dir, 'downloads');
      const r = await exec([...opts, 'download', pkg], cwd);
      return { ...r, files: (await readdir(cwd)).sort() };
    },
  };
}
