/**
 * Finite-difference checks of gradients, to any order, in float64 on the cpu backend.
 *
 * Order 1 checks d/dx <u, f(x)> for a fixed random cotangent u. Order k checks the gradient of
 * F_k(x) = sum_i <w_i, grad_i F_{k-1}(x)>, built with createGraph, against central differences of
 * F_k itself, for every k up to the order asked; so order 2 is double backprop checked against
 * differences of first-order gradients, exactly the quantity the regularizers differentiate.
 */
import { DTypeError, GradregError, ShapeError } from '../errors.js';
import { isFloat } from '../dtype.js';
import { Tensor } from '../tensor.js';
import { tensor } from '../ops/creation.js';
import { mul, add } from '../ops/elementwise.js';
import { sum } from '../ops/reduce.js';
import { detach } from '../ops/layout.js';
import { tidy } from '../scope.js';
import { philoxFill } from '../random/philox.js';
import { grad } from './grad.js';

export interface GradcheckOptions {
  order?: number;
  /** Finite-difference step. */
  eps?: number;
  atol?: number;
  rtol?: number;
  /** Seed of the random cotangents. */
  seed?: number;
  /** Throw a GradcheckError on failure (default) or just report. */
  raise?: boolean;
}

export interface GradcheckReport {
  ok: boolean;
  /** Per order checked: the largest |analytic - numeric| and where it happened. */
  orders: { order: number; maxAbsError: number; worst: string }[];
}

export class GradcheckError extends GradregError {}

type Fn = (...xs: Tensor[]) => Tensor;

function randomLike(t: Tensor, stream: number, seed: number): Tensor {
  const vals = new Float64Array(t.size);
  philoxFill(vals, { kind: 'normal', a: 0, b: 1, seedLo: seed, seedHi: 0, stream, offset: 0 });
  return tensor(vals, t.shape, { dtype: 'float64', device: 'cpu' });
}

export function gradcheck(fn: Fn, inputs: readonly Tensor[], o: GradcheckOptions = {}): GradcheckReport {
  const order = o.order ?? 1;
  const eps = o.eps ?? 1e-6;
  const atol = o.atol ?? 1e-5;
  const rtol = o.rtol ?? 1e-3;
  const seed = o.seed ?? 1234;
  if (!Number.isInteger(order) || order < 1) throw new GradregError(`gradcheck: order must be a positive integer, got ${order}`);
  for (const x of inputs) {
    if (isFloat(x.dtype) && (x.dtype !== 'float64' || x.device !== 'cpu')) {
      throw new DTypeError(`gradcheck: float inputs must be float64 on cpu for meaningful differences, got ${x.dtype} on ${x.device}`);
    }
  }
  const diffIdx = inputs.map((x, i) => (isFloat(x.dtype) ? i : -1)).filter((i) => i >= 0);
  const report: GradcheckReport = { ok: true, orders: [] };

  return tidy(() => {
    const base = inputs.map((x) => detach(x));
    // No noGrad here or below: fn may itself call grad() (a gradient penalty), which needs recording.
    const out0 = fn(...base);
    const u = out0.size === 1 ? null : randomLike(out0, 0, seed);
    const w: Tensor[][] = [];
    for (let k = 1; k < order; k++) w.push(diffIdx.map((i, j) => randomLike(inputs[i]!, 1 + k * 97 + j, seed)));

    /** F_k at xs; with leaves tracked, the result has a graph. */
    const F = (k: number, xs: Tensor[]): Tensor => {
      const y = fn(...xs);
      let s = u ? sum(mul(y, u)) : sum(y);
      for (let level = 1; level < k; level++) {
        // allowUnused: a gradient that does not depend on some input (fn linear in it) is exactly zero there.
        const gs = grad(s, diffIdx.map((i) => xs[i]!), { createGraph: true, allowUnused: true });
        let next: Tensor | null = null;
        gs.forEach((g, j) => {
          const term = sum(mul(g, w[level - 1]![j]!));
          next = next ? add(next, term) : term;
        });
        s = next!;
      }
      return s;
    };

    for (let k = 1; k <= order; k++) {
      const leaves = base.map((x, i) => {
        const l = detach(x);
        l.requiresGrad = diffIdx.includes(i);
        return l;
      });
      // allowUnused: an input fn ignores has the analytic gradient zero, which the differences then check.
      const analytic = tidy(() => grad(F(k, leaves), diffIdx.map((i) => leaves[i]!), { allowUnused: true }).map((g) => g.dataSync()));
      let maxAbs = 0;
      let worst = '';
      diffIdx.forEach((i, j) => {
        const x0 = base[i]!.dataSync();
        const an = analytic[j]!;
        if (an.length !== x0.length) throw new ShapeError(`gradcheck: gradient ${i} has ${an.length} entries for ${x0.length} inputs`);
        for (let e = 0; e < x0.length; e++) {
          const evalAt = (delta: number): number =>
            tidy(() => {
              const xp = Float64Array.from(x0);
              xp[e] = xp[e]! + delta;
              const xs = base.map((b, m) => {
                if (m !== i) {
                  const l = detach(b);
                  l.requiresGrad = k > 1 && diffIdx.includes(m);
                  return l;
                }
                return tensor(xp, b.shape, { dtype: 'float64', device: 'cpu', requiresGrad: k > 1 });
              });
              const v = F(k, xs);
              return v.dataSync()[0]!;
            });
          const num = (evalAt(eps) - evalAt(-eps)) / (2 * eps);
          const err = Math.abs(an[e]! - num);
          if (err > maxAbs) {
            maxAbs = err;
            worst = `input ${i} element ${e}: analytic ${an[e]} vs numeric ${num}`;
          }
          if (err > atol + rtol * Math.abs(num)) {
            report.ok = false;
            if (o.raise ?? true) {
              throw new GradcheckError(`gradcheck: order ${k} mismatch at input ${i} element ${e}: analytic ${an[e]} vs numeric ${num} (|diff| ${err})`);
            }
          }
        }
      });
      report.orders.push({ order: k, maxAbsError: maxAbs, worst });
    }
    return report;
  });
}
