import { assertFloat } from '../dtype.js';
import { ArgumentError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { backendOf } from './core.js';
import { bernoulli, randn, randomTensor, type DrawKey } from './creation.js';
import { add, mul } from './elementwise.js';
import { reshape } from './layout.js';

export interface DropoutOptions {
  training: boolean;
  /** Fixes the mask (with `stream`/`offset` to draw distinct masks from one seed). */
  seed?: number;
  stream?: number;
  offset?: number;
}

/** Inverted dropout: zero each value with probability p and scale the rest by 1/(1-p). */
// d dropout(x) = g * mask / (1 - p)
export function dropout(x: Tensor, p: number, o: DropoutOptions): Tensor {
  backendOf('dropout', x);
  assertFloat('dropout', x.dtype);
  if (!(p >= 0 && p < 1)) throw new ArgumentError(`dropout: p must be in [0, 1), got ${p}`);
  if (!o.training || p === 0) return reshape(x, x.shape);
  const key: DrawKey | undefined = o.seed === undefined ? undefined : { seed: o.seed, stream: o.stream ?? 0, offset: o.offset ?? 0 };
  const opts = { dtype: x.dtype, device: x.device };
  const mask = key ? bernoulliKeyed(x.shape, 1 - p, opts, key) : bernoulli(x.shape, 1 - p, opts);
  const y = mul(x, mul(mask, 1 / (1 - p)));
  mask.dispose();
  return y;
}

function bernoulliKeyed(shape: readonly number[], p: number, opts: { dtype: Tensor['dtype']; device: Tensor['device'] }, key: DrawKey): Tensor {
  return randomTensor('dropout', 'bernoulli', shape, p, 0, opts, key);
}

/** x + std * noise, noise ~ N(0, I): Gaussian noise injection (thesis eq. 57). */
export function gaussianNoise(x: Tensor, std: number, o: { seed?: number; stream?: number; offset?: number } = {}): Tensor {
  backendOf('gaussianNoise', x);
  assertFloat('gaussianNoise', x.dtype);
  if (!(std >= 0)) throw new ArgumentError(`gaussianNoise: std must be >= 0, got ${std}`);
  const opts = { dtype: x.dtype, device: x.device };
  const noise =
    o.seed === undefined
      ? randn(x.shape, opts)
      : randomTensor('gaussianNoise', 'normal', x.shape, 0, 1, opts, { seed: o.seed, stream: o.stream ?? 0, offset: o.offset ?? 0 });
  const y = add(x, mul(noise, std));
  noise.dispose();
  return y;
}
