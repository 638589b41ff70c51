/**
 * MemoryBudget: bytes and fill slots are granted up to their limits; what
 * does not fit waits in line and gets E_BUSY (503, Retry-After) when no
 * room frees up in time; growing holders go before new arrivals; one
 * asking for more than the whole budget gets all of it, alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBudget } from '../../daemon/core/memory-budget.js';
import { LarderError } from '../../daemon/core/errors.js';

const isBusy = (err: unknown): boolean => {
  assert.ok(err instanceof LarderError);
  assert.equal(err.code, 'E_BUSY');
  assert.equal(err.status, 503);
  assert.ok((err.retryAfter ?? 0) >= 1);
  return true;
};

test('bytes past the budget wait for a release, or fail with E_BUSY once the wait is over', async () => {
  const budget = new MemoryBudget({ maxBytes: 100, maxFills: 4, waitMs: 50 });
  const a = await budget.reserve(60, 'a');
  assert.equal(budget.bytes, 60);
  const waiting = budget.reserve(60, 'b');
  assert.equal(budget.waiting, 1);
  a.release();
  const b = await waiting;
  assert.equal(budget.bytes, 60);
  await assert.rejects(budget.reserve(50, 'c'), isBusy);
  assert.equal(budget.waiting, 0, 'a request that gave up leaves the line');
  b.release();
  b.release();
  assert.equal(budget.bytes, 0, 'release is idempotent');
});

test('fill slots are limited apart from bytes; endFill gives the slot back and keeps the bytes', async () => {
  const budget = new MemoryBudget({ maxBytes: 1000, maxFills: 2, waitMs: 50 });
  const f1 = await budget.admit('f1');
  const f2 = await budget.admit('f2');
  await f1.grow(300, 'f1');
  await assert.rejects(budget.admit('f3'), isBusy);
  const third = budget.admit('f3');
  f1.endFill();
  const f3 = await third;
  assert.equal(budget.fills, 2);
  assert.equal(budget.bytes, 300);
  f1.shrink(100);
  assert.equal(budget.bytes, 100);
  for (const l of [f1, f2, f3]) l.release();
  assert.equal(budget.bytes, 0);
  assert.equal(budget.fills, 0);
});

test('a holder that grows goes before requests already waiting', async () => {
  const budget = new MemoryBudget({ maxBytes: 100, maxFills: 4, waitMs: 500 });
  const a = await budget.reserve(50, 'a');
  const b = await budget.reserve(40, 'b');
  const order: string[] = [];
  const newcomer = budget.reserve(30, 'c').then((l) => {
    order.push('c');
    return l;
  });
  const growth = a.grow(30, 'a').then(() => order.push('a grew'));
  b.release();
  await growth;
  a.release();
  (await newcomer).release();
  assert.deepEqual(order, ['a grew', 'c']);
});

test('more than the whole budget is granted as the whole budget, once nothing else is held', async () => {
  const budget = new MemoryBudget({ maxBytes: 100, maxFills: 4, waitMs: 500 });
  const small = await budget.reserve(10, 'small');
  const big = budget.reserve(1000, 'big');
  assert.equal(budget.waiting, 1);
  small.release();
  const lease = await big;
  assert.equal(budget.bytes, 100);
  await lease.grow(500, 'big');
  assert.equal(budget.bytes, 100, 'it never holds more than the budget');
  lease.release();
});

test('holders that all need more do not stall each other: the oldest keeps waiting and gets the room the others give up', async () => {
  const budget = new MemoryBudget({ maxBytes: 100, maxFills: 4, waitMs: 30 });
  const old = await budget.admit('old');
  const young = await budget.admit('young');
  await old.grow(50, 'old');
  await young.grow(50, 'young');
  const oldGrows = old.grow(40, 'old');
  await assert.rejects(young.grow(40, 'young'), isBusy);
  young.release(); // what a fill that got E_BUSY does
  await oldGrows;
  assert.equal(old.bytes, 90);
  old.release();
  assert.equal(budget.bytes, 0);
});

test('room granted to a lease released while it waited is not counted', async () => {
  const budget = new MemoryBudget({ maxBytes: 100, maxFills: 4, waitMs: 500 });
  const a = await budget.reserve(80, 'a');
  const b = await budget.reserve(10, 'b');
  const growing = b.grow(50, 'b');
  b.release();
  a.release();
  await growing;
  assert.equal(budget.bytes, 0);
});
