import type { DType } from '../../dtype.js';
import type { DeviceName, Storage } from '../backend.js';

/** A device buffer of the CUDA addon, known by its handle. */
export class CudaStorage implements Storage {
  constructor(
    readonly device: DeviceName,
    readonly handle: number,
    readonly length: number,
    readonly dtype: DType,
    readonly bytes: number,
  ) {}
}
