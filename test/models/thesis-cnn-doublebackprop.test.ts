/**
 * Double backpropagation of the thesis penalty J = L + lambda ||dL/dx||^2 (eq. 49) through the
 * thesis small CNN, in float64, against central finite differences of J.
 */
import { describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { THESIS_SMALL_CNN, doubleBackpropObjective, initCnn, makeBatch, paramShapes, type CnnSpec } from '../helpers/thesis-cnn.js';

const LAMBDA = 0.7;

/** J at parameters `p`, as a number (the inner gradient needs recording, so no noGrad). */
function objectiveAt(x: Tensor, y: Tensor, p: readonly Tensor[]): number {
  return g.tidy(() => doubleBackpropObjective(x, y, p, LAMBDA).total.dataSync()[0]!);
}

/** Central difference of J along coordinate `e` of parameter tensor `i`. */
function centralDiff(x: Tensor, y: Tensor, params: readonly Tensor[], i: number, e: number, h: number): number {
  const base = params[i]!.dataSync();
  const at = (delta: number): number =>
    g.tidy(() => {
      const v = Float64Array.from(base);
      v[e] = v[e]! + delta;
      const p = params.map((t, k) => (k === i ? g.tensor(v, t.shape, { dtype: 'float64' }) : t));
      return objectiveAt(x, y, p);
    });
  return (at(h) - at(-h)) / (2 * h);
}

describe('thesis small CNN: double backprop of L + lambda ||dL/dx||^2', () => {
  it('narrow channels (2/3/3, hidden 5) on 28x28 input: every parameter passes gradcheck', () => {
    const spec: CnnSpec = { inC: 1, size: 28, c1: 2, c2: 3, c3: 3, hidden: 5, classes: 10 };
    g.tidy(() => {
      const params = initCnn(spec, 'float64', 3);
      const { x, y } = makeBatch(spec, 2, 'float64', 5);
      const J = (...p: Tensor[]): Tensor => doubleBackpropObjective(x, y, p, LAMBDA).total;
      // The penalty is a real part of the objective, not a vanishing term.
      const { loss, penalty } = doubleBackpropObjective(x, y, params, LAMBDA);
      expect(penalty.dataSync()[0]!).toBeGreaterThan(1e-4 * loss.dataSync()[0]!);
      // ... and it changes the parameter gradient.
      const gJ = g.grad(doubleBackpropObjective(x, y, params, LAMBDA).total, params);
      const gL = g.grad(doubleBackpropObjective(x, y, params, LAMBDA).loss, params);
      const rel = gJ.map((t, i) => {
        const a = t.dataSync();
        const b = gL[i]!.dataSync();
        let num = 0;
        let den = 0;
        for (let k = 0; k < a.length; k++) {
          num += (a[k]! - b[k]!) ** 2;
          den += b[k]! ** 2;
        }
        return Math.sqrt(num / Math.max(den, 1e-30));
      });
      expect(Math.max(...rel)).toBeGreaterThan(0.01);
      const r = g.gradcheck(J, params, { order: 1, eps: 1e-6, atol: 1e-6, rtol: 1e-4 });
      expect(r.ok).toBe(true);
      expect(r.orders[0]!.maxAbsError).toBeLessThan(1e-6);
    });
  });

  it('narrow channels, batch 1: the gradient of J with respect to the input matches differences', () => {
    const spec: CnnSpec = { inC: 1, size: 28, c1: 3, c2: 4, c3: 4, hidden: 8, classes: 10 };
    g.tidy(() => {
      const params = initCnn(spec, 'float64', 11);
      const { x, y } = makeBatch(spec, 1, 'float64', 2);
      const xs = x.dataSync();
      const xl = g.detach(x);
      xl.requiresGrad = true;
      const { loss, total } = doubleBackpropObjective(xl, y, params, LAMBDA);
      const [gJ] = g.grad(total, [xl], { retainGraph: true });
      const [gL] = g.grad(loss, [xl]);
      const an = gJ!.dataSync();
      const first = gL!.dataSync();
      // dJ/dx = dL/dx + 2 lambda H_x dL/dx: the Hessian term must show.
      let diff = 0;
      for (let i = 0; i < an.length; i++) diff = Math.max(diff, Math.abs(an[i]! - first[i]!));
      expect(diff).toBeGreaterThan(0.05);
      const h = 1e-6;
      let significant = 0;
      for (const e of [30, 57, 200, 300, 405, 406, 500, 611, 700, 750]) {
        const at = (d: number): number => g.tidy(() => {
          const v = Float64Array.from(xs);
          v[e] = v[e]! + d;
          return objectiveAt(g.tensor(v, x.shape, { dtype: 'float64' }), y, params);
        });
        const num = (at(h) - at(-h)) / (2 * h);
        if (Math.abs(num) > 1e-3) significant++;
        if (!(Math.abs(an[e]! - num) <= 1e-6 + 1e-4 * Math.abs(num))) throw new Error(`input element ${e}: analytic ${an[e]} vs numeric ${num}`);
      }
      expect(significant).toBeGreaterThanOrEqual(6);
    });
  });

  it('the real architecture (32/64/64, dense 64, 10) at batch 2: a random subset of parameter coordinates', () => {
    const spec = THESIS_SMALL_CNN;
    expect(paramShapes(spec).map((s) => s.reduce((a, b) => a * b, 1)).reduce((a, b) => a + b, 0)).toBe(93322);
    g.tidy(() => {
      const params = initCnn(spec, 'float64', 1);
      const { x, y } = makeBatch(spec, 2, 'float64', 1);
      const { total } = doubleBackpropObjective(x, y, params, LAMBDA);
      const analytic = g.grad(total, params).map((t) => t.dataSync());
      // Three coordinates per parameter tensor, drawn from a fixed-seed Philox stream.
      const picks = g.rand([params.length * 3], { seed: 77, dtype: 'float64' }).dataSync();
      let checked = 0;
      let significant = 0;
      params.forEach((p, i) => {
        for (let r = 0; r < 3; r++) {
          const e = Math.floor(picks[i * 3 + r]! * p.size);
          const num = centralDiff(x, y, params, i, e, 1e-6);
          const an = analytic[i]![e]!;
          if (!(Math.abs(an - num) <= 1e-6 + 1e-4 * Math.abs(num))) {
            throw new Error(`parameter ${i} ${JSON.stringify(p.shape)} element ${e}: analytic ${an} vs numeric ${num}`);
          }
          checked++;
          if (Math.abs(num) > 1e-4) significant++;
        }
      });
      expect(checked).toBe(30);
      expect(significant).toBeGreaterThanOrEqual(20);
    });
  });
});
