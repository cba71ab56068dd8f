/**
 * Launch helpers shared by the kernel families: contiguous vec4 kernels split into windows that
 * fit a binding, and strided kernels over a coalesced iteration shape whose inner dims become
 * override constants.
 */
import { DeviceError } from '../../errors.js';
import type { Storage } from '../backend.js';
import { linearChunks, planStrided, type StridedChunk, type StridedOperand } from './plan.js';
import { Words, type Constants, type Kernel, type Runtime } from './runtime.js';

/** Workgroup size of the 1-D kernels. */
export const WG = 256;
/** vec4s per invocation in the contiguous kernels. */
export const VPT = 4;
export const MAX_RANK = 8;

/**
 * Run a contiguous kernel over `n` elements: every storage (inputs then outputs, in binding order)
 * is bound over the same window; `params(n4)` builds the uniform words for a window of n4 vec4s.
 */
export function contiguous(
  rt: Runtime, k: Kernel, constants: Constants, storages: readonly Storage[], n: number,
  params: (n4: number, first: number) => Uint32Array,
): void {
  for (const c of linearChunks(n, rt.lim)) {
    if (c.length === 0) continue;
    const n4 = Math.ceil(c.length / 4);
    const binds = storages.map((s) => rt.bind(s, { start: c.start, length: c.length }));
    rt.dispatch(k, { WG, VPT, ...constants }, params(n4, c.start), binds, rt.grid(Math.ceil(n4 / (WG * VPT))));
  }
}

const magicCache = new Map<number, [number, number]>();

/**
 * The pair (m, s) with floor(n / d) = mulhi(n, m) >> s for every n < 2^31 (Granlund-Montgomery,
 * "round up" variant: l = ceil(log2 d), m = ceil(2^(31+l) / d), s = l - 1); (0, 0) for d = 1.
 */
export function magic(d: number): [number, number] {
  let r = magicCache.get(d);
  if (!r) {
    if (d <= 1) r = [0, 0];
    else {
      const l = 32 - Math.clz32(d - 1);
      const m = ((1n << BigInt(31 + l)) + BigInt(d) - 1n) / BigInt(d);
      r = [Number(m), l - 1];
    }
    magicCache.set(d, r);
  }
  return r;
}

/** The `Dims` struct of an iteration shape: sizes, magic multipliers and shifts (up to 8 dims). */
export function dimsWords(w: Words, shape: readonly number[]): Words {
  if (shape.length > MAX_RANK) {
    throw new DeviceError(`webgpu: a strided kernel over ${shape.length} non-mergeable dims (max ${MAX_RANK})`);
  }
  const m = shape.map((d) => magic(d));
  return w.vec(shape, 2).vec(m.map((x) => x[0]), 2).vec(m.map((x) => x[1]), 2);
}

/**
 * Plan and run a strided kernel: `ops` are the operands in binding order, `make` builds the params
 * of one chunk and returns the kernel constants to add.
 */
export function strided(
  rt: Runtime, k: Kernel, constants: Constants, storages: readonly Storage[], shape: readonly number[],
  ops: readonly StridedOperand[], make: (chunk: StridedChunk, n: number) => Uint32Array, perThread = 4,
): void {
  for (const chunk of planStrided(shape, ops, rt.lim)) {
    let n = 1;
    for (const d of chunk.shape) n *= d;
    if (n === 0) continue;
    const binds = storages.map((s, j) => rt.bind(s, chunk.windows[j]));
    rt.dispatch(k, { WG, ...constants }, make(chunk, n), binds, rt.grid(Math.ceil(n / (WG * perThread))));
  }
}

export { Words };
