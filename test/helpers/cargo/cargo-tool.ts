/**
 * The real `cargo` (the one on PATH: Debian's is too old for the sparse
 * protocol) run against Larder: a consumer crate whose
 * `.cargo/config.toml` replaces crates-io with Larder's sparse index, and a
 * CARGO_HOME of the test's own so every run really asks the registry.
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface CargoRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** The `cargo --version` line, or undefined when there is no cargo. */
export function cargoVersion(): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('cargo', ['--version'], { timeout: 60_000 }, (err, stdout) => resolve(err ? undefined : stdout.trim()));
  });
}

/** The client setting the README documents, for a Larder at `larderUrl` (no trailing slash). */
export function cargoConfig(larderUrl: string, remote?: string): string {
  const index = remote ? `${larderUrl}/cargo/${remote}/index/` : `${larderUrl}/cargo/index/`;
  return `[source.crates-io]\nreplace-with = "larder"\n\n[source.larder]\nregistry = "sparse+${index}"\n`;
}

export interface Consumer {
  dir: string;
  name: string;
  deps: Record<string, string>;
  lib: string;
}

/** Writes a consumer crate and its `.cargo/config.toml`. */
export async function writeConsumer(c: Consumer, config: string): Promise<void> {
  await mkdir(join(c.dir, 'src'), { recursive: true });
  await mkdir(join(c.dir, '.cargo'), { recursive: true });
  const deps = Object.entries(c.deps)
    .map(([n, req]) => `${n} = "${req}"\n`)
    .join('');
  await writeFile(
    join(c.dir, 'Cargo.toml'),
    `[package]\nname = "${c.name}"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\n${deps}`,
  );
  await writeFile(join(c.dir, 'src', 'lib.rs'), c.lib);
  await writeFile(join(c.dir, '.cargo', 'config.toml'), config);
}

/** Runs cargo in `cwd` with its own CARGO_HOME; never offline unless `--offline` is passed. */
export function runCargo(args: string[], opts: { cwd: string; cargoHome: string; retries?: number }): Promise<CargoRun> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CARGO_HOME: opts.cargoHome,
    CARGO_TERM_COLOR: 'never',
    CARGO_TERM_PROGRESS_WHEN: 'never',
  };
  delete env.CARGO_NET_OFFLINE;
  delete env.CARGO_REGISTRIES_CRATES_IO_PROTOCOL;
  env.CARGO_NET_RETRY = String(opts.retries ?? 0);
  env.CARGO_HTTP_TIMEOUT = '60';
  return new Promise((resolve) => {
    execFile('cargo', args, { cwd: opts.cwd, env, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
