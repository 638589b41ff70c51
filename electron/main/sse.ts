/**
 * A small server-sent-events parser for the main process (Node has no
 * EventSource): feed it text chunks, get complete events back. Follows the
 * HTML spec's field rules (event, data lines joined by \n, comments, CRLF).
 */

/** One dispatched event. */
export interface SseMessage {
  event: string;
  data: string;
  id?: string;
}

/** Incremental parser; keeps the partial frame between chunks. */
export class SseParser {
  private buf = '';

  /** Adds a chunk and returns the events it completed. */
  push(chunk: string): SseMessage[] {
    this.buf += chunk;
    const out: SseMessage[] = [];
    for (;;) {
      const m = /\r\n\r\n|\n\n|\r\r/.exec(this.buf);
      if (!m) break;
      const frame = this.buf.slice(0, m.index);
      this.buf = this.buf.slice(m.index + m[0].length);
      const ev = parseFrame(frame);
      if (ev) out.push(ev);
    }
    return out;
  }
}

function parseFrame(frame: string): SseMessage | undefined {
  let event = 'message';
  const data: string[] = [];
  let id: string | undefined;
  for (const line of frame.split(/\r\n|\n|\r/)) {
    if (line === '' || line.startsWith(':')) continue;
    const i = line.indexOf(':');
    const field = i < 0 ? line : line.slice(0, i);
    let value = i < 0 ? '' : line.slice(i + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
    else if (field === 'id') id = value;
  }
  if (data.length === 0) return undefined;
  return id === undefined ? { event, data: data.join('\n') } : { event, data: data.join('\n'), id };
}
