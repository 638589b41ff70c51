/**
 * A Maven-layout repository written in a temp directory: POMs, tiny jars
 * (real zip files with a manifest), `.sha1` sidecars for every file, and
 * `maven-metadata.xml` listing the versions of an artifact. Plus a project
 * whose build extension depends on those artifacts, so that `mvn validate`
 * resolves them (POMs, jars, a version range through maven-metadata.xml,
 * sidecar checksums) without any plugin from the internet.
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';

export interface MavenCoords {
  group: string;
  artifact: string;
  version: string;
}

export interface MavenDep extends Omit<MavenCoords, 'version'> {
  /** A version or a range such as "[1.0,2.0)". */
  version: string;
}

/** A stored (uncompressed) zip with the given entries: a valid jar for Maven. */
export function makeJar(entries: Record<string, Buffer | string>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, value] of Object.entries(entries)) {
    const data = Buffer.isBuffer(value) ? value : Buffer.from(value);
    const fname = Buffer.from(name);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(fname.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(fname.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, fname, data);
    centrals.push(central, fname);
    offset += 30 + fname.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(centrals.length / 2, 8);
  end.writeUInt16LE(centrals.length / 2, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

export const sha1Hex = (b: Buffer): string => createHash('sha1').update(b).digest('hex');

function pom(c: MavenCoords, deps: MavenDep[]): string {
  const d = deps.map(
    (x) => `<dependency><groupId>${x.group}</groupId><artifactId>${x.artifact}</artifactId><version>${x.version}</version></dependency>`,
  );
  return `<?xml version="1.0" encoding="UTF-8"?>\n<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion><groupId>${c.group}</groupId><artifactId>${c.artifact}</artifactId><version>${c.version}</version><dependencies>${d.join('')}</dependencies></project>\n`;
}

export class MavenRepo {
  constructor(readonly root: string) {}

  /** Path below the root of an artifact file, e.g. com/example/lib/1.0/lib-1.0.jar. */
  static path(c: MavenCoords, ext: string): string {
    return `${c.group.replace(/\./g, '/')}/${c.artifact}/${c.version}/${c.artifact}-${c.version}.${ext}`;
  }

  /** Writes a file and its `.sha1` sidecar (of `sidecarOf`, default the same bytes). */
  async put(path: string, body: Buffer, sidecarOf: Buffer = body): Promise<void> {
    const file = join(this.root, path);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, body);
    await writeFile(`${file}.sha1`, sha1Hex(sidecarOf));
  }

  /** Publishes a POM and a jar; returns the jar bytes. */
  async artifact(c: MavenCoords, deps: MavenDep[] = []): Promise<Buffer> {
    const jar = makeJar({
      'META-INF/MANIFEST.MF': 'Manifest-Version: 1.0\n',
      [`${c.artifact}.txt`]: `${c.group}:${c.artifact}:${c.version}\n`,
    });
    await this.put(MavenRepo.path(c, 'pom'), Buffer.from(pom(c, deps)));
    await this.put(MavenRepo.path(c, 'jar'), jar);
    return jar;
  }

  /** Writes group/artifact/maven-metadata.xml listing `versions` (last = latest). */
  async metadata(group: string, artifact: string, versions: string[]): Promise<void> {
    const latest = versions[versions.length - 1]!;
    const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<metadata><groupId>${group}</groupId><artifactId>${artifact}</artifactId><versioning><latest>${latest}</latest><release>${latest}</release><versions>${versions.map((v) => `<version>${v}</version>`).join('')}</versions><lastUpdated>20240101000000</lastUpdated></versioning></metadata>\n`;
    await this.put(`${group.replace(/\./g, '/')}/${artifact}/maven-metadata.xml`, Buffer.from(xml));
  }
}

/**
 * Writes a project whose build extension is `ext` and a settings.xml whose
 * only mirror (`<mirrorOf>*</mirrorOf>`) is `mirrorUrl`.
 */
export async function writeMavenProject(dir: string, ext: MavenCoords, mirrorUrl: string): Promise<{ project: string; settings: string }> {
  const project = join(dir, 'project');
  await mkdir(project, { recursive: true });
  await writeFile(
    join(project, 'pom.xml'),
    `<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion><groupId>test.larder</groupId><artifactId>consumer</artifactId><version>1</version><packaging>pom</packaging><build><extensions><extension><groupId>${ext.group}</groupId><artifactId>${ext.artifact}</artifactId><version>${ext.version}</version></extension></extensions></build></project>\n`,
  );
  const settings = join(dir, 'settings.xml');
  await writeFile(
    settings,
    `<settings><mirrors><mirror><id>larder</id><mirrorOf>*</mirrorOf><url>${mirrorUrl}</url></mirror></mirrors></settings>\n`,
  );
  return { project, settings };
}

export interface MvnRun {
  code: number;
  output: string;
}

/** `mvn -B validate` with a private settings.xml and local repository; checksum failures are fatal. */
export function runMvn(project: string, settings: string, localRepo: string, extra: string[] = []): Promise<MvnRun> {
  const args = ['-B', '-C', '-s', settings, `-Dmaven.repo.local=${localRepo}`, ...extra, 'validate'];
  return new Promise((resolve) => {
    // Quick JVM start: these runs are short.
    const env = { ...process.env, MAVEN_OPTS: '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto' };
    execFile('mvn', args, { cwd: project, env, timeout: 180_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}
