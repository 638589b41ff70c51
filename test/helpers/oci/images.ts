/**
 * Deterministic, offline-built test images for Larder's OCI pull-through.
 *
 * {@link buildSmallLayout} writes one OCI layout holding four tags:
 * - `single`        OCI image manifest: config + 2 gzip'd tar layers
 * - `multi`         OCI image index: linux/amd64 + linux/arm64 manifests
 * - `docker-single` Docker v2 schema 2 manifest: config + 1 layer
 * - `docker-list`   Docker manifest list: linux/amd64 + linux/arm64 schema 2 manifests
 * The Docker-typed tags are also written in skopeo's `dir:` format under `<layout>/dir/<tag>`,
 * because skopeo 1.9's `oci:` transport only resolves OCI-typed index.json entries.
 * The big (>100 MB) image lives in `big.ts`. The same code always yields the same digests.
 */
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LayoutWriter, MediaType, readLayoutIndex, REF_NAME, type Descriptor, type Platform } from './layout.js';

/** One manifest (image or index/list) of a layout, with everything it references. */
export interface FixtureImage {
  /** Tag in the layout (`org.opencontainers.image.ref.name`); '' for index children. */
  tag: string;
  mediaType: string;
  digest: string;
  size: number;
  /** Exact manifest bytes: what a registry must serve byte-for-byte. */
  manifest: Buffer;
  platform?: Platform;
  /** Child manifests of an index / manifest list (empty for images). */
  children: FixtureImage[];
  /** Config and layer descriptors of this image and all its children (deduplicated). */
  blobs: Descriptor[];
}

/** A built layout and its tagged images. */
export interface FixtureLayout {
  dir: string;
  images: Record<string, FixtureImage>;
  /**
   * The skopeo source reference for a tag: `oci:<dir>:<tag>` for OCI types, `dir:<dir>/dir/<tag>`
   * for Docker types (skopeo's oci transport ignores index.json entries of Docker media types).
   */
  ref(tag: string): string;
}

/** Tags written by {@link buildSmallLayout}. */
export const SMALL_TAGS = ['single', 'multi', 'docker-single', 'docker-list'] as const;

const CREATED = '2024-01-01T00:00:00Z';
const isList = (mt: string): boolean => mt === MediaType.ociIndex || mt === MediaType.dockerList;
const isDocker = (mt: string): boolean => mt === MediaType.dockerList || mt === MediaType.dockerManifest;

/**
 * Mirrors one image into skopeo's `dir:` transport format (`manifest.json`, `<hex>.manifest.json`
 * per list instance, one file per blob, `version`), byte-identical to the layout's copy.
 */
async function writeDirTransport(layoutDir: string, image: FixtureImage): Promise<void> {
  const target = join(layoutDir, 'dir', image.tag);
  const hex = (digest: string): string => digest.slice('sha256:'.length);
  await mkdir(target, { recursive: true });
  await writeFile(join(target, 'version'), 'Directory Transport Version: 1.1\n');
  await writeFile(join(target, 'manifest.json'), image.manifest);
  for (const child of image.children) await writeFile(join(target, `${hex(child.digest)}.manifest.json`), child.manifest);
  for (const b of image.blobs) await copyFile(join(layoutDir, 'blobs', 'sha256', hex(b.digest)), join(target, hex(b.digest)));
}

/** Reads a layout back into {@link FixtureImage} trees keyed by tag. */
export async function describeLayout(dir: string): Promise<FixtureLayout> {
  const readBlob = (digest: string): Promise<Buffer> => readFile(join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length)));
  const describe = async (d: Descriptor, tag: string): Promise<FixtureImage> => {
    const manifest = await readBlob(d.digest);
    const parsed = JSON.parse(manifest.toString('utf8')) as {
      manifests?: Descriptor[];
      config?: Descriptor;
      layers?: Descriptor[];
    };
    const children = isList(d.mediaType) ? await Promise.all((parsed.manifests ?? []).map((c) => describe(c, ''))) : [];
    const own = parsed.config ? [parsed.config, ...(parsed.layers ?? [])] : [];
    const blobs = new Map<string, Descriptor>();
    for (const b of [...own, ...children.flatMap((c) => c.blobs)]) blobs.set(b.digest, b);
    const image: FixtureImage = {
      tag,
      mediaType: d.mediaType,
      digest: d.digest,
      size: d.size,
      manifest,
      children,
      blobs: [...blobs.values()],
    };
    if (d.platform) image.platform = d.platform;
    return image;
  };
  const images: Record<string, FixtureImage> = {};
  for (const d of await readLayoutIndex(dir)) {
    const tag = d.annotations?.[REF_NAME];
    if (tag) images[tag] = await describe(d, tag);
  }
  const ref = (tag: string): string => {
    const image = images[tag];
    if (!image) throw new Error(`no tag ${tag} in ${dir}`);
    return isDocker(image.mediaType) ? `dir:${join(dir, 'dir', tag)}` : `oci:${dir}:${tag}`;
  };
  return { dir, images, ref };
}

