/**
 * Low-level, dependency-free writer/reader for OCI image layouts
 * (image-spec image-layout.md): content-addressed blobs under
 * `blobs/sha256/`, an `oci-layout` marker and a top-level `index.json`
 * whose entries carry `org.opencontainers.image.ref.name` tags.
 * Everything written here is deterministic (fixed mtimes, sorted input).
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** Media types used by the fixtures. */
export const MediaType = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

/** The annotation skopeo's `oci:<dir>:<tag>` transport resolves tags with. */
export const REF_NAME = 'org.opencontainers.image.ref.name';

/** Platform of an index entry. */
export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

/** An OCI content descriptor. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

/** One regular file or directory inside a generated layer tar. */
export interface TarEntry {
  /** Path without leading slash; directories end with `/`. */
  name: string;
  content?: string | Buffer;
  mode?: number;
}

/** Fixed mtime (2024-01-01T00:00:00Z) stamped on every tar entry. */
export const FIXED_MTIME = 1_704_067_200;

/** `sha256:<hex>` of the given bytes. */
export function sha256Digest(bytes: Buffer | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

/** Builds one 512-byte ustar header (typeflag '0' file, '5' directory). */
export function tarHeader(name: string, size: number, mode: number, typeflag: '0' | '5'): Buffer {
  if (Buffer.byteLength(name) > 100) throw new Error(`tar name too long: ${name}`);
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(mode, 8), 100);
  h.write(octal(0, 8), 108); // uid
  h.write(octal(0, 8), 116); // gid
  h.write(octal(size, 12), 124);
  h.write(octal(FIXED_MTIME, 12), 136);
  h.write('        ', 148); // checksum placeholder (8 spaces)
  h.write(typeflag, 156);
  h.write('ustar\u000000', 257);
  h.write('root', 265);
  h.write('root', 297);
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

/** Zero padding that brings `size` up to the next 512-byte tar block. */
export function tarPadding(size: number): Buffer {
  return Buffer.alloc((512 - (size % 512)) % 512);
}

/** A deterministic uncompressed tar archive of `entries` (kept in the given order). */
export function tarArchive(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const isDir = e.name.endsWith('/');
    const body = isDir ? Buffer.alloc(0) : Buffer.from(e.content ?? '');
    parts.push(tarHeader(e.name, body.length, e.mode ?? (isDir ? 0o755 : 0o644), isDir ? '5' : '0'), body);
    parts.push(tarPadding(body.length));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** Incrementally writes an OCI image layout directory. */
export class LayoutWriter {
  private readonly manifests: Descriptor[] = [];

  /** @param dir layout root; created by {@link init}. */
  constructor(readonly dir: string) {}

  /** Creates `blobs/sha256/` and the `oci-layout` marker file. */
  async init(): Promise<void> {
    await mkdir(join(this.dir, 'blobs', 'sha256'), { recursive: true });
    await writeFile(join(this.dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  }

  /** Path of the blob file for `digest` (`sha256:<hex>`). */
  blobPath(digest: string): string {
    return join(this.dir, 'blobs', 'sha256', digest.slice('sha256:'.length));
  }

  /** Stores `bytes` as a blob and returns its descriptor. */
  async addBlob(bytes: Buffer, mediaType: string): Promise<Descriptor> {
    const digest = sha256Digest(bytes);
    await writeFile(this.blobPath(digest), bytes);
    return { mediaType, digest, size: bytes.length };
  }

  /** Moves an already-hashed file into the blob store. */
  async adoptBlobFile(file: string, digest: string, size: number, mediaType: string): Promise<Descriptor> {
    await rename(file, this.blobPath(digest));
    return { mediaType, digest, size };
  }

  /** Serialises `value` compactly (byte-stable) and stores it as a blob. */
  async addJson(value: object, mediaType: string): Promise<Descriptor> {
    return this.addBlob(Buffer.from(JSON.stringify(value)), mediaType);
  }

  /** Gzips (deterministically, mtime 0) a tar of `entries`; returns descriptor + diff_id. */
  async addTarLayer(entries: readonly TarEntry[], mediaType: string): Promise<{ descriptor: Descriptor; diffId: string }> {
    const tar = tarArchive(entries);
    const descriptor = await this.addBlob(gzipSync(tar, { level: 9 }), mediaType);
    return { descriptor, diffId: sha256Digest(tar) };
  }

  /** Records `descriptor` in `index.json` under tag `ref`. */
  tag(ref: string, descriptor: Descriptor): void {
    this.manifests.push({ ...descriptor, annotations: { ...descriptor.annotations, [REF_NAME]: ref } });
  }

  /** Writes `index.json`; call once after all blobs and tags. */
  async finish(): Promise<void> {
    const index = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: this.manifests };
    await writeFile(join(this.dir, 'index.json'), JSON.stringify(index, null, 2));
  }
}

/** Reads the top-level `index.json` of a layout. */
export async function readLayoutIndex(dir: string): Promise<Descriptor[]> {
  const parsed = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests?: Descriptor[] };
  return parsed.manifests ?? [];
}
