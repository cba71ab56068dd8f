/**
 * Every sample of the op table passes gradcheck at orders 1 and 2 in float64 on the cpu reference,
 * both as is and squared (so that linear ops, whose own second derivative is zero, still have the
 * backward of their backward checked). A chain of smooth ops passes at order 3.
 */
import { describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { record } from '../../src/ops/core.js';
import { DIFFERENTIABLE_OPS } from '../../src/ops/names.js';
import { OP_SAMPLES, OP_SAMPLE_TABLE, makeInputs, type OpSample, type SampleEntry } from '../helpers/opinfo.js';

/** The sample as a function of its differentiable inputs only; labels and constants are bound. */
function bind(sample: OpSample, xs: Tensor[]): { f: (...d: Tensor[]) => Tensor; inputs: Tensor[] } {
  const diff = sample.inputs.map((s, i) => (s.kind === 'labels' || s.constant ? -1 : i)).filter((i) => i >= 0);
  const f = (...d: Tensor[]): Tensor => sample.fn(...xs.map((x, i) => (diff.includes(i) ? d[diff.indexOf(i)]! : x)));
  return { f, inputs: diff.map((i) => xs[i]!) };
}

describe('gradcheck: every op sample, orders 1 and 2, float64', () => {
  const samples = OP_SAMPLES.filter((s) => (s.order ?? 2) >= 1);
  it('covers the op table', () => {
    expect(samples.length).toBeGreaterThan(100);
  });
  it('every differentiable op has gradchecked samples, or is reached at order 2 by an op that has', () => {
    const table: Record<string, SampleEntry> = OP_SAMPLE_TABLE;
    const checked = (op: string, order: number): boolean => {
      const e = table[op];
      return e !== undefined && !('reachedBy' in e) && e.some((s) => (s.order ?? 2) >= order);
    };
    for (const op of DIFFERENTIABLE_OPS) {
      const e = table[op]!;
      if ('reachedBy' in e) expect(checked(e.reachedBy, 2), `${op} via ${e.reachedBy}`).toBe(true);
      else expect(checked(op, 1), op).toBe(true);
    }
  });
  for (const sample of samples) {
    it(sample.name, () => {
      g.tidy(() => {
        const xs = makeInputs(sample, 'float64', 'cpu');
        const { f, inputs } = bind(sample, xs);
        const order = Math.min(2, sample.order ?? 2);
        const r = g.gradcheck(f, inputs, { order, ...sample.gradcheck });
        expect(r.ok).toBe(true);
        expect(r.orders.map((o) => o.order)).toEqual(order === 2 ? [1, 2] : [1]);
        // Squared: the second-order check then runs through the backward of the op's backward.
        const sq = (...d: Tensor[]): Tensor => {
          const y = f(...d);
          return g.mul(y, y);
        };
        const r2 = g.gradcheck(sq, inputs, { order, seed: 99, ...sample.gradcheck });
        expect(r2.ok).toBe(true);
      });
    });
  }
});

describe('gradcheck: third order', () => {
  it('a chain of smooth ops (conv, sigmoid, avgPool2d, matmul, tanh, logSoftmax) passes at order 3', () => {
    g.tidy(() => {
      const x = g.tensor(Array.from({ length: 2 * 1 * 4 * 4 }, (_, i) => Math.sin(i + 1)), [2, 1, 4, 4], { dtype: 'float64' });
      const w = g.tensor(Array.from({ length: 2 * 1 * 2 * 2 }, (_, i) => Math.cos(2 * i + 1) * 0.7), [2, 1, 2, 2], { dtype: 'float64' });
      const d = g.tensor(Array.from({ length: 8 * 3 }, (_, i) => Math.sin(3 * i + 2) * 0.5), [8, 3], { dtype: 'float64' });
      const f = (x: Tensor, w: Tensor, d: Tensor): Tensor => {
        const h = g.avgPool2d(g.sigmoid(g.conv2d(x, w, null, { padding: 1 })), { kernel: 2, stride: 2 });
        return g.logSoftmax(g.tanh(g.matmul(g.reshape(h, [2, 8]), d)));
      };
      const r = g.gradcheck(f, [x, w, d], { order: 3 });
      expect(r.orders.map((o) => o.order)).toEqual([1, 2, 3]);
      expect(r.ok).toBe(true);
    });
  });

  it('exp, softmax, batchNorm, pow and division pass at order 3', () => {
    g.tidy(() => {
      const x = g.tensor([0.3, -0.4, 0.8, 0.1, -0.9, 0.5, 0.2, -0.1, 0.6, -0.7, 0.4, 0.05], [4, 3], { dtype: 'float64' });
      const gamma = g.tensor([1.2, 0.7, -0.5], [3], { dtype: 'float64' });
      const f = (x: Tensor, gamma: Tensor): Tensor => {
        const b = g.batchNorm(x, gamma, g.zeros([3], { dtype: 'float64' }), null, null, { training: true });
        const p = g.softmax(g.exp(g.mul(b, 0.5)), 1);
        return g.div(g.pow(g.add(p, 1), 1.5), g.add(g.square(x), 1));
      };
      const r = g.gradcheck(f, [x, gamma], { order: 3 });
      expect(r.ok).toBe(true);
    });
  });
});

describe('gradcheck catches wrong derivatives', () => {
  // Ops with deliberately wrong backward rules, built with the same plumbing as the real ones.
  const x0 = (): Tensor => g.tensor([0.3, -0.7, 1.1], [3], { dtype: 'float64' });

  it('a wrong first derivative fails at order 1', () => {
    // y = x^3 with the backward of x^2
    const cubeWrong = (x: Tensor): Tensor => record(g.noGrad(() => g.pow(x, 3)), 'pow', [x], (gy) => [g.mul(gy, g.mul(x, 2))]);
    expect(() => g.gradcheck(cubeWrong, [x0()])).toThrow(g.GradcheckError);
    expect(() => g.gradcheck(cubeWrong, [x0()])).toThrow(/order 1 mismatch at input 0/);
    const report = g.gradcheck(cubeWrong, [x0()], { raise: false });
    expect(report.ok).toBe(false);
    expect(report.orders[0]!.maxAbsError).toBeGreaterThan(0.1);
  });

  it('a right first derivative that is not differentiable again fails at order 2 only', () => {
    // y = exp(x) with a backward g * exp(x) computed outside the graph (the micrograd mistake)
    const expFrozen = (x: Tensor): Tensor => {
      const y = g.noGrad(() => g.exp(x));
      return record(y, 'exp', [x], (gy) => [g.mul(gy, g.detach(y))]);
    };
    expect(g.gradcheck(expFrozen, [x0()], { order: 1 }).ok).toBe(true);
    expect(() => g.gradcheck(expFrozen, [x0()], { order: 2 })).toThrow(/order 2 mismatch/);
  });
});
