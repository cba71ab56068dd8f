/** Fill and cast. */
import type { DType } from '../../dtype.js';
import type { Storage, TensorRef } from '../backend.js';
import { contiguous, Words } from './launch.js';
import { kernel, type GpuStorage, type Runtime } from './runtime.js';

const K_FILL = kernel('fill', 'fill', 'w');
const K_CAST = kernel('fill', 'cast_words', 'rw');

export function fillWords(rt: Runtime, out: Storage, n: number, bits: number): void {
  contiguous(rt, K_FILL, {}, [out], n, (n4) => new Words().u32(n4, bits).done());
}

export function fill(rt: Runtime, length: number, value: number, dtype: DType): GpuStorage {
  const out = rt.alloc(length, dtype);
  const bits = dtype === 'int32' ? value | 0 : new Uint32Array(new Float32Array([value]).buffer)[0]!;
  fillWords(rt, out, length, bits);
  return out;
}

export function cast(rt: Runtime, x: TensorRef, dtype: DType): GpuStorage {
  const n = x.storage.length;
  const out = rt.alloc(n, dtype);
  if (x.dtype === dtype) {
    rt.copy(rt.buf(x.storage), 0, rt.buf(out), 0, n * 4);
    return out;
  }
  contiguous(rt, K_CAST, { MODE: dtype === 'int32' ? 0 : 1 }, [x.storage, out], n, (n4) => new Words().u32(n4).done());
  return out;
}
