/** Philox 4x32-10 random numbers, the same draw as src/random/philox.ts for the same parameters. */
import type { DType } from '../../dtype.js';
import type { RandomParams } from '../backend.js';
import { linearChunks } from './plan.js';
import { WG, Words } from './launch.js';
import { kernel, type GpuStorage, type Runtime } from './runtime.js';
import { RANDOM_CODE } from '../opcodes.js';

const K_RANDOM = kernel('random', 'random', 'w');

/** Count of 24-bit integers k with (k + 0.5) 2^-24 < p: u < p decided exactly on the integer. */
export function bernoulliThreshold(p: number): number {
  const t = Math.ceil(p * 16777216 - 0.5);
  return Math.min(16777216, Math.max(0, t));
}

export function random(rt: Runtime, length: number, dtype: DType, p: RandomParams): GpuStorage {
  const out = rt.alloc(length, dtype);
  const offLo = p.offset % 4294967296;
  const offHi = Math.floor(p.offset / 4294967296);
  const one = dtype === 'int32' ? 1 : 0x3f800000;
  const b = p.kind === 'uniform' ? p.b - p.a : p.b;
  for (const c of linearChunks(length, rt.lim)) {
    if (c.length === 0) continue;
    const w = new Words()
      .u32(c.length, c.start, offLo, offHi, p.seedLo, p.seedHi, p.stream, bernoulliThreshold(p.a))
      .f32(p.a, b).u32(one, RANDOM_CODE[p.kind]).done();
    rt.dispatch(K_RANDOM, { WG }, w, [rt.bind(out, c)], rt.grid(Math.ceil(c.length / WG)));
  }
  return out;
}
