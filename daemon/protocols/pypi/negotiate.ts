/**
 * PEP 691 content negotiation: the client's `Accept` (or the optional
 * `?format=` parameter) picks JSON, versioned HTML or legacy `text/html`.
 * Ties go to the type the client listed first; wildcards match HTML last.
 */

export type PageFormat = 'json' | 'html-v1' | 'html';

/** The exact Content-Type of each form. */
export const PAGE_TYPES: Record<PageFormat, string> = {
  json: 'application/vnd.pypi.simple.v1+json',
  'html-v1': 'application/vnd.pypi.simple.v1+html',
  html: 'text/html; charset=utf-8',
};

const KNOWN: Record<string, PageFormat> = {
  'application/vnd.pypi.simple.v1+json': 'json',
  'application/vnd.pypi.simple.latest+json': 'json',
  'application/vnd.pypi.simple.v1+html': 'html-v1',
  'application/vnd.pypi.simple.latest+html': 'html-v1',
  'text/html': 'html',
  'text/*': 'html',
  '*/*': 'html',
};

interface Offer {
  format: PageFormat;
  q: number;
  order: number;
  wildcard: boolean;
}

/**
 * The form to answer with, or undefined when nothing acceptable is offered
 * (the caller answers 406). No `Accept` at all means HTML.
 */
export function negotiate(accept: string | undefined, format?: string | null): PageFormat | undefined {
  if (format) return KNOWN[format.trim().toLowerCase()];
  if (!accept?.trim()) return 'html';
  const offers: Offer[] = [];
  accept.split(',').forEach((part, order) => {
    const [type, ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const format = type ? KNOWN[type] : undefined;
    if (!format) return;
    let q = 1;
    for (const p of params) {
      const m = /^q=([0-9.]+)$/.exec(p);
      if (m) q = Number(m[1]);
    }
    if (Number.isFinite(q) && q > 0) offers.push({ format, q, order, wildcard: type!.includes('*') });
  });
  offers.sort((a, b) => b.q - a.q || Number(a.wildcard) - Number(b.wildcard) || a.order - b.order);
  return offers[0]?.format;
}
