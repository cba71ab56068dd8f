/**
 * GPU buffers recycled by size class. A class is the request rounded up to the next power of two
 * below 4 KiB and to the next quarter-octave above (at most 25% slack), so a training loop whose
 * tensors repeat shapes step after step reuses the same buffers and allocates nothing new.
 * Freed buffers beyond `capBytes` are destroyed (after the work that uses them is submitted).
 */
export const STORAGE_USAGE = 0x80 | 0x04 | 0x08; // STORAGE | COPY_SRC | COPY_DST

export function sizeClass(bytes: number): number {
  const b = Math.max(16, bytes);
  if (b <= 4096) return 2 ** Math.ceil(Math.log2(b));
  const e = 2 ** Math.floor(Math.log2(b));
  const step = e / 4;
  return Math.ceil(b / step) * step;
}

export interface PoolStats {
  /** Buffers handed out and not yet released. */
  liveBuffers: number;
  /** Bytes of the size classes of those buffers. */
  liveClassBytes: number;
  /** Released buffers kept for reuse, and their bytes. */
  pooledBuffers: number;
  pooledBytes: number;
  /** Buffers ever created, and destroyed. */
  created: number;
  destroyed: number;
}

export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  private readonly stats: PoolStats = { liveBuffers: 0, liveClassBytes: 0, pooledBuffers: 0, pooledBytes: 0, created: 0, destroyed: 0 };

  constructor(
    private readonly device: GPUDevice,
    private readonly usage: number,
    private readonly capBytes: number,
    /** Destroys a buffer once no pending work uses it. */
    private readonly retire: (b: GPUBuffer) => void,
    private readonly label: string,
  ) {}

  acquire(bytes: number): { buffer: GPUBuffer; cls: number; fresh: boolean } {
    const cls = sizeClass(bytes);
    const list = this.free.get(cls);
    this.stats.liveBuffers++;
    this.stats.liveClassBytes += cls;
    const reused = list?.pop();
    if (reused) {
      this.stats.pooledBuffers--;
      this.stats.pooledBytes -= cls;
      return { buffer: reused, cls, fresh: false };
    }
    this.stats.created++;
    const buffer = this.device.createBuffer({ size: cls, usage: this.usage, label: this.label });
    return { buffer, cls, fresh: true };
  }

  release(buffer: GPUBuffer, cls: number): void {
    this.stats.liveBuffers--;
    this.stats.liveClassBytes -= cls;
    if (this.stats.pooledBytes + cls > this.capBytes) {
      this.stats.destroyed++;
      this.retire(buffer);
      return;
    }
    let list = this.free.get(cls);
    if (!list) this.free.set(cls, (list = []));
    list.push(buffer);
    this.stats.pooledBuffers++;
    this.stats.pooledBytes += cls;
  }

  /** Destroy every pooled buffer (live ones stay). */
  trim(): void {
    for (const list of this.free.values()) {
      for (const b of list) {
        this.stats.destroyed++;
        this.retire(b);
      }
    }
    this.free.clear();
    this.stats.pooledBuffers = 0;
    this.stats.pooledBytes = 0;
  }

  snapshot(): PoolStats {
    return { ...this.stats };
  }
}
