/**
 * `larder export` and `larder import`: air-gap bundles through the running
 * daemon's admin API (it owns the store, resolves references and lockfiles
 * with its warmers, and commits through the store's one commit protocol).
 * Both directions stream: the export is written to `<out>.partial` and
 * renamed once every announced byte arrived; the import uploads the file as
 * it is read. `export --sign` signs the manifest with the daemon's key
 * (`export --print-key` shows it); `import` refuses unsigned bundles and
 * keys not in bundles.trustedKeys unless given `--allow-unsigned`.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, rename, rm, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ExportRequest, ImportReport } from '../admin/contract.js';
import { type AdminClient, CliError, EXIT } from './admin-client.js';
import type { Flags } from './args.js';

const out = (s: string): void => void process.stdout.write(`${s}\n`);

function mb(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)} GB` : `${(n / 1e6).toFixed(1)} MB`;
}

export async function exportCommand(c: AdminClient, refs: string[], flags: Flags): Promise<number> {
  if (flags['print-key'] === true) {
    const { publicKey } = await c.call<{ publicKey: string }>('GET', '/bundle-key');
    out(flags.json ? JSON.stringify({ publicKey }) : publicKey);
    return EXIT.ok;
  }
  const file = flags.out;
  if (typeof file !== 'string' || !file)
    throw new CliError('larder export needs --out FILE', EXIT.usage, 'e.g. larder export --out site.tar --pins');
  const req: ExportRequest = {};
  if (flags.pins === true) req.pins = true;
  if (refs.length) req.refs = refs;
  const lockfiles = (flags.lockfile as string[] | undefined) ?? [];
  if (lockfiles.length)
    req.files = await Promise.all(lockfiles.map(async (f) => ({ name: basename(f), content: await readFile(f, 'utf8') })));
  const prefixes = (flags.prefix as string[] | undefined) ?? [];
  if (prefixes.length) req.prefixes = prefixes;
  if (flags.deps === true) req.deps = true;
  if (flags.sign === true) req.sign = true;
  if (!req.pins && !req.refs && !req.files && !req.prefixes) {
    throw new CliError('nothing to export', EXIT.usage, 'give --pins, references, --lockfile FILE or --prefix KEY');
  }
  const res = await c.stream('POST', '/export', { json: req });
  const expected = Number(res.headers['content-length']);
  const partial = `${file}.partial`;
  let n = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      n += chunk.length;
      cb(null, chunk);
    },
  });
  try {
    await pipeline(res, count, createWriteStream(partial, { mode: 0o644 }));
    if (Number.isFinite(expected) && n !== expected)
      throw new CliError(`the bundle was cut short (${n} of ${expected} bytes)`, EXIT.failed);
    await rename(partial, file);
  } catch (err) {
    await rm(partial, { force: true });
    if (err instanceof CliError) throw err;
    throw new CliError(
      `the export failed after ${mb(n)}: ${(err as Error).message}`,
      EXIT.failed,
      'the daemon log says why (a blob missing from the store?)',
    );
  }
  out(flags.json ? JSON.stringify({ file, bytes: n }) : `wrote ${file} (${mb(n)})`);
  return EXIT.ok;
}

export async function importCommand(c: AdminClient, args: string[], flags: Flags): Promise<number> {
  const [file, extra] = args;
  if (!file || extra !== undefined) throw new CliError('larder import needs exactly one FILE', EXIT.usage, 'e.g. larder import site.tar');
  const size = (await stat(file)).size;
  const res = await c.stream('POST', flags['allow-unsigned'] === true ? '/import?allowUnsigned=1' : '/import', {
    stream: createReadStream(file, { highWaterMark: 1024 * 1024 }),
    type: 'application/x-tar',
  });
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  const r = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ImportReport;
  if (flags.json) out(JSON.stringify(r));
  else {
    out(
      `imported ${file} (${mb(size)}): ${r.blobs.added} blobs added (${mb(r.bytes)}), ${r.blobs.present} already present; ` +
        `${r.entries.added} entries added, ${r.entries.updated} updated; ${r.pins} pins; ` +
        (r.signer === 'unsigned' ? 'UNSIGNED (allowed by --allow-unsigned)' : `signed by ${r.signer}`),
    );
    if (r.clamped) out(`${r.clamped} entries had their times clamped (fresh at most for their remote's ttl from now)`);
    if (r.unknownRemotes.length) out(`warning: entries for remotes this daemon does not configure: ${r.unknownRemotes.join(', ')}`);
  }
  return EXIT.ok;
}
