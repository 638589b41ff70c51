/**
 * Child-process entry of the benchmark's npm upstream: loads the generated
 * fixture registry (generating it on first use) and serves it on loopback
 * with request recording off, so the upstream never shares an event loop
 * with the measuring process. Talks to its parent over IPC:
 *
 *   child → parent  { type: 'ready', url, fixture }   once listening
 *   parent → child  { type: 'stop' }                  close and exit
 *
 * It also exits when the parent disconnects, so a crashed run leaves nothing behind.
 */
import { generateRegistry, loadRegistry } from '../test/helpers/npm-fixture/generate.js';
import { startNpmUpstream } from '../test/helpers/npm-fixture/server.js';
import type { RegistryFixture } from '../test/helpers/npm-fixture/types.js';

/** Message the upstream child sends once it is listening. */
export interface UpstreamReady {
  type: 'ready';
  url: string;
  fixture: RegistryFixture;
}

async function fixtureIn(dir: string): Promise<RegistryFixture> {
  try {
    return await loadRegistry(dir);
  } catch {
    return generateRegistry(dir);
  }
}

async function main(): Promise<void> {
  const dir = process.argv[2];
  if (!dir || !process.send) throw new TypeError('usage: fork(upstream-child.ts, [fixtureDir]) with an IPC channel');
  const fixture = await fixtureIn(dir);
  const upstream = await startNpmUpstream(fixture, { recordRequests: false });
  const stop = async (): Promise<void> => {
    await upstream.close();
    process.exit(0);
  };
  process.on('message', (m: unknown) => {
    if (typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'stop') void stop();
  });
  process.on('disconnect', () => void stop());
  const ready: UpstreamReady = { type: 'ready', url: upstream.url, fixture };
  process.send(ready);
}

main().catch((err: unknown) => {
  console.error('bench upstream failed:', err);
  process.exit(1);
});
