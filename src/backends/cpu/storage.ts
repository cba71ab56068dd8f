import type { DType, TypedArray } from '../../dtype.js';
import { allocTyped } from '../../dtype.js';
import type { DeviceName, Storage, TensorRef } from '../backend.js';

/** Host memory storage shared by the TypeScript and native CPU backends. */
export class HostStorage implements Storage {
  readonly length: number;
  readonly dtype: DType;
  constructor(
    readonly device: DeviceName,
    readonly data: TypedArray,
  ) {
    this.length = data.length;
    this.dtype =
      data instanceof Float32Array ? 'float32' : data instanceof Float64Array ? 'float64' : 'int32';
  }
}

export function arr(t: TensorRef | Storage): TypedArray {
  const s = 'storage' in t ? t.storage : t;
  return (s as HostStorage).data;
}

export function alloc(d: DType, n: number): TypedArray {
  return allocTyped(d, n);
}
