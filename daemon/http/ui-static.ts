/**
 * Serves the built dashboard (renderer/build.ts → dist/renderer/) at /_/ui/.
 * Safe path handling (decoded, no dot segments, confined to the directory),
 * ETag/Last-Modified revalidation, an index.html fallback for route-like
 * paths, and a strict Content-Security-Policy. The login route
 * (/_/ui/login) belongs to the admin API and is never answered here.
 */
import { createReadStream, existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context } from 'koa';

/** The dashboard's Content-Security-Policy (uPlot needs inline styles). */
export const UI_CSP = "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'";

const PREFIX = '/_/ui';
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * Where the built dashboard is: dist/renderer/ next to the sources (running
 * from TypeScript) or next to the compiled daemon (dist/daemon → dist/renderer).
 */
export function defaultUiDir(): string {
  const candidates = [
    fileURLToPath(new URL('../../dist/renderer/', import.meta.url)),
    fileURLToPath(new URL('../../renderer/', import.meta.url)),
  ];
  return candidates.find((d) => existsSync(join(d, 'index.html'))) ?? candidates[0]!;
}

/** The file under `root` a request path names, or undefined when unsafe. */
export function resolveUiPath(root: string, rel: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rel);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return undefined;
  const parts = decoded.split('/').filter((p) => p !== '');
  if (parts.some((p) => p === '..' || p === '.' || p.startsWith('.'))) return undefined;
  const base = resolve(root);
  const file = resolve(base, ...parts);
  return file === base || file.startsWith(base + sep) ? file : undefined;
}

function securityHeaders(ctx: Context): void {
  ctx.set('Content-Security-Policy', UI_CSP);
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('X-Frame-Options', 'DENY');
  ctx.set('Referrer-Policy', 'no-referrer');
  ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
}

async function sendFile(ctx: Context, file: string): Promise<boolean> {
  const st = await stat(file).catch(() => undefined);
  if (!st?.isFile()) return false;
  securityHeaders(ctx);
  ctx.type = TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
  ctx.set('Cache-Control', 'no-cache');
  ctx.set('ETag', `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`);
  ctx.lastModified = st.mtime;
  ctx.status = 200;
  if (ctx.fresh) {
    ctx.status = 304;
    return true;
  }
  // HEAD: no body (Koa answers with the headers, Content-Length included).
  if (ctx.method !== 'HEAD') ctx.body = createReadStream(file);
  ctx.length = st.size;
  return true;
}

/**
 * Answers GET/HEAD under /_/ui/ from `distDir`; returns false for anything
 * else (other paths, /_/ui/login, missing assets) so later routes or the 404
 * handle it.
 */
export async function serveUi(ctx: Context, distDir: string): Promise<boolean> {
  const path = ctx.path;
  if (path !== PREFIX && !path.startsWith(`${PREFIX}/`)) return false;
  if (path === `${PREFIX}/login` || path.startsWith(`${PREFIX}/login/`)) return false;
  if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return false;
  if (path === PREFIX) {
    ctx.status = 301;
    ctx.redirect(`${PREFIX}/${ctx.querystring ? `?${ctx.querystring}` : ''}`);
    return true;
  }
  const rel = path.slice(PREFIX.length + 1);
  const index = join(distDir, 'index.html');
  if (!existsSync(index)) {
    ctx.status = 503;
    ctx.type = 'text/plain; charset=utf-8';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = 'The dashboard is not built. Run `npm run build:ui` (or `npm run build`).\n';
    return true;
  }
  if (rel === '' || rel === 'index.html') return sendFile(ctx, index);
  const file = resolveUiPath(distDir, rel);
  if (!file) return false;
  if (await sendFile(ctx, file)) return true;
  // Route-like paths (no extension) get the app; missing assets are 404s.
  return extname(file) === '' ? sendFile(ctx, index) : false;
}
