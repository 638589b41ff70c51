/**
 * Hand-built wheels for pip tests: a wheel is a zip with a package module and
 * a `.dist-info` (METADATA, WHEEL, RECORD with sha256 of every file), so no
 * build backend has to run. The METADATA bytes double as the PEP 658
 * `.metadata` file served next to the wheel.
 */
import { createHash } from 'node:crypto';
import { storedZip } from '../stored-zip.js';

export interface WheelSpec {
  /** Project name as published, e.g. "Beta_Pkg". */
  name: string;
  version: string;
  requiresPython?: string;
  requiresDist?: string[];
}

export interface BuiltWheel {
  spec: WheelSpec;
  filename: string;
  data: Buffer;
  /** The METADATA file (also served as `<filename>.metadata`). */
  metadata: Buffer;
  sha256: string;
  metadataSha256: string;
  /** Import name of the package module inside the wheel. */
  module: string;
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const recordHash = (b: Buffer): string => `sha256=${createHash('sha256').update(b).digest('base64url')}`;

/** Wheel file-name escaping of a project name (PEP 427/491). */
export function distName(name: string): string {
  return name.replace(/[-_.]+/g, '_').toLowerCase();
}

export function buildWheel(spec: WheelSpec): BuiltWheel {
  const dist = distName(spec.name);
  const module = dist;
  const distInfo = `${dist}-${spec.version}.dist-info`;
  let meta = `Metadata-Version: 2.1\nName: ${spec.name}\nVersion: ${spec.version}\nSummary: larder test package\n`;
  if (spec.requiresPython) meta += `Requires-Python: ${spec.requiresPython}\n`;
  for (const r of spec.requiresDist ?? []) meta += `Requires-Dist: ${r}\n`;
  const metadata = Buffer.from(meta);
  const files: Array<[string, Buffer]> = [
    [`${module}/__init__.py`, Buffer.from(`VALUE = ${JSON.stringify(`${spec.name} ${spec.version}`)}\n`)],
    [`${distInfo}/METADATA`, metadata],
    [`${distInfo}/WHEEL`, Buffer.from('Wheel-Version: 1.0\nGenerator: larder-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n')],
  ];
  let record = '';
  for (const [path, body] of files) record += `${path},${recordHash(body)},${body.length}\n`;
  record += `${distInfo}/RECORD,,\n`;
  files.push([`${distInfo}/RECORD`, Buffer.from(record)]);
  const data = storedZip(files);
  return {
    spec,
    filename: `${dist}-${spec.version}-py3-none-any.whl`,
    data,
    metadata,
    sha256: sha256(data),
    metadataSha256: sha256(metadata),
    module,
  };
}
