/**
 * Weight initializers with Keras semantics (the thesis trained in TensorFlow/Keras), drawn from
 * the seeded Philox generator so a seed gives the same weights on every device.
 *
 *   glorotUniform  U(-l, l),  l = sqrt(6 / (fanIn + fanOut))          (Keras default kernel init)
 *   glorotNormal   truncated N(0, s^2) on [-2s, 2s], s = sqrt(2 / (fanIn + fanOut)) / 0.8796
 *   heUniform      U(-l, l),  l = sqrt(6 / fanIn)
 *   heNormal       truncated N(0, s^2), s = sqrt(2 / fanIn) / 0.8796
 *   zeros, ones
 * Keras divides the truncated normal's std by 0.87962566 (the std of a standard normal truncated to
 * [-2, 2]) so the drawn values have the intended variance.
 *
 * Values are drawn on the cpu in float64 (Philox is identical on every backend) and uploaded, so
 * initialization needs no device read-back.
 */
import type { DeviceName } from '../backends/backend.js';
import { checkFloatDType, type FloatDType } from '../dtype.js';
import { ArgumentError } from '../errors.js';
import { full, randomTensor, tensor } from '../ops/creation.js';
import { philox4x32 } from '../random/philox.js';
import { sizeOf, type Shape } from '../shape.js';
import type { Tensor } from '../tensor.js';

export type InitName = 'glorotUniform' | 'glorotNormal' | 'heUniform' | 'heNormal' | 'zeros' | 'ones';

export interface InitOptions {
  dtype?: FloatDType;
  device?: DeviceName;
}

const TRUNC_STD = 0.87962566103423978;

/** fanIn and fanOut of a weight: [out, in] for dense, [outC, inC, kh, kw] for conv (receptive field counted). */
export function fans(shape: Shape): { fanIn: number; fanOut: number } {
  if (shape.length < 2) return { fanIn: shape[0] ?? 1, fanOut: shape[0] ?? 1 };
  const rf = sizeOf(shape.slice(2));
  return { fanIn: shape[1]! * rf, fanOut: shape[0]! * rf };
}

/**
 * A new seed from a seed and a path of integers (layer index, parameter index, ...), by one Philox
 * block keyed by the seed: independent streams for every layer from one model seed.
 */
export function deriveSeed(seed: number, ...path: number[]): number {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new ArgumentError(`deriveSeed: seed must be a non-negative safe integer, got ${seed}`);
  const out = new Uint32Array(4);
  let lo = seed % 4294967296 >>> 0;
  let hi = Math.floor(seed / 4294967296) >>> 0;
  for (const p of path) {
    philox4x32(p >>> 0, 0x9e3779b9, 0x1a7e5eed, 0, lo, hi, out);
    lo = out[0]!;
    hi = out[1]! & 0x1fffff;
  }
  return hi * 4294967296 + lo;
}

function uniformDraw(shape: Shape, limit: number, seed: number): Float64Array {
  const t = randomTensor('init', 'uniform', shape, -limit, limit, { dtype: 'float64', device: 'cpu' }, { seed, stream: 0, offset: 0 });
  const v = t.dataSync() as Float64Array;
  t.dispose();
  return v;
}

/** N(0, std^2) truncated to [-2 std, 2 std] by redrawing rejected values further along the stream. */
function truncatedNormalDraw(shape: Shape, std: number, seed: number): Float64Array {
  const n = sizeOf(shape);
  const out = new Float64Array(n);
  let pending = Array.from({ length: n }, (_, i) => i);
  let offset = 0;
  while (pending.length > 0) {
    const t = randomTensor('init', 'normal', [pending.length], 0, 1, { dtype: 'float64', device: 'cpu' }, { seed, stream: 1, offset });
    const z = t.dataSync();
    t.dispose();
    offset += pending.length;
    const next: number[] = [];
    pending.forEach((idx, k) => {
      const v = z[k]!;
      if (Math.abs(v) <= 2) out[idx] = v * std;
      else next.push(idx);
    });
    pending = next;
  }
  return out;
}

/** A tensor of `shape` initialized by `name` from `seed`. */
export function initTensor(name: InitName, shape: Shape, seed: number, o: InitOptions = {}): Tensor {
  const opts = { dtype: o.dtype ?? 'float32', device: o.device };
  checkFloatDType(`init ${name}`, opts.dtype, 'option dtype');
  const { fanIn, fanOut } = fans(shape);
  switch (name) {
    case 'zeros':
      return full(shape, 0, opts);
    case 'ones':
      return full(shape, 1, opts);
    case 'glorotUniform':
      return tensor(uniformDraw(shape, Math.sqrt(6 / (fanIn + fanOut)), seed), shape, opts);
    case 'heUniform':
      return tensor(uniformDraw(shape, Math.sqrt(6 / fanIn), seed), shape, opts);
    case 'glorotNormal':
      return tensor(truncatedNormalDraw(shape, Math.sqrt(2 / (fanIn + fanOut)) / TRUNC_STD, seed), shape, opts);
    case 'heNormal':
      return tensor(truncatedNormalDraw(shape, Math.sqrt(2 / fanIn) / TRUNC_STD, seed), shape, opts);
    default:
      throw new ArgumentError(`initTensor: unknown initializer '${String(name)}' (expected glorotUniform, glorotNormal, heUniform, heNormal, zeros or ones)`);
  }
}
