/**
 * Direct, loop-by-loop reference implementations used as oracles by the forward tests and the model
 * tests: convolution, pooling, matmul, batch norm. Deliberately naive: one output element at a time,
 * straight from the definitions, sharing no code with the engine.
 */
import type { WindowGeom } from '../../src/backends/backend.js';

export type Arr = ArrayLike<number>;

/** Deterministic pseudo-random values in [-1, 1) (a sine hash), for test inputs. */
export function hashValues(n: number, seed: number): number[] {
  return Array.from({ length: n }, (_, i) => {
    const s = Math.sin((i + 1) * 12.9898 + seed * 78.233) * 43758.5453;
    return 2 * (s - Math.floor(s)) - 1;
  });
}

/** A convolution's window (the output size is derived) and its output channels `oc`. */
export type ConvSpec = Omit<WindowGeom, 'oh' | 'ow'> & { oc: number };

/** y[n,o,i,j] = b[o] + sum_{c,p,q} x[n,c,i*sh-ph+p, j*sw-pw+q] w[o,c,p,q] (zero outside the image). */
export function naiveConv2d(x: Arr, w: Arr, b: Arr | null, s: ConvSpec): { out: number[]; oh: number; ow: number } {
  const oh = Math.floor((s.h + 2 * s.ph - s.kh) / s.sh) + 1;
  const ow = Math.floor((s.w + 2 * s.pw - s.kw) / s.sw) + 1;
  const out: number[] = [];
  for (let n = 0; n < s.n; n++) {
    for (let o = 0; o < s.oc; o++) {
      for (let i = 0; i < oh; i++) {
        for (let j = 0; j < ow; j++) {
          let acc = b ? b[o]! : 0;
          for (let c = 0; c < s.c; c++) {
            for (let p = 0; p < s.kh; p++) {
              for (let q = 0; q < s.kw; q++) {
                const y = i * s.sh - s.ph + p;
                const xx = j * s.sw - s.pw + q;
                if (y < 0 || y >= s.h || xx < 0 || xx >= s.w) continue;
                acc += x[((n * s.c + c) * s.h + y) * s.w + xx]! * w[((o * s.c + c) * s.kh + p) * s.kw + q]!;
              }
            }
          }
          out.push(acc);
        }
      }
    }
  }
  return { out, oh, ow };
}

/** A pooling window: the contract's geometry without the output size, which the oracle derives. */
export type PoolSpec = Omit<WindowGeom, 'oh' | 'ow'>;

/** Max or average over each window; average divides by kh*kw (padding counts as zeros). */
export function naivePool(x: Arr, s: PoolSpec, kind: 'max' | 'avg'): { out: number[]; argmax: number[]; oh: number; ow: number } {
  const oh = Math.floor((s.h + 2 * s.ph - s.kh) / s.sh) + 1;
  const ow = Math.floor((s.w + 2 * s.pw - s.kw) / s.sw) + 1;
  const out: number[] = [];
  const argmax: number[] = [];
  for (let pl = 0; pl < s.n * s.c; pl++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        let best = -Infinity;
        let bi = -1;
        let sum = 0;
        for (let p = 0; p < s.kh; p++) {
          for (let q = 0; q < s.kw; q++) {
            const y = i * s.sh - s.ph + p;
            const xx = j * s.sw - s.pw + q;
            if (y < 0 || y >= s.h || xx < 0 || xx >= s.w) continue;
            const v = x[pl * s.h * s.w + y * s.w + xx]!;
            sum += v;
            if (v > best) {
              best = v;
              bi = y * s.w + xx;
            }
          }
        }
        out.push(kind === 'max' ? best : sum / (s.kh * s.kw));
        argmax.push(bi);
      }
    }
  }
  return { out, argmax, oh, ow };
}

/** C = op(A) op(B) for row-major A, B given with their stored shapes [r, c]. */
export function naiveMatmul(a: Arr, ar: number, ac: number, b: Arr, br: number, bc: number, ta: boolean, tb: boolean): number[] {
  const m = ta ? ac : ar;
  const k = ta ? ar : ac;
  const n = tb ? br : bc;
  const out: number[] = [];
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        const av = ta ? a[p * ac + i]! : a[i * ac + p]!;
        const bv = tb ? b[j * bc + p]! : b[p * bc + j]!;
        s += av * bv;
      }
      out.push(s);
    }
  }
  return out;
}

/** Batch norm over [N, C, S] with batch statistics (biased variance). */
export function naiveBatchNorm(
  x: Arr, n: number, c: number, s: number, gamma: Arr, beta: Arr, eps: number,
): { y: number[]; mean: number[]; variance: number[] } {
  const y = new Array<number>(n * c * s).fill(0);
  const mean: number[] = [];
  const variance: number[] = [];
  for (let ch = 0; ch < c; ch++) {
    const vals: number[] = [];
    for (let b = 0; b < n; b++) for (let k = 0; k < s; k++) vals.push(x[(b * c + ch) * s + k]!);
    const mu = vals.reduce((p, v) => p + v, 0) / vals.length;
    const v = vals.reduce((p, t) => p + (t - mu) ** 2, 0) / vals.length;
    mean.push(mu);
    variance.push(v);
    for (let b = 0; b < n; b++) {
      for (let k = 0; k < s; k++) {
        const i = (b * c + ch) * s + k;
        y[i] = (gamma[ch]! * (x[i]! - mu)) / Math.sqrt(v + eps) + beta[ch]!;
      }
    }
  }
  return { y, mean, variance };
}
