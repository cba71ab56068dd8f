/**
 * The parameter block of a native kernel call, shared by both addons: the numbers a kernel's
 * dispatcher reads, in its order, written into a Float64Array (the native addon's block shared
 * with C++, native/cpu/addon.cc; or the list a CUDA launch passes, native/cuda/runtime/call.hpp).
 * Pointers, sizes and codes travel as exact doubles.
 */
import type { DType } from '../dtype.js';
import { DeviceError } from '../errors.js';
import type { WindowGeom } from './backend.js';
import { DTYPE_CODE } from './opcodes.js';

export class ParamBlock {
  length = 0;

  constructor(readonly data: Float64Array) {}

  /** Begin the next call's parameters. */
  reset(): this {
    this.length = 0;
    return this;
  }
  num(...xs: number[]): this {
    if (this.length + xs.length > this.data.length) {
      throw new DeviceError(`kernel parameters: more than ${this.data.length} numbers in one call`);
    }
    for (const x of xs) this.data[this.length++] = x;
    return this;
  }
  flag(b: boolean): this {
    return this.num(b ? 1 : 0);
  }
  dtype(d: DType): this {
    return this.num(DTYPE_CODE[d]);
  }
  /** The entries of a shape or index list (for kernels that read its length elsewhere). */
  dims(xs: readonly number[]): this {
    return this.num(...xs);
  }
  /** A shape or index list: its length, then its entries. */
  list(xs: readonly number[]): this {
    return this.num(xs.length, ...xs);
  }
  /** The 12 numbers of a window: n, c, h, w, kh, kw, sh, sw, ph, pw, oh, ow. */
  geom(g: WindowGeom): this {
    return this.num(g.n, g.c, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.oh, g.ow);
  }
  /** The numbers written since reset(). */
  values(): Float64Array {
    return this.data.subarray(0, this.length);
  }
  /** A copy of the block, to write a nested call's parameters in between (see restore). */
  save(): { length: number; data: Float64Array } {
    return { length: this.length, data: this.data.slice(0, this.length) };
  }
  restore(s: { length: number; data: Float64Array }): void {
    this.data.set(s.data);
    this.length = s.length;
  }
}
