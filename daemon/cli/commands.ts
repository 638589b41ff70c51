/**
 * `larder` operator commands, talking to the running daemon: prewarm, pin,
 * status, peers, evict, scrub, gc, token rotate|create|ls|revoke, ui.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { exec } from 'node:child_process';
import cliProgress from 'cli-progress';
import type { Job, Pin, ScrubStatus, Stats, TokenCreated, TokenInfo } from '../admin/contract.js';
import { type AdminClient, CliError, EXIT } from './admin-client.js';
import type { Flags } from './args.js';
import { exportCommand, importCommand } from './bundle.js';
import { peersLines, todayShare } from './peers.js';

const out = (s: string): void => void process.stdout.write(`${s}\n`);

function mb(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)} GB` : `${(n / 1e6).toFixed(1)} MB`;
}

async function prewarm(c: AdminClient, args: string[], flags: Flags): Promise<number> {
  const files: Array<{ name: string; content: string }> = [];
  const refs = [...args];
  for (const f of (flags.lockfile as string[] | undefined) ?? []) files.push({ name: basename(f), content: await readFile(f, 'utf8') });
  if (typeof flags.from === 'string') {
    const text = await readFile(flags.from, 'utf8');
    refs.push(
      ...text
        .split(/\r?\n/)
        .map((l) => l.replace(/#.*$/, '').trim())
        .filter(Boolean),
    );
  }
  if (!refs.length && !files.length)
    throw new CliError('nothing to pre-warm', EXIT.usage, 'give references, --lockfile FILE or --from FILE');
  let job = await c.call<Job>('POST', '/jobs', { refs, files, deps: flags['no-deps'] !== true });
  const tty = process.stdout.isTTY && flags.json !== true;
  const bar = tty
    ? new cliProgress.SingleBar({ format: ' {bar} {value}/{total} items | {mb} | {state}' }, cliProgress.Presets.shades_classic)
    : undefined;
  bar?.start(job.total, 0, { mb: mb(0), state: job.state });
  while (job.state === 'running' || job.state === 'queued') {
    await new Promise((r) => setTimeout(r, 300));
    job = await c.call<Job>('GET', `/jobs/${job.id}`);
    bar?.setTotal(job.total);
    bar?.update(job.done + job.failed, { mb: mb(job.bytes), state: job.state });
  }
  bar?.stop();
  if (tty) {
    for (const i of job.items.filter((x) => x.state === 'failed')) out(`failed: ${i.ref}: ${i.error ?? ''}`);
    out(`${job.state}: ${job.done} warmed, ${job.failed} failed, ${mb(job.bytes)} fetched`);
  } else out(JSON.stringify(job));
  return job.failed > 0 ? EXIT.failed : EXIT.ok;
}

async function pin(c: AdminClient, args: string[], flags: Flags): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'add') {
    if (!rest.length) throw new CliError('larder pin add needs a reference', EXIT.usage, 'e.g. larder pin add npm:react@^18');
    let status: number = EXIT.ok;
    for (const ref of rest) {
      const p = await c.call<Pin>('POST', '/pins', { ref });
      out(
        flags.json
          ? JSON.stringify(p)
          : `${p.status === 'error' ? 'error' : 'pinned'} ${p.ref} → ${p.resolved ?? '?'} (${p.id})${p.error ? `: ${p.error}` : ''}`,
      );
      if (p.status === 'error') status = EXIT.failed;
    }
    return status;
  }
  if (sub === 'rm') {
    const pins = await c.call<Pin[]>('GET', '/pins');
    for (const x of rest) {
      const p = pins.find((q) => q.id === x || q.ref === x);
      if (!p) throw new CliError(`no pin ${x}`, EXIT.failed, 'see `larder pin ls`');
      await c.call('DELETE', `/pins/${p.id}`);
      out(`unpinned ${p.ref}`);
    }
    return EXIT.ok;
  }
  if (sub === 'ls' || sub === undefined) {
    const pins = await c.call<Pin[]>('GET', '/pins');
    if (flags.json) out(JSON.stringify(pins));
    else
      for (const p of pins)
        out(
          `${p.id}  ${p.status.padEnd(9)} lag ${String(p.lagSeconds).padStart(5)}s  ${mb(p.size).padStart(9)}  ${p.ref} → ${p.resolved ?? '?'}`,
        );
    return EXIT.ok;
  }
  throw new CliError(`unknown pin command ${sub}`, EXIT.usage, 'larder pin add|rm|ls');
}

async function token(c: AdminClient, args: string[], flags: Flags): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'rotate') {
    await c.call('POST', '/token/rotate');
    out('admin token rotated (written to <dataDir>/admin-token); dashboard sessions were ended');
    return EXIT.ok;
  }
  if (sub === 'create') {
    if (typeof flags.scope !== 'string' || typeof flags.name !== 'string')
      throw new CliError(
        'larder token create needs --scope and --name',
        EXIT.usage,
        'e.g. larder token create --scope replicate --name edge-1',
      );
    const t = await c.call<TokenCreated>('POST', '/tokens', { name: flags.name, scope: flags.scope });
    if (flags.json) out(JSON.stringify(t));
    else {
      out(t.token);
      process.stderr.write(`token ${t.name} (scope ${t.scope}) created: it is shown this once, keep it now\n`);
    }
    return EXIT.ok;
  }
  if (sub === 'ls') {
    const list = await c.call<TokenInfo[]>('GET', '/tokens');
    if (flags.json) out(JSON.stringify(list));
    else
      for (const t of list) {
        const used = t.lastUsedAt ? new Date(t.lastUsedAt).toISOString() : 'never';
        out(`${t.name.padEnd(24)} ${t.scope.padEnd(10)} created ${new Date(t.createdAt).toISOString()}  last used ${used}`);
      }
    return EXIT.ok;
  }
  if (sub === 'revoke') {
    if (rest.length !== 1) throw new CliError('larder token revoke needs one name', EXIT.usage, 'see `larder token ls`');
    await c.call('DELETE', `/tokens/${encodeURIComponent(rest[0]!)}`);
    out(`revoked ${rest[0]}`);
    return EXIT.ok;
  }
  throw new CliError(`unknown token command ${sub ?? ''}`, EXIT.usage, 'larder token rotate|create|ls|revoke');
}

export async function runCommand(cmd: string, args: string[], flags: Flags, client: () => Promise<AdminClient>): Promise<number> {
  const c = await client();
  switch (cmd) {
    case 'prewarm':
      return prewarm(c, args, flags);
    case 'pin':
      return pin(c, args, flags);
    case 'export':
      return exportCommand(c, args, flags);
    case 'import':
      return importCommand(c, args, flags);
    case 'peers': {
      const r = await c.peers();
      for (const l of flags.json ? [JSON.stringify(r)] : peersLines(r)) out(l);
      return EXIT.ok;
    }
    case 'status': {
      const s = await c.call<Stats>('GET', '/stats');
      if (flags.json) {
        out(JSON.stringify(s));
        return EXIT.ok;
      }
      out(
        `hit rate ${(s.hitRate * 100).toFixed(1)}%  requests ${s.requests.total}  saved ${mb(s.bytesSaved)}${s.offline ? '  OFFLINE' : ''}`,
      );
      out(`storage ${mb(s.storage.usedBytes)} of ${mb(s.storage.maxBytes)}  (${s.storage.entries} entries, ${s.storage.blobs} blobs)`);
      out(`pins ${s.pins.count}  lagging ${s.pins.lagging}  worst lag ${s.pins.maxLagSeconds}s`);
      if (s.peers) out(`peers ${s.peers.count} (${s.peers.healthy} healthy) · ${todayShare(s.peers.today)}`);
      for (const r of s.remotes)
        out(`remote ${r.name.padEnd(12)} ${r.type.padEnd(5)} ${r.health}${r.lastError ? `  (${r.lastError})` : ''}`);
      const rep = s.replication;
      if (rep) {
        const state = rep.connected ? 'connected' : `unreachable${rep.lastError ? ` (${rep.lastError})` : ''}`;
        out(`parent ${rep.parent}  ${state}  applied ${rep.appliedSeq}/${rep.parentSeq}  lag ${rep.lagSeconds}s`);
      }
      for (const c of s.children ?? [])
        out(`child ${c.id.padEnd(20)} seq ${c.lastSeenSeq}  lag ${c.lagSeconds}s${c.connected ? '' : '  (not polling)'}`);
      return EXIT.ok;
    }
    case 'evict': {
      const body =
        typeof flags.key === 'string'
          ? { key: flags.key }
          : typeof flags.digest === 'string'
            ? { digest: flags.digest }
            : { toLowWatermark: true };
      const r = await c.call<{ removed: number; bytes: number }>('POST', '/evict', body);
      out(flags.json ? JSON.stringify(r) : `evicted ${r.removed} blobs, ${mb(r.bytes)}`);
      return EXIT.ok;
    }
    case 'scrub': {
      const r = await c.call<ScrubStatus>('POST', '/scrub', { now: flags.now === true });
      out(
        flags.json
          ? JSON.stringify(r)
          : `scrub ${r.running ? 'started' : 'done'}: ${r.checked} checked, ${r.corrupt} corrupt, ${r.repaired} repaired`,
      );
      return r.corrupt > r.repaired ? EXIT.failed : EXIT.ok;
    }
    case 'gc': {
      const r = await c.call<{ removed: number; bytes: number }>('POST', '/gc');
      out(flags.json ? JSON.stringify(r) : `collected ${r.removed} unreferenced blobs, ${mb(r.bytes)}`);
      return EXIT.ok;
    }
    case 'token':
      return token(c, args, flags);
    case 'ui': {
      const { url } = await c.call<{ url: string }>('POST', '/login-link');
      out(url);
      if (flags['no-open'] !== true && process.stdout.isTTY) {
        const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'start ""' : 'xdg-open';
        exec(`${opener} "${url}"`, () => undefined);
      }
      return EXIT.ok;
    }
    default:
      throw new CliError(`unknown command ${cmd}`, EXIT.usage);
  }
}
