/** Small bodies by digest, in memory, bounded in bytes (lru-cache). */
import { LRUCache } from 'lru-cache';
import type { HotCache } from '../core/ports.js';

export class LruHotCache implements HotCache {
  private readonly lru: LRUCache<string, Buffer>;

  constructor(maxBytes: number) {
    this.lru = new LRUCache<string, Buffer>({
      maxSize: Math.max(1, maxBytes),
      sizeCalculation: (b) => Math.max(1, b.length),
    });
  }

  get(digest: string): Buffer | undefined {
    return this.lru.get(digest);
  }

  set(digest: string, body: Buffer): void {
    if (body.length <= this.lru.maxSize) this.lru.set(digest, body);
  }

  delete(digest: string): void {
    this.lru.delete(digest);
  }

  get bytes(): number {
    return this.lru.calculatedSize;
  }
}
