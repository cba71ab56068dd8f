import type { TypedArray } from '../../dtype.js';
import type { TensorRef } from '../backend.js';
import { sizeOf } from '../../shape.js';
import { alloc, arr } from './storage.js';

function dims(x: TensorRef): { n: number; c: number; s: number } {
  return { n: x.shape[0]!, c: x.shape[1]!, s: sizeOf(x.shape.slice(2)) };
}

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

/** dx = gamma * invstd / M * (M*gy - sum(gy) - xhat * sum(gy*xhat)); dgamma = sum(gy*xhat); dbeta = sum(gy). */
export function batchNormBackward(
  x: TensorRef, gy: TensorRef, mean: TensorRef, variance: TensorRef, gamma: TensorRef, eps: number,
): { dx: TypedArray; dgamma: TypedArray; dbeta: TypedArray } {
  const X = arr(x);
  const GY = arr(gy);
  const MU = arr(mean);
  const VAR = arr(variance);
  const G = arr(gamma);
  const { n, c, s } = dims(x);
  const m = n * s;
  const dx = alloc(x.dtype, X.length);
  const dgamma = alloc(x.dtype, c);
  const dbeta = alloc(x.dtype, c);
  for (let ch = 0; ch < c; ch++) {
    const mu = MU[ch]!;
    const inv = 1 / Math.sqrt(VAR[ch]! + eps);
    let sg = 0;
    let sgx = 0;
    for (let b = 0; b < n; b++) {
      const o = (b * c + ch) * s;
      for (let k = 0; k < s; k++) { const g = GY[o + k]!; sg += g; sgx += g * (X[o + k]! - mu) * inv; }
    }
    dbeta[ch] = sg;
    dgamma[ch] = sgx;
    const f = G[ch]! * inv / m;
    for (let b = 0; b < n; b++) {
      const o = (b * c + ch) * s;
      for (let k = 0; k < s; k++) dx[o + k] = f * (m * GY[o + k]! - sg - (X[o + k]! - mu) * inv * sgx);
    }
  }
  return { dx, dgamma, dbeta };
}

/** The fused second derivative of batchNormBackward's dx (formula in src/backends/backend.ts). */
export function batchNormDoubleBackward(
  x: TensorRef, gy: TensorRef, u: TensorRef, mean: TensorRef, variance: TensorRef, gamma: TensorRef, eps: number,
): { gx: TypedArray; gg: TypedArray; dgamma: TypedArray } {
  const X = arr(x), GY = arr(gy), U = arr(u), MU = arr(mean), VAR = arr(variance), GA = arr(gamma);
  const { n, c, s } = dims(x);
  const m = n * s;
  const gx = alloc(x.dtype, X.length);
  const gg = alloc(x.dtype, X.length);
  const dgamma = alloc(x.dtype, c);
  for (let ch = 0; ch < c; ch++) {
    const mu = MU[ch]!;
    const inv = 1 / Math.sqrt(VAR[ch]! + eps);
    let sg = 0, su = 0, sgx = 0, sux = 0, sug = 0;
    for (let b = 0; b < n; b++) {
      const o = (b * c + ch) * s;
      for (let k = 0; k < s; k++) {
        const g = GY[o + k]!, v = U[o + k]!, xh = (X[o + k]! - mu) * inv;
        sg += g; su += v; sgx += g * xh; sux += v * xh; sug += v * g;
      }
    }
    const gm = sg / m, um = su / m, G = sgx / m, Uh = sux / m, Q = sug / m;
    const ga = GA[ch]!;
    dgamma[ch] = m * inv * (Q - um * gm - Uh * G);
    const cx = -ga * inv * inv, cg = ga * inv, r = Q - um * gm - 3 * Uh * G;
    for (let b = 0; b < n; b++) {
      const o = (b * c + ch) * s;
      for (let k = 0; k < s; k++) {
        const g = GY[o + k]!, v = U[o + k]!, xh = (X[o + k]! - mu) * inv;
        gx[o + k] = cx * ((v - um) * G + (g - gm) * Uh + xh * r);
        gg[o + k] = cg * (v - um - xh * Uh);
      }
    }
  }
  return { gx, gg, dgamma };
}
