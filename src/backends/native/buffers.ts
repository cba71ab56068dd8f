/**
 * Native storage and its buffer pool. Storage is native memory seen from JavaScript through an
 * external ArrayBuffer, so `readSync` is a view and uploads are one memcpy. Disposed buffers go back
 * to a free list per size class (steps of a quarter power of two) and are reused by the next
 * allocation of that class, so a training step allocates nothing after the first one.
 */
import type { DType, TypedArray } from '../../dtype.js';
import { HostStorage } from '../cpu/storage.js';
import type { NativeAddon } from './addon.js';

/** A batched matmul whose result has not been computed yet (see NativeBackend.matmul). */
export interface LazyProduct {
  a: NativeStorage;
  b: NativeStorage;
  transA: boolean;
  transB: boolean;
  m: number;
  n: number;
  k: number;
  batch: number;
}

export class NativeStorage extends HostStorage {
  /** Set while this storage holds a deferred product; its operands are pinned meanwhile. */
  lazy: LazyProduct | null = null;
  /** Deferred products that read this storage: it may not be reused or written until they are done. */
  readers: Set<NativeStorage> | null = null;
  /** Disposed while pinned: goes back to the pool when the last reader lets go. */
  releasePending = false;
  /** Released once already: a second release must not hand the block out twice. */
  released = false;

  constructor(
    data: TypedArray,
    /** Address of the first element, exact as a double. */
    readonly ptr: number,
    /** @internal */ readonly block: Block,
  ) {
    super('native', data);
  }
}

interface Block {
  readonly buf: ArrayBuffer;
  readonly ptr: number;
  /** Native control record, for freeing the memory before the GC would. */
  readonly handle: number;
  readonly bytes: number;
  /** The last typed-array view made over it, reused when the next user wants the same one. */
  view: TypedArray | null;
  /** Release stamp while cached (its entry in the pool's release order), -1 while in use. */
  seq: number;
}

/**
 * Bytes of cached free blocks above which the least recently released ones are freed: the GC does
 * not see native memory soon enough to be trusted with it (a double-backprop step through a ResNet
 * cycles through gigabytes of short-lived buffers). The oldest go first, so the cache follows the
 * sizes of the work at hand: freeing the incoming block instead kept a previous model's sizes
 * cached for good, and a ResNet step run after the small CNN's mapped and unmapped ~800 blocks
 * (435 against 265 ms).
 */
const MAX_CACHED_BYTES = 1024 * 1024 * 1024;

export function sizeClass(bytes: number): number {
  if (bytes <= 64) return 64;
  const base = 2 ** Math.floor(Math.log2(bytes - 1));
  const step = Math.max(64, base / 4);
  return Math.ceil(bytes / step) * step;
}

export class BufferPool {
  /** Cached blocks per size class, oldest release first. */
  private readonly free = new Map<number, Block[]>();
  /** Cached blocks in release order from `head` on; entries whose block was reused since are skipped. */
  private order: { block: Block; seq: number }[] = [];
  private head = 0;
  private seq = 0;
  private cached = 0;
  /** How many blocks are cached (the valid entries of `order`). */
  private cachedBlocks = 0;
  live = 0;
  allocations = 0;
  reuses = 0;
  freed = 0;

  constructor(
    private readonly addon: NativeAddon,
    /** The cache's cap (tests use small ones). */
    private readonly maxCachedBytes = MAX_CACHED_BYTES,
  ) {}

  alloc(dtype: DType, n: number): NativeStorage {
    const bpe = dtype === 'float64' ? 8 : 4;
    const bytes = n * bpe;
    const cls = sizeClass(bytes);
    // The exact class first, then up to four classes above it (at most 1.7x the size): buffer sizes
    // drift with shapes, and reusing a slightly larger block beats mapping a new one.
    let block: Block | undefined;
    for (let c = cls, i = 0; i < 5 && !block; i++, c = sizeClass(c + 1)) block = this.free.get(c)?.pop();
    if (block) {
      this.cached -= block.bytes;
      this.cachedBlocks--;
      block.seq = -1;
      this.reuses++;
    } else {
      const buf = this.addon.alloc(cls);
      block = { buf, ptr: this.addon.params[0]!, handle: this.addon.params[1]!, bytes: cls, view: null, seq: -1 };
      this.allocations++;
    }
    let view = block.view;
    if (!view || view.length !== n || dtypeOf(view) !== dtype) {
      view = dtype === 'float32' ? new Float32Array(block.buf, 0, n) : dtype === 'float64' ? new Float64Array(block.buf, 0, n) : new Int32Array(block.buf, 0, n);
      block.view = view;
    }
    this.live += bytes;
    return new NativeStorage(view, block.ptr, block);
  }

  release(s: NativeStorage): void {
    if (s.released) return;
    s.released = true;
    this.live -= s.data.byteLength;
    if (s.readers && s.readers.size > 0) {
      s.releasePending = true;
      return;
    }
    this.recycle(s);
  }

  /** Return the block of a storage whose bytes were already released from the live count. */
  recycle(s: NativeStorage): void {
    const b = s.block;
    let list = this.free.get(b.bytes);
    if (!list) this.free.set(b.bytes, (list = []));
    list.push(b);
    b.seq = this.seq++;
    this.order.push({ block: b, seq: b.seq });
    this.cached += b.bytes;
    this.cachedBlocks++;
    while (this.cached > this.maxCachedBytes) this.evictOldest();
    // Drop the entries of blocks reused since their release (and those before `head`) once they
    // outnumber the cached blocks: every release adds an entry, and in a steady training loop
    // nothing is evicted, so the queue would otherwise grow by a step's releases every step.
    if (this.order.length - this.head > 2 * this.cachedBlocks + 1024) {
      this.order = this.order.slice(this.head).filter((e) => e.block.seq === e.seq);
      this.head = 0;
    }
  }

  /** Free the least recently released cached block. */
  private evictOldest(): void {
    for (;;) {
      const e = this.order[this.head++]!;
      if (e.block.seq !== e.seq) continue;  // reused (and maybe cached again, with a newer entry)
      const list = this.free.get(e.block.bytes)!;
      // a class's list is in release order, so its oldest cached block comes first
      const i = list[0] === e.block ? 0 : list.indexOf(e.block);
      list.splice(i, 1);
      e.block.seq = -1;
      this.cached -= e.block.bytes;
      this.cachedBlocks--;
      this.addon.free(e.block.buf, e.block.handle);
      this.freed++;
      return;
    }
  }

  stats(): { liveBytes: number; cachedBytes: number; allocations: number; reuses: number; freed: number; queued: number } {
    return {
      liveBytes: this.live, cachedBytes: this.cached, allocations: this.allocations, reuses: this.reuses, freed: this.freed,
      queued: this.order.length - this.head,
    };
  }
}

function dtypeOf(a: TypedArray): DType {
  return a instanceof Float32Array ? 'float32' : a instanceof Float64Array ? 'float64' : 'int32';
}
