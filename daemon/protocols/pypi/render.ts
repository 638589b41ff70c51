/**
 * Derives the served forms of a page once per upstream change: HTML
 * (PEP 503) and JSON (PEP 691) with file URLs rewritten to the mirror, plus a
 * small map of file name → upstream URL and digests for file misses.
 *
 * PEP 714: HTML carries both `data-core-metadata` and the legacy
 * `data-dist-info-metadata` (Debian 12's pip 23.0.1 reads only the latter);
 * JSON carries only `core-metadata` (pip 23.0.1 crashes on a JSON
 * `dist-info-metadata`).
 */
import type { Derived } from '../../core/types.js';
import { escapeHtml } from './html.js';
import { PAGE_TYPES } from './negotiate.js';
import { isFileName } from './names.js';
import type { ProjectPage, PyFile } from './page-model.js';

/** What a file miss needs: upstream URL, expected sha256, metadata sha256 ("" = listed without hash). */
export interface FileSource {
  u: string;
  sha256?: string;
  /** Present when the file has a `.metadata` file. */
  m?: string;
}

export interface RenderContext {
  project: string;
  /** Mirror URL prefix of this project's files, e.g. "http://h:7420/pypi/pypi/files/numpy/". */
  fileBase: string;
  /** Whether Larder may fetch an upstream URL (index or files origin of the remote). */
  owns(url: string): boolean;
}

function hashFragment(hashes: Record<string, string>): string {
  const name = hashes.sha256 !== undefined ? 'sha256' : Object.keys(hashes)[0];
  return name === undefined ? '' : `#${name}=${hashes[name]}`;
}

function metadataValue(hashes: Record<string, string>): string {
  const name = hashes.sha256 !== undefined ? 'sha256' : Object.keys(hashes)[0];
  return name === undefined ? 'true' : `${name}=${hashes[name]}`;
}

function anchor(f: PyFile, href: string): string {
  let attrs = `href="${escapeHtml(href + hashFragment(f.hashes))}"`;
  if (f.requiresPython) attrs += ` data-requires-python="${escapeHtml(f.requiresPython)}"`;
  if (f.yanked !== undefined) attrs += f.yanked ? ` data-yanked="${escapeHtml(f.yanked)}"` : ' data-yanked=""';
  if (f.coreMetadata) {
    const v = escapeHtml(metadataValue(f.coreMetadata));
    attrs += ` data-dist-info-metadata="${v}" data-core-metadata="${v}"`;
  }
  if (f.gpgSig) attrs += ' data-gpg-sig="true"';
  return `    <a ${attrs}>${escapeHtml(f.filename)}</a><br/>\n`;
}

function jsonFile(f: PyFile, url: string): Record<string, unknown> {
  const out: Record<string, unknown> = { filename: f.filename, url, hashes: f.hashes };
  if (f.requiresPython) out['requires-python'] = f.requiresPython;
  if (f.yanked !== undefined) out.yanked = f.yanked || true;
  if (f.coreMetadata) out['core-metadata'] = Object.keys(f.coreMetadata).length ? f.coreMetadata : true;
  if (f.gpgSig) out['gpg-sig'] = true;
  if (f.uploadTime) out['upload-time'] = f.uploadTime;
  return out;
}

function htmlPage(title: string, body: string): Buffer {
  return Buffer.from(
    `<!DOCTYPE html>\n<html>\n  <head>\n    <meta name="pypi:repository-version" content="1.0">\n` +
      `    <title>${escapeHtml(title)}</title>\n  </head>\n  <body>\n${body}  </body>\n</html>\n`,
  );
}

/** The HTML form of a project page from its files, each with the href it is served at. */
export function projectHtml(project: string, files: Array<[PyFile, string]>): Buffer {
  let html = `    <h1>Links for ${escapeHtml(project)}</h1>\n`;
  for (const [f, href] of files) html += anchor(f, href);
  return htmlPage(`Links for ${project}`, html);
}

/** HTML, JSON and the file map of one project page. */
export function deriveProject(page: ProjectPage, ctx: RenderContext): Derived {
  const sources: Record<string, FileSource> = {};
  let html = `    <h1>Links for ${escapeHtml(ctx.project)}</h1>\n`;
  const files: Array<Record<string, unknown>> = [];
  const seen = new Set<string>();
  for (const f of page.files) {
    if (seen.has(f.filename)) continue;
    seen.add(f.filename);
    // Files on other origins are listed as they are: Larder fetches only from its remote.
    const proxied = isFileName(f.filename) && ctx.owns(f.url);
    const url = proxied ? `${ctx.fileBase}${encodeURIComponent(f.filename)}` : f.url;
    if (proxied) {
      const src: FileSource = { u: f.url };
      if (f.hashes.sha256) src.sha256 = f.hashes.sha256;
      if (f.coreMetadata) src.m = f.coreMetadata.sha256 ?? '';
      sources[f.filename] = src;
    }
    html += anchor(f, url);
    files.push(jsonFile(f, url));
  }
  const json = { meta: { 'api-version': '1.0' }, name: ctx.project, files };
  const times = page.files.map((f) => (f.uploadTime ? Date.parse(f.uploadTime) : Number.NaN)).filter(Number.isFinite);
  const newest = times.length ? Math.max(...times) : undefined;
  return {
    variants: {
      html: { body: htmlPage(`Links for ${ctx.project}`, html), mediaType: PAGE_TYPES.html },
      json: { body: Buffer.from(JSON.stringify(json)), mediaType: PAGE_TYPES.json },
      files: { body: Buffer.from(JSON.stringify(sources)), mediaType: 'application/json' },
    },
    meta: newest === undefined ? { files: page.files.length } : { files: page.files.length, newest },
  };
}

/** HTML and JSON of the project list; links are relative (`<name>/`). */
export function deriveIndex(names: string[]): Derived {
  let html = '';
  for (const n of names) html += `    <a href="${escapeHtml(n)}/">${escapeHtml(n)}</a><br/>\n`;
  const json = { meta: { 'api-version': '1.0' }, projects: names.map((name) => ({ name })) };
  return {
    variants: {
      html: { body: htmlPage('Simple index', html), mediaType: PAGE_TYPES.html },
      json: { body: Buffer.from(JSON.stringify(json)), mediaType: PAGE_TYPES.json },
    },
    meta: { projects: names.length },
  };
}
