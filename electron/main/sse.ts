/**
 * A small server-sent-events parser for the main process (Node has no
 * EventSource): feed it text chunks, get complete events back. Follows the
 * HTML spec's rules: lines end in CRLF, LF or CR; an empty line dispatches;
 * `event`, `data` (joined by \n) and `id` fields; `:` comments.
 */

/** One dispatched event. */
export interface SseMessage {
  event: string;
  data: string;
  id?: string;
}

/** Incremental parser; keeps the partial line and event between chunks. */
export class SseParser {
  private buf = '';
  private event = '';
  private data: string[] = [];
  private id: string | undefined;

  /** Adds a chunk and returns the events it completed. */
  push(chunk: string): SseMessage[] {
    this.buf += chunk;
    const out: SseMessage[] = [];
    let start = 0;
    for (let i = 0; i < this.buf.length; i++) {
      const c = this.buf[i];
      if (c !== '\n' && c !== '\r') continue;
      // A CR at the very end may be the first half of a CRLF: wait for more.
      if (c === '\r' && i === this.buf.length - 1) break;
      this.line(this.buf.slice(start, i), out);
      if (c === '\r' && this.buf[i + 1] === '\n') i++;
      start = i + 1;
    }
    this.buf = this.buf.slice(start);
    return out;
  }

  private line(line: string, out: SseMessage[]): void {
    if (line === '') {
      if (this.data.length > 0) {
        const ev: SseMessage = { event: this.event || 'message', data: this.data.join('\n') };
        if (this.id !== undefined) ev.id = this.id;
        out.push(ev);
      }
      this.event = '';
      this.data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const i = line.indexOf(':');
    const field = i < 0 ? line : line.slice(0, i);
    let value = i < 0 ? '' : line.slice(i + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id') this.id = value;
  }
}