interface ImageSpec {
  name: string;
  platform: Platform;
  layers: { path: string; content: string | Buffer }[];
  docker: boolean;
}

/** Deterministic filler bytes (counter-mode sha256) for small layer payloads. */
export function fillerBytes(seed: string, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let off = 0, i = 0; off < length; off += 32, i++) {
    createHash('sha256').update(`${seed}:${i}`).digest().copy(out, off);
  }
  return out;
}

/** Writes config + layers + manifest of one image; returns the manifest descriptor. */
async function writeImage(w: LayoutWriter, spec: ImageSpec): Promise<Descriptor> {
  const layerType = spec.docker ? MediaType.dockerLayerGzip : MediaType.ociLayerGzip;
  const layers: Descriptor[] = [];
  const diffIds: string[] = [];
  for (const l of spec.layers) {
    const dir = l.path.slice(0, l.path.lastIndexOf('/') + 1);
    const { descriptor, diffId } = await w.addTarLayer([{ name: dir }, { name: l.path, content: l.content }], layerType);
    layers.push(descriptor);
    diffIds.push(diffId);
  }
  const config = await w.addJson(
    {
      created: CREATED,
      architecture: spec.platform.architecture,
      os: spec.platform.os,
      config: { Env: ['PATH=/usr/bin:/bin'], Cmd: ['/bin/true'], Labels: { 'org.larder.fixture': spec.name } },
      rootfs: { type: 'layers', diff_ids: diffIds },
      history: diffIds.map((_, i) => ({ created: CREATED, created_by: `larder fixture ${spec.name} layer ${i}` })),
    },
    spec.docker ? MediaType.dockerConfig : MediaType.ociConfig,
  );
  const mediaType = spec.docker ? MediaType.dockerManifest : MediaType.ociManifest;
  const manifest = await w.addJson({ schemaVersion: 2, mediaType, config, layers }, mediaType);
  return { ...manifest, platform: spec.platform };
}

/** Writes an index (OCI) or manifest list (Docker) over the given children. */
async function writeList(w: LayoutWriter, children: Descriptor[], docker: boolean): Promise<Descriptor> {
  const mediaType = docker ? MediaType.dockerList : MediaType.ociIndex;
  return w.addJson({ schemaVersion: 2, mediaType, manifests: children }, mediaType);
}

const ARCHES: Platform[] = [
  { architecture: 'amd64', os: 'linux' },
  { architecture: 'arm64', os: 'linux', variant: 'v8' },
];

/**
 * Builds the small layout (tags {@link SMALL_TAGS}) in `dir` or a fresh temp dir.
 * Takes a few milliseconds, so it is rebuilt per test run rather than cached.
 */
export async function buildSmallLayout(dir?: string): Promise<FixtureLayout> {
  const root = dir ?? (await mkdtemp(join(tmpdir(), 'larder-oci-small-')));
  const w = new LayoutWriter(root);
  await w.init();
  const { platform: _p, ...single } = await writeImage(w, {
    name: 'single',
    platform: { architecture: 'amd64', os: 'linux' },
    docker: false,
    layers: [
      { path: 'etc/larder/hello.txt', content: 'hello from the larder single-arch fixture\n' },
      { path: 'usr/share/larder/data.bin', content: fillerBytes('single-layer-2', 4096) },
    ],
  });
  w.tag('single', single);
  for (const docker of [false, true]) {
    const children: Descriptor[] = [];
    for (const platform of ARCHES) {
      const name = `${docker ? 'docker' : 'oci'}-${platform.architecture}`;
      children.push(await writeImage(w, { name, platform, docker, layers: [{ path: 'etc/larder/arch.txt', content: `${name}\n` }] }));
    }
    w.tag(docker ? 'docker-list' : 'multi', await writeList(w, children, docker));
  }
  const { platform: _q, ...dockerSingle } = await writeImage(w, {
    name: 'docker-single',
    platform: { architecture: 'amd64', os: 'linux' },
    docker: true,
    layers: [{ path: 'etc/larder/docker.txt', content: fillerBytes('docker-single', 1000) }],
  });
  w.tag('docker-single', dockerSingle);
  await w.finish();
  const layout = await describeLayout(root);
  for (const image of Object.values(layout.images)) if (isDocker(image.mediaType)) await writeDirTransport(root, image);
  return layout;
}
