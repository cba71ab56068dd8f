import type { TypedArray } from '../../dtype.js';
import type { TensorRef } from '../backend.js';
import { sizeOf } from '../../shape.js';
import { alloc, arr } from './storage.js';
import { ShapeError } from '../../errors.js';

function dims(x: TensorRef): { n: number; c: number; s: number } {
  return { n: x.shape[0]!, c: x.shape[1]!, s: sizeOf(x.shape.slice(2)) };
}

/**
 * The number of cotangent blocks K of a batch-norm gradient `gy` for input x: 1 when gy is shaped
 * like x, K when it is [K, ...x.shape] (Backend.batchNormStacks).
 */
export function stackBlocks(op: string, x: TensorRef, gy: TensorRef): number {
  const xs = x.shape, gs = gy.shape;
  const same = (off: number): boolean => gs.length === xs.length + off && xs.every((d, i) => gs[i + off] === d);
  if (same(0)) return 1;
  if (same(1)) return gs[0]!;
  throw new ShapeError(`${op}: the gradient must have the input's shape [${xs.join(', ')}] or [K, ${xs.join(', ')}], got [${gs.join(', ')}]`);
}

/**
 * Checks batchNormRelu's mask (relu's output after the batch norm, Backend.batchNormMask): shaped
 * like x, of x's dtype.
 */
export function checkMask(op: string, x: TensorRef, mask: TensorRef): void {
  if (mask.dtype !== x.dtype || mask.shape.length !== x.shape.length || mask.shape.some((d, i) => d !== x.shape[i])) {
    throw new ShapeError(`${op}: the mask must be a ${x.dtype} tensor shaped like the input [${x.shape.join(', ')}], got ${mask.dtype} [${mask.shape.join(', ')}]`);
  }
}

/** where(mask, g, 0) for one element: g where the mask is nonzero (NaN included), else 0. */
const masked = (m: TypedArray | null, i: number, g: number): number => (m === null || m[i] !== 0 ? g : 0);

export function batchNormForward(
  x: TensorRef, gamma: TensorRef, beta: TensorRef, eps: number,
): { y: TypedArray; mean: TypedArray; variance: TypedArray } {
  const X = arr(x);
  const G = arr(gamma);
  const B = arr(beta);
  const { n, c, s } = dims(x);
  const m = n * s;
  const mean = alloc(x.dtype, c);
  const variance = alloc(x.dtype, c);
  const y = alloc(x.dtype, X.length);
  for (let ch = 0; ch < c; ch++) {
    let sum = 0;
    for (let b = 0; b < n; b++) { const o = (b * c + ch) * s; for (let k = 0; k < s; k++) sum += X[o + k]!; }
    const mu = sum / m;
    let sq = 0;
    for (let b = 0; b < n; b++) { const o = (b * c + ch) * s; for (let k = 0; k < s; k++) { const d = X[o + k]! - mu; sq += d * d; } }
    const v = sq / m;
    mean[ch] = mu;
    variance[ch] = v;
    const inv = 1 / Math.sqrt(v + eps);
    const ga = G[ch]! * inv;
    const be = B[ch]!;
    for (let b = 0; b < n; b++) { const o = (b * c + ch) * s; for (let k = 0; k < s; k++) y[o + k] = (X[o + k]! - mu) * ga + be; }
  }
  return { y, mean, variance };
}

/**
 * dx = gamma * invstd / M * (M*gy - sum(gy) - xhat * sum(gy*xhat)); dgamma = sum(gy*xhat); dbeta = sum(gy),
 * for each of the K blocks of a stack gy [K, ...x.shape] (Backend.batchNormStacks): dx like gy,
 * dgamma and dbeta [K, C]. With a mask (Backend.batchNormMask), gy is where(mask, gy, 0).
 */
