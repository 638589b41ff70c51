/**
 * Reading and writing bundle tars in tests (with the daemon's own ustar
 * code), and the JSON lines of a version 2 manifest, to build tampered and
 * re-signed bundles.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { fileHeader, padding, TarReader, trailer } from '../../daemon/bundle/ustar.js';
import type { Entry } from '../../daemon/core/types.js';

export async function readTar(file: string): Promise<Array<{ name: string; body: Buffer }>> {
  const tar = new TarReader(
    (async function* () {
      yield await readFile(file);
    })(),
  );
  const out: Array<{ name: string; body: Buffer }> = [];
  for (let f = await tar.next(); f; f = await tar.next()) {
    const chunks: Buffer[] = [];
    for await (const c of tar.body()) chunks.push(Buffer.from(c));
    out.push({ name: f.name, body: Buffer.concat(chunks) });
  }
  return out;
}

export async function writeTar(file: string, files: Array<{ name: string; body: Buffer }>): Promise<void> {
  const parts = files.flatMap((f) => [fileHeader(f.name, f.body.length), f.body, padding(f.body.length)]);
  await writeFile(file, Buffer.concat([...parts, trailer()]));
}

export type Line = { blob?: { digest: string; size: number }; entry?: Entry; pin?: unknown };
export const lines = (body: Buffer): [unknown, ...Line[]] =>
  body
    .toString()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l)) as [unknown, ...Line[]];
export const unlines = (ls: unknown[]): Buffer => Buffer.from(`${ls.map((l) => JSON.stringify(l)).join('\n')}\n`);
export const hex = (algo: string, b: Buffer): string => createHash(algo).update(b).digest('hex');
