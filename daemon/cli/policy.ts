/**
 * `larder policy import-osv FILE|DIR…`: checks OSV records (a file holding a
 * record or an array of them, or a folder of `.json` files) and writes each
 * record the blocklist keeps (its id prefix is in `policy.blocklist.ids`) as
 * `<id>.json` into the blocklist folder (`policy.blocklist.osv`, or --to).
 * The daemon reads that folder when it starts. Works without the daemon.
 */
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { Blocklist } from '../core/policy/index.js';
import { CliError, EXIT } from './admin-client.js';
import type { Flags } from './args.js';

const out = (s: string): void => void process.stdout.write(`${s}\n`);

/** The record documents of one file or folder, with where each came from. */
async function records(path: string): Promise<Array<{ doc: unknown; where: string }>> {
  const files = (await stat(path)).isDirectory()
    ? (await readdir(path))
        .filter((n) => n.endsWith('.json'))
        .sort()
        .map((n) => join(path, n))
    : [path];
  const found: Array<{ doc: unknown; where: string }> = [];
  for (const f of files) {
    let doc: unknown;
    try {
      doc = JSON.parse(await readFile(f, 'utf8'));
    } catch (err) {
      throw new CliError(`${f} is not JSON (${(err as Error).message})`, EXIT.failed);
    }
    for (const d of Array.isArray(doc) ? doc : [doc]) found.push({ doc: d, where: f });
  }
  return found;
}

export async function policyCommand(cfg: Config, args: string[], flags: Flags, print = out): Promise<number> {
  const [sub, ...paths] = args;
  if (sub !== 'import-osv')
    throw new CliError(`unknown policy command ${sub ?? ''}`.trim(), EXIT.usage, 'larder policy import-osv FILE|DIR…');
  if (paths.length === 0) throw new CliError('name at least one OSV file or folder', EXIT.usage, 'larder policy import-osv FILE|DIR…');
  const to = typeof flags.to === 'string' ? flags.to : cfg.policy.blocklist.osv;
  if (!to) throw new CliError('no blocklist folder: set policy.blocklist.osv in the config, or pass --to DIR', EXIT.config);
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
          '; the daemon reads the folder when it starts',
  );
  return EXIT.ok;
}
