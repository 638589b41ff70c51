/**
 * The durable audit log: every mutating admin action and every deletion of
 * cached content, appended with a sequence number (what, when, who, why).
 */
import type { KvTable } from '../core/ports.js';
import type { AuditRecord } from './contract.js';

const key = (seq: number): string => seq.toString().padStart(16, '0');

export class AuditLog {
  private seq: number;

  constructor(private readonly table: KvTable<AuditRecord>) {
    let last = 0;
    for (const [, r] of table.range({ reverse: true, limit: 1 })) last = r.seq;
    this.seq = last;
  }

  async append(rec: Omit<AuditRecord, 'seq' | 'at'> & { at?: number }): Promise<AuditRecord> {
    const full: AuditRecord = { ...rec, at: rec.at ?? Date.now(), seq: ++this.seq };
    await this.table.put(key(full.seq), full);
    return full;
  }

  /** Records after `since` (exclusive), oldest first. */
  list(since = 0, limit = 200): AuditRecord[] {
    const out: AuditRecord[] = [];
    for (const [, r] of this.table.range({ start: key(since + 1), limit })) out.push(r);
    return out;
  }
}
