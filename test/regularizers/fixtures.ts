/** Small float64 models with known or cheap Jacobians, and host-side linear algebra for closed forms. */
import * as g from '../../src/index.js';
import type { Tensor } from '../../src/index.js';

const f64 = { dtype: 'float64' as const };

/** Deterministic values in [-1, 1) (a fixed LCG), so closed forms are computed on known numbers. */
export function values(n: number, seed: number, scale = 1): number[] {
  let s = seed >>> 0 || 1;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 31 - 1) * scale;
  });
}

export function t64(vals: number[], shape: number[], requiresGrad = false): Tensor {
  return g.tensor(vals, shape, { ...f64, requiresGrad });
}

export function labels(ys: number[]): Tensor {
  return g.tensor(Int32Array.from(ys), [ys.length], { dtype: 'int32' });
}

/** g(x) = x W^T: the logits Jacobian of every sample is W. */
export function linear(w: Tensor): (x: Tensor) => Tensor {
  return (x) => g.matmulT(x, w, false, true);
}

export interface Mlp {
  params: Tensor[];
  f: (x: Tensor) => Tensor;
  /** The same network on explicitly given parameters (for gradcheck). */
  on: (ps: Tensor[]) => (x: Tensor) => Tensor;
}

/** tanh MLP d -> h -> c (smooth, so every derivative order is defined). */
export function mlp(d: number, h: number, c: number, seed = 7): Mlp {
  const params = [
    t64(values(h * d, seed, 0.9), [h, d], true),
    t64(values(h, seed + 1, 0.3), [h], true),
    t64(values(c * h, seed + 2, 0.9), [c, h], true),
    t64(values(c, seed + 3, 0.3), [c], true),
  ];
  const on = (ps: Tensor[]) => (x: Tensor) => {
    const [w1, b1, w2, b2] = ps as [Tensor, Tensor, Tensor, Tensor];
    const hid = g.tanh(g.add(g.matmulT(x, w1, false, true), b1));
    return g.add(g.matmulT(hid, w2, false, true), b2);
  };
  return { params, f: on(params), on };
}

/** A tiny conv net on [N, 1, 5, 5]: conv 3x3 (2 filters) -> tanh -> avg pool 2 -> dense to c classes. */
export function convNet(c: number, seed = 11): { params: Tensor[]; f: (x: Tensor) => Tensor } {
  const w = t64(values(2 * 9, seed, 0.7), [2, 1, 3, 3], true);
  const b = t64(values(2, seed + 1, 0.2), [2], true);
  const v = t64(values(c * 2 * 1 * 1, seed + 2, 0.8), [c, 2], true);
  const f = (x: Tensor): Tensor => {
    const hmap = g.tanh(g.conv2d(x, w, b, { stride: 1, padding: 0 }));
    const pooled = g.avgPool2d(hmap, { kernel: 2, stride: 2 });
    return g.matmulT(g.flatten(pooled), v, false, true);
  };
  return { params: [w, b, v], f };
}

export function host(t: Tensor): number[] {
  return Array.from(t.dataSync());
}

export function scalar(t: Tensor): number {
  return t.dataSync()[0]!;
}

/** Row-major matrices as arrays of rows. */
export type Mat = number[][];

export function rows(vals: number[], r: number, c: number): Mat {
  return Array.from({ length: r }, (_, i) => vals.slice(i * c, (i + 1) * c));
}

export function matmul(a: Mat, b: Mat): Mat {
  return a.map((row) => b[0]!.map((_, j) => row.reduce((s, v, k) => s + v * b[k]![j]!, 0)));
}

export function transpose(a: Mat): Mat {
  return a[0]!.map((_, j) => a.map((row) => row[j]!));
}

export function frob2(a: Mat): number {
  return a.reduce((s, row) => s + row.reduce((t, v) => t + v * v, 0), 0);
}

export function softmaxHost(z: number[]): number[] {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** The softmax Hessian of cross-entropy in logit space: diag(p) - p p^T. */
export function softmaxHessian(p: number[]): Mat {
  return p.map((pi, i) => p.map((pj, j) => (i === j ? pi : 0) - pi * pj));
}
