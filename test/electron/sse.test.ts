/** The main process's SSE parser and LiveEvent decoding (both daemon wire shapes). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseLiveEvent } from '../../daemon/admin/client-decode.js';
import { SseParser } from '../../electron/main/sse.js';

describe('SSE parsing in main', () => {
  it('parses frames split anywhere, with comments, CRLF and multi-line data', () => {
    const p = new SseParser();
    const wire =
      ': larder events\n\nevent: stats\ndata: {"a":1}\n\r\nevent: pin\r\ndata: {"b":\r\ndata: 2}\r\nid: 7\r\n\r\ndata: plain\n\n';
    const out = [];
    for (let i = 0; i < wire.length; i += 5) out.push(...p.push(wire.slice(i, i + 5)));
    assert.deepEqual(out, [
      { event: 'stats', data: '{"a":1}' },
      { event: 'pin', data: '{"b":\n2}', id: '7' },
      // The last event id carries over (as in EventSource).
      { event: 'message', data: 'plain', id: '7' },
    ]);
    assert.deepEqual(p.push('event: job\ndata: {}'), [], 'incomplete frame is kept');
    assert.deepEqual(p.push('\n\n'), [{ event: 'job', data: '{}', id: '7' }]);
  });

  it('decodes named payload events and whole LiveEvents', () => {
    assert.deepEqual(parseLiveEvent('pin-removed', '{"id":"p1"}'), { type: 'pin-removed', data: { id: 'p1' } });
    assert.deepEqual(parseLiveEvent('message', '{"type":"job","data":{"id":"j"}}'), { type: 'job', data: { id: 'j' } });
    assert.equal(parseLiveEvent('message', '{"id":"p1"}'), undefined);
    assert.equal(parseLiveEvent('stats', '{oops'), undefined);
  });
});
