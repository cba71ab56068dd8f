/**
 * Seeded draws for the stochastic regularizers. Every draw goes through the Philox generator with
 * key (run seed, purpose stream) and a counter offset of step * 2^32, so a run is reproducible, two
 * purposes never share numbers, and the same seed gives the same noise on every backend.
 */
import * as g from '../api.js';
import type { Tensor } from '../api.js';
import type { DrawSource } from './types.js';

/** One Philox stream per purpose. */
export const Streams = {
  inputNoise: 0x4e49,
  projection: 0x5052,
} as const;

const STEP_STRIDE = 2 ** 32;

/** Standard normal values of `shape`, fixed by (seed, purpose, step). */
export function drawNormal(
  shape: readonly number[],
  src: DrawSource,
  stream: number,
  like: { dtype: Tensor['dtype']; device: Tensor['device'] },
): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n >= STEP_STRIDE) throw new g.ArgumentError(`drawNormal: a draw of ${n} values exceeds the per-step counter range 2^32`);
  if (!Number.isSafeInteger(src.step) || src.step < 0 || src.step >= 2 ** 21) {
    throw new g.ArgumentError(`drawNormal: step must be an integer in [0, 2^21), got ${src.step}`);
  }
  return g.randomTensor('randn', 'normal', shape, 0, 1, { dtype: like.dtype, device: like.device }, {
    seed: src.seed,
    stream,
    offset: src.step * STEP_STRIDE,
  });
}
