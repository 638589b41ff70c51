/**
 * The body of a paths-info request: JSON `{"paths": [...], "expand": bool}`
 * (the JS client) or a form with repeated `paths` and `expand=True`
 * (huggingface_hub). Every path is checked like a URL path.
 */
import { LarderError } from '../../core/errors.js';
import { checkFilePath } from './paths.js';

const MAX_PATHS = 1000;

export interface PathsInfoAsk {
  paths: string[];
  expand: boolean;
}

function bad(why: string): LarderError {
  return new LarderError('E_BAD_REQUEST', `paths-info: ${why}`);
}

const truthy = (v: unknown): boolean => v === true || v === 'true' || v === 'True' || v === '1';

export function parsePathsInfo(body: Buffer, contentType: string | undefined): PathsInfoAsk {
  let paths: unknown;
  let expand: unknown;
  if ((contentType ?? '').includes('application/json')) {
    let value: unknown;
    try {
      value = JSON.parse(body.toString('utf8'));
    } catch {
      throw bad('the body is not JSON');
    }
    if (value === null || typeof value !== 'object') throw bad('expected an object');
    ({ paths, expand } = value as { paths?: unknown; expand?: unknown });
  } else {
    const form = new URLSearchParams(body.toString('utf8'));
    paths = form.getAll('paths');
    expand = form.get('expand');
  }
  if (typeof paths === 'string') paths = [paths];
  if (!Array.isArray(paths) || paths.length === 0 || paths.length > MAX_PATHS) throw bad(`expected 1 to ${MAX_PATHS} paths`);
  const checked = (paths as unknown[]).map((p) => {
    if (typeof p !== 'string') throw bad('paths must be strings');
    return checkFilePath(p.split('/').map(encodeURIComponent));
  });
  return { paths: checked, expand: truthy(expand) };
}
