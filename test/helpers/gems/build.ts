/**
 * Builds real gems with `gem build` from gemspecs written here, and a gem
 * server's files for them: the `gems/` directory, the full index by
 * `gem generate_index` (`specs.4.8.gz`, `quick/Marshal.4.8/…`) and the
 * compact index (`versions`, `info/<gem>` with each file's checksum, and
 * `names`) as rubygems.org lays it out.
 */
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { ruby } from './ruby.js';

export interface GemDef {
  name: string;
  version: string;
  /** Runtime dependencies: name and requirements, e.g. ['beta-kit', '>= 1.0', '< 3']. */
  deps?: Array<[string, ...string[]]>;
}

export interface BuiltGem {
  def: GemDef;
  /** `<name>-<version>` */
  stem: string;
  data: Buffer;
  sha256: string;
}

export interface GemRepo {
  gems: BuiltGem[];
  /** Every file of the server by its path ("/versions", "/gems/alpha-1.0.0.gem" …). */
  files: Map<string, Buffer>;
}

const hex = (algo: string, b: Buffer | string): string => createHash(algo).update(b).digest('hex');

function gemspec(d: GemDef): string {
  const deps = (d.deps ?? []).map(
    ([n, ...reqs]) => `  s.add_runtime_dependency ${JSON.stringify(n)}, ${reqs.map((r) => JSON.stringify(r)).join(', ')}\n`,
  );
  return (
    `Gem::Specification.new do |s|\n  s.name = ${JSON.stringify(d.name)}\n  s.version = ${JSON.stringify(d.version)}\n` +
    `  s.summary = "test gem ${d.name}"\n  s.authors = ["larder tests"]\n  s.license = "MIT"\n  s.files = ["lib/${d.name}.rb"]\n${deps.join('')}end\n`
  );
}

/** Builds every gem in `dir` and lays out a server's files for them. */
export async function buildGemRepo(dir: string, defs: GemDef[]): Promise<GemRepo> {
  const repo = join(dir, 'repo');
  await mkdir(join(repo, 'gems'), { recursive: true });
  const gems: BuiltGem[] = [];
  for (const d of defs) {
    const stem = `${d.name}-${d.version}`;
    const src = join(dir, 'src', stem);
    await mkdir(join(src, 'lib'), { recursive: true });
    await writeFile(join(src, `${d.name}.gemspec`), gemspec(d));
    await writeFile(
      join(src, 'lib', `${d.name}.rb`),
      `LARDER_TEST_${d.name.replace(/[^A-Za-z0-9]/g, '_').toUpperCase()} = ${JSON.stringify(d.version)}\n`,
    );
    const built = await ruby('gem', ['build', `${d.name}.gemspec`], { cwd: src, home: dir });
    if (built.code !== 0) throw new Error(`gem build ${stem}: ${built.stderr}${built.stdout}`);
    await copyFile(join(src, `${stem}.gem`), join(repo, 'gems', `${stem}.gem`));
    const data = await readFile(join(repo, 'gems', `${stem}.gem`));
    gems.push({ def: d, stem, data, sha256: hex('sha256', data) });
  }
  const indexed = await ruby('gem', ['generate_index', '-d', repo], { cwd: dir, home: dir });
  if (indexed.code !== 0) throw new Error(`gem generate_index: ${indexed.stderr}${indexed.stdout}`);
  const files = new Map<string, Buffer>();
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(d, e.name));
      else files.set(`/${relative(repo, join(d, e.name))}`, await readFile(join(d, e.name)));
    }
  };
  await walk(repo);
  for (const [path, body] of Object.entries(compactIndex(gems))) files.set(path, Buffer.from(body));
  return { gems, files };
}

/** `/versions`, `/names` and `/info/<gem>` for the gems, as rubygems.org writes them. */
export function compactIndex(gems: BuiltGem[]): Record<string, string> {
  const byName = new Map<string, BuiltGem[]>();
  for (const g of gems) byName.set(g.def.name, [...(byName.get(g.def.name) ?? []), g]);
  const out: Record<string, string> = {};
  const versions: string[] = [];
  for (const [name, list] of [...byName].sort(([a], [b]) => a.localeCompare(b))) {
    const lines = list.map((g) => {
      const deps = (g.def.deps ?? []).map(([n, ...reqs]) => `${n}:${[...reqs].sort().join('&')}`).join(',');
      return `${g.def.version} ${deps}|checksum:${g.sha256},ruby:>= 0,rubygems:>= 0`;
    });
    const info = `---\n${lines.join('\n')}\n`;
    out[`/info/${name}`] = info;
    versions.push(`${name} ${list.map((g) => g.def.version).join(',')} ${hex('md5', info)}`);
  }
  out['/versions'] = `created_at: 2026-01-01T00:00:00Z\n---\n${versions.join('\n')}\n`;
  out['/names'] = `---\n${[...byName.keys()].sort().join('\n')}\n`;
  return out;
}

/**
 * Publishes one more gem into `repo` as rubygems.org does: its `.gem`, a new
 * `/info/<name>`, and one line appended to `/versions` (append-only, so a
 * client holding the old file can fetch just the tail). The full index
 * files are left as they were.
 */
export async function publishGem(repo: GemRepo, dir: string, def: GemDef): Promise<BuiltGem> {
  const built = (await buildGemRepo(join(dir, `publish-${def.name}-${def.version}`), [def])).gems[0]!;
  repo.gems.push(built);
  const info = compactIndex(repo.gems.filter((g) => g.def.name === def.name))[`/info/${def.name}`]!;
  repo.files.set(`/gems/${built.stem}.gem`, built.data);
  repo.files.set(`/info/${def.name}`, Buffer.from(info));
  const versions = repo.files.get('/versions')!.toString('utf8');
  repo.files.set('/versions', Buffer.from(`${versions}${def.name} ${def.version} ${hex('md5', info)}\n`));
  return built;
}