export function batchNormBackward(
  x: TensorRef, gy: TensorRef, mean: TensorRef, variance: TensorRef, gamma: TensorRef, eps: number, mask?: TensorRef,
): { dx: TypedArray; dgamma: TypedArray; dbeta: TypedArray } {
  const X = arr(x);
  if (mask) checkMask('batchNormBackward', x, mask);
  const M = mask ? arr(mask) : null;
  const GY = arr(gy);
  const MU = arr(mean);
  const VAR = arr(variance);
  const G = arr(gamma);
  const { n, c, s } = dims(x);
  const blocks = stackBlocks('batchNormBackward', x, gy);
  const m = n * s;
  const dx = alloc(x.dtype, blocks * X.length);
  const dgamma = alloc(x.dtype, blocks * c);
  const dbeta = alloc(x.dtype, blocks * c);
  for (let blk = 0; blk < blocks; blk++) {
    const bo = blk * X.length;
    for (let ch = 0; ch < c; ch++) {
      const mu = MU[ch]!;
      const inv = 1 / Math.sqrt(VAR[ch]! + eps);
      let sg = 0;
      let sgx = 0;
      for (let b = 0; b < n; b++) {
        const o = (b * c + ch) * s;
        for (let k = 0; k < s; k++) { const g = masked(M, o + k, GY[bo + o + k]!); sg += g; sgx += g * (X[o + k]! - mu) * inv; }
      }
      dbeta[blk * c + ch] = sg;
      dgamma[blk * c + ch] = sgx;
      const f = G[ch]! * inv / m;
      for (let b = 0; b < n; b++) {
        const o = (b * c + ch) * s;
        for (let k = 0; k < s; k++) dx[bo + o + k] = f * (m * masked(M, o + k, GY[bo + o + k]!) - sg - (X[o + k]! - mu) * inv * sgx);
      }
    }
  }
  return { dx, dgamma, dbeta };
}

/**
 * The fused second derivative of batchNormBackward's dx (formula in src/backends/backend.ts), for
 * each block of stacks g, u [K, ...x.shape]: gg like g; gx and dgamma summed over the blocks in
 * block order, each block's term rounded to the dtype first (the bits of per-block results added).
 * With a mask, g is where(mask, g, 0) and gg is returned as where(mask, gg, 0).
 */
export function batchNormDoubleBackward(
  x: TensorRef, gy: TensorRef, u: TensorRef, mean: TensorRef, variance: TensorRef, gamma: TensorRef, eps: number, mask?: TensorRef,
): { gx: TypedArray; gg: TypedArray; dgamma: TypedArray } {
  const X = arr(x), GY = arr(gy), U = arr(u), MU = arr(mean), VAR = arr(variance), GA = arr(gamma);
  if (mask) checkMask('batchNormDoubleBackward', x, mask);
  const M = mask ? arr(mask) : null;
  const { n, c, s } = dims(x);
  const blocks = stackBlocks('batchNormDoubleBackward', x, gy);
  if (stackBlocks('batchNormDoubleBackward', x, u) !== blocks) {
    throw new ShapeError(`batchNormDoubleBackward: g and u must have the same shape, got [${gy.shape.join(', ')}] and [${u.shape.join(', ')}]`);
  }
  const m = n * s;
  const gx = alloc(x.dtype, X.length);
  const gg = alloc(x.dtype, blocks * X.length);
  const dgamma = alloc(x.dtype, c);
  // one element of the dtype: a block's term is rounded to it before it is added
  const one = alloc(x.dtype, 1);
  const round = (v: number): number => ((one[0] = v), one[0]!);
  for (let blk = 0; blk < blocks; blk++) {
    const bo = blk * X.length;
    for (let ch = 0; ch < c; ch++) {
      const mu = MU[ch]!;
      const inv = 1 / Math.sqrt(VAR[ch]! + eps);
      let sg = 0, su = 0, sgx = 0, sux = 0, sug = 0;
      for (let b = 0; b < n; b++) {
        const o = (b * c + ch) * s;
        for (let k = 0; k < s; k++) {
          const g = masked(M, o + k, GY[bo + o + k]!), v = U[bo + o + k]!, xh = (X[o + k]! - mu) * inv;
          sg += g; su += v; sgx += g * xh; sux += v * xh; sug += v * g;
        }
      }
      const gm = sg / m, um = su / m, G = sgx / m, Uh = sux / m, Q = sug / m;
      const ga = GA[ch]!;
      const dg = m * inv * (Q - um * gm - Uh * G);
      dgamma[ch] = blk === 0 ? dg : dgamma[ch]! + round(dg);
      const cx = -ga * inv * inv, cg = ga * inv, r = Q - um * gm - 3 * Uh * G;
      for (let b = 0; b < n; b++) {
        const o = (b * c + ch) * s;
        for (let k = 0; k < s; k++) {
          const g = masked(M, o + k, GY[bo + o + k]!), v = U[bo + o + k]!, xh = (X[o + k]! - mu) * inv;
          const t = cx * ((v - um) * G + (g - gm) * Uh + xh * r);
          gx[o + k] = blk === 0 ? t : gx[o + k]! + round(t);
          gg[bo + o + k] = masked(M, o + k, cg * (v - um - xh * Uh));
        }
      }
    }
  }
  return { gx, gg, dgamma };
}
