/**
 * The native backend's buffer pool (src/backends/native/buffers.ts) on a stand-in addon that
 * records allocations and frees: released blocks are reused by size class, and past the cache's cap
 * the least recently released blocks are freed, so the cache follows the sizes of the work at hand.
 */
import { describe, expect, it } from 'vitest';
import { BufferPool, sizeClass } from '../../src/backends/native/buffers.js';
import type { NativeAddon } from '../../src/backends/native/addon.js';

function fakeAddon(): { addon: NativeAddon; freed: number[]; live: Set<number> } {
  const params = new Float64Array(4);
  const freed: number[] = [];
  const live = new Set<number>();
  let next = 1;
  const addon = {
    params,
    alloc(bytes: number): ArrayBuffer {
      const h = next++;
      params[0] = h * 4096;
      params[1] = h;
      live.add(h);
      return new ArrayBuffer(bytes);
    },
    free(_buf: ArrayBuffer, handle: number): void {
      expect(live.has(handle), `block ${handle} freed twice`).toBe(true);
      live.delete(handle);
      freed.push(handle);
    },
  } as unknown as NativeAddon;
  return { addon, freed, live };
}

describe('native buffer pool', () => {
  it('reuses a released block of the same size class', () => {
    const { addon } = fakeAddon();
    const pool = new BufferPool(addon, 1 << 20);
    const a = pool.alloc('float32', 1000);
    pool.release(a);
    const b = pool.alloc('float32', 1000);
    expect(b.ptr).toBe(a.ptr);
    expect(pool.stats()).toMatchObject({ allocations: 1, reuses: 1, freed: 0 });
  });

  it('past the cap frees the least recently released blocks, keeping the sizes in use', () => {
    const { addon, freed, live } = fakeAddon();
    const cls = sizeClass(4096 * 4);
    const pool = new BufferPool(addon, 4 * cls);
    // an earlier workload: three blocks of one size, released (the cache is full)
    const old = [0, 1, 2].map(() => pool.alloc('float32', 4096));
    for (const s of old) pool.release(s);
    expect(pool.stats().cachedBytes).toBe(3 * cls);
    // the new workload's size: each release evicts the oldest cached block
    const big = 2 * 4096;
    const n1 = pool.alloc('float32', big);
    const n2 = pool.alloc('float32', big);
    pool.release(n1);
    pool.release(n2);
    expect(sizeClass(big * 4)).toBe(2 * cls);
    // the old blocks went, in release order; the new ones stay cached
    expect(freed).toEqual(old.map((s) => s.ptr / 4096));
    expect(pool.stats().cachedBytes).toBe(4 * cls);
    const again1 = pool.alloc('float32', big);
    const again2 = pool.alloc('float32', big);
    expect(new Set([again1.ptr, again2.ptr])).toEqual(new Set([n1.ptr, n2.ptr]));
    expect(pool.stats().allocations).toBe(5);
    // what is cached or in use was never freed
    for (const s of [again1, again2]) expect(live.has(s.ptr / 4096)).toBe(true);
  });

  it('keeps its release queue bounded in a steady loop that never evicts', () => {
    const { addon } = fakeAddon();
    const pool = new BufferPool(addon, 1 << 30);
    for (let step = 0; step < 20000; step++) {
      const a = pool.alloc('float32', 256);
      const b = pool.alloc('float32', 1024);
      pool.release(a);
      pool.release(b);
    }
    const st = pool.stats();
    expect(st.allocations).toBe(2);
    expect(st.freed).toBe(0);
    // two cached blocks; the queue holds at most 2 * 2 + 1024 entries between compactions
    expect(st.queued).toBeLessThanOrEqual(2 * 2 + 1024 + 1);
    expect(st.queued).toBeGreaterThanOrEqual(2);
  });

  it('skips blocks reused since their release when it evicts', () => {
    const { addon, freed } = fakeAddon();
    const cls = sizeClass(400);
    const pool = new BufferPool(addon, 2 * cls);
    const a = pool.alloc('float32', 100);
    const b = pool.alloc('float32', 100);
    pool.release(a);
    pool.release(b);
    // b comes back first (last released), then a: both in use, their queue entries stale
    const b2 = pool.alloc('float32', 100);
    const a2 = pool.alloc('float32', 100);
    expect([b2.ptr, a2.ptr]).toEqual([b.ptr, a.ptr]);
    // released again in the other order, then a block of twice the class over the cap: the stale
    // entries of the first releases are skipped, b2 (released before a2) goes first, then a2
    pool.release(b2);
    pool.release(a2);
    const c = pool.alloc('float32', 200);
    expect(sizeClass(800)).toBe(2 * cls);
    pool.release(c);
    expect(freed).toEqual([b.ptr / 4096, a.ptr / 4096]);
    expect(pool.stats().cachedBytes).toBe(2 * cls);
    expect(pool.alloc('float32', 200).ptr).toBe(c.ptr);
  });
});
