/**
 * The little HTML a Simple API page needs: anchors with their attributes
 * (quoted values may hold a raw `>`, as some indexes write
 * `data-requires-python=">=3.8"`), entity decoding, and escaping.
 */

export interface Anchor {
  /** Lower-cased attribute names; an attribute without a value maps to "". */
  attrs: Record<string, string>;
  /** Text content with tags removed and entities decoded, trimmed. */
  text: string;
}

const ANCHOR = /<a\b((?:[^>"']|"[^"]*"|'[^']*')*)>([\s\S]*?)<\/a\s*>/gi;
const ATTR = /([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

/** Decodes the character references found in Simple API pages. */
export function decodeEntities(s: string): string {
  return s.replace(/&(#[xX][0-9a-fA-F]{1,6}|#[0-9]{1,7}|[A-Za-z]{2,8});/g, (whole, ref: string) => {
    if (ref.startsWith('#')) {
      const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return NAMED[ref.toLowerCase()] ?? whole;
  });
}

/** Escapes text for use in element content or a double-quoted attribute. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/** Every `<a …>…</a>` of a page, in document order. */
export function parseAnchors(html: string): Anchor[] {
  const out: Anchor[] = [];
  for (const m of html.matchAll(ANCHOR)) {
    const attrs: Record<string, string> = {};
    for (const a of (m[1] ?? '').matchAll(ATTR)) {
      const name = a[1]!.toLowerCase();
      if (name in attrs) continue;
      attrs[name] = decodeEntities(a[2] ?? a[3] ?? a[4] ?? '');
    }
    out.push({ attrs, text: decodeEntities((m[2] ?? '').replace(/<[^>]*>/g, '')).trim() });
  }
  return out;
}
