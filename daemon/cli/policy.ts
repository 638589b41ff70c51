/**
 * `larder policy import-osv FILE|ZIP|DIR…`: checks OSV records (a file holding a
 * record or an array of them, a `.zip` of such files as osv.dev exports
 * them, or a folder of `.json` files) and writes each
 * record the blocklist keeps (its id prefix is in `policy.blocklist.ids`) as
 * `<id>.json` into the blocklist folder (`policy.blocklist.osv`, or --to).
 * The daemon watches that folder: imported records take effect without a
 * restart. Works without the daemon.
 * `larder policy status` and `larder policy explain <ref>` ask the daemon.
 */
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import { Blocklist } from '../core/policy/index.js';
import { readZip } from '../core/policy/zip.js';
import type { PolicyExplanation, PolicyStatus } from '../admin/contract.js';
import { AdminClient, CliError, EXIT } from './admin-client.js';
import type { Flags } from './args.js';

const out = (s: string): void => void process.stdout.write(`${s}\n`);

/** The record documents of one file or folder, with where each came from. */
async function records(path: string): Promise<Array<{ doc: unknown; where: string }>> {
  if (path.toLowerCase().endsWith('.zip') && (await stat(path)).isFile()) {
    let entries: Array<{ name: string; data: Buffer }>;
    try {
      entries = readZip(await readFile(path), path, (n) => n.endsWith('.json'));
    } catch (err) {
      throw new CliError((err as Error).message, EXIT.failed);
    }
    return entries.flatMap((e) => parsed(e.data.toString('utf8'), `${path}:${e.name}`));
  }
  const files = (await stat(path)).isDirectory()
    ? (await readdir(path))
        .filter((n) => n.endsWith('.json'))
        .sort()
        .map((n) => join(path, n))
    : [path];
  const found: Array<{ doc: unknown; where: string }> = [];
  for (const f of files) found.push(...parsed(await readFile(f, 'utf8'), f));
  return found;
}

function parsed(text: string, where: string): Array<{ doc: unknown; where: string }> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new CliError(`${where} is not JSON (${(err as Error).message})`, EXIT.failed);
  }
  return (Array.isArray(doc) ? doc : [doc]).map((d) => ({ doc: d, where }));
}

const USAGE = 'larder policy import-osv FILE|ZIP|DIR… | status | explain <ref>';

/** The lines of `larder policy status`. */
export function statusLines(s: PolicyStatus): string[] {
  const lines = [
    `minAge ${s.minAge}  onBlocked ${s.onBlocked}${s.exclude.length ? `  exclude ${s.exclude.join(', ')}` : ''}`,
    ...Object.entries(s.remotes).map(([name, r]) => `remote ${name}: ${JSON.stringify(r)}`),
    `blocklist ${s.blocklist.folder ?? '(no folder)'}: ${s.blocklist.records.length} records (ids ${s.blocklist.ids.join(', ')})`,
  ];
  for (const r of s.blocklist.records) {
    const what = r.affected.map(
      (a) => `${a.ecosystem}:${a.name}${a.versions.length ? `@${a.versions.join(',')}` : ''}${a.ranges ? ` (+${a.ranges} ranges)` : ''}`,
    );
    lines.push(`  ${r.id}  ${what.join('; ')}${r.summary ? `  ${r.summary}` : ''}`);
  }
  for (const c of s.counts) lines.push(`${c.reason} ${c.count} requests on ${c.remote}`);
  lines.push(`quarantined ${s.quarantined.length}`);
  for (const q of s.quarantined) lines.push(`  ${q.protocol}:${q.name}@${q.version}  ${q.id}  ${q.key}  ${new Date(q.at).toISOString()}`);
  return lines;
}

/** The lines of `larder policy explain`. */
export function explainLines(e: PolicyExplanation): string[] {
  const lines = [`${e.verdict}: ${e.message}`, `remote ${e.remote}  minAge ${e.minAge}${e.pinned ? '  pinned' : ''}`];
  if (e.published) lines.push(`published ${e.published}${e.until ? `  allowed from ${e.until}` : ''}`);
  if (e.because) lines.push(`because ${e.because}`);
  if (e.osv) lines.push(`listed in ${e.osv.id}${e.osv.summary ? `: ${e.osv.summary}` : ''}`);
  for (const q of e.quarantined) lines.push(`quarantined ${q.key} (${q.digest})`);
  return lines;
}

async function ask(
  cfg: LoadedConfig,
  sub: 'status' | 'explain',
  args: string[],
  flags: Flags,
  print: (s: string) => void,
): Promise<number> {
  const c = await AdminClient.fromConfig(cfg);
  if (sub === 'status') {
    const s = await c.policyStatus();
    for (const l of flags.json ? [JSON.stringify(s)] : statusLines(s)) print(l);
    return EXIT.ok;
  }
  if (args.length !== 1)
    throw new CliError('larder policy explain needs one reference', EXIT.usage, 'e.g. larder policy explain npm:foo@1.2.3');
  const e = await c.policyExplain(args[0]!);
  for (const l of flags.json ? [JSON.stringify(e)] : explainLines(e)) print(l);
  return e.verdict === 'allowed' ? EXIT.ok : EXIT.failed;
}

export async function policyCommand(cfg: LoadedConfig, args: string[], flags: Flags, print = out): Promise<number> {
  const [sub, ...paths] = args;
  if (sub === 'status' || sub === 'explain') return ask(cfg, sub, paths, flags, print);
  if (sub !== 'import-osv') throw new CliError(`unknown policy command ${sub ?? ''}`.trim(), EXIT.usage, USAGE);
  if (paths.length === 0)
    throw new CliError('name at least one OSV file, zip or folder', EXIT.usage, 'larder policy import-osv FILE|ZIP|DIR…');
  const to = typeof flags.to === 'string' ? flags.to : cfg.policy.blocklist.osv;
  if (!to) throw new CliError('no blocklist folder: set policy.blocklist.osv in the config, or pass --to DIR', EXIT.config);
  if (to.toLowerCase().endsWith('.zip'))
    throw new CliError(`the blocklist ${to} is a zip: replace it, or import into a folder with --to DIR`, EXIT.usage);
  const check = new Blocklist(cfg.policy.blocklist.ids);
  let kept = 0;
  let skipped = 0;
  await mkdir(to, { recursive: true });
  for (const p of paths) {
    for (const { doc, where } of await records(p)) {
      let accepted: boolean;
      try {
        accepted = check.add(doc, where);
      } catch (err) {
        throw new CliError((err as Error).message, EXIT.failed);
      }
      if (!accepted) {
        skipped++;
        continue;
      }
      const id = (doc as { id: string }).id;
      await writeFile(join(to, `${id.replace(/[^A-Za-z0-9._-]/g, '_')}.json`), `${JSON.stringify(doc, null, 2)}\n`);
      kept++;
    }
  }
  const summary = { imported: kept, skipped, folder: to };
  print(
    flags.json
      ? JSON.stringify(summary)
      : `imported ${kept} OSV records into ${to}` +
          (skipped ? ` (${skipped} skipped: id prefix not in policy.blocklist.ids ${cfg.policy.blocklist.ids.join(', ')})` : '') +
          '; a daemon watching the folder applies them now (with policy.blocklist.watch: false, at its next start)',
  );
  return EXIT.ok;
}
