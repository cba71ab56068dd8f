/** grad(): accumulation, unused inputs, seeds, multiple outputs, graph retention, grad mode. */
import { describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import type { Tensor } from '../../src/index.js';

const f64 = { dtype: 'float64' as const };
const leaf = (data: number[], shape: number[]): Tensor => g.tensor(data, shape, { ...f64, requiresGrad: true });
const vals = (t: Tensor | null | undefined): number[] => Array.from(t!.dataSync());

function expectClose(got: number[], want: number[], tol = 1e-12): void {
  expect(got.length).toBe(want.length);
  got.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(want[i]!))));
}

describe('gradient accumulation', () => {
  it('sums the contributions of a tensor used several times', () => {
    const xs = [0.3, -1.2, 2];
    const x = leaf(xs, [3]);
    // f = sum(x*x + 3x + sin(x) x)
    const f = g.sum(g.add(g.add(g.mul(x, x), g.mul(x, 3)), g.mul(g.sin(x), x)));
    const [gx] = g.grad(f, [x]);
    expectClose(vals(gx), xs.map((v) => 2 * v + 3 + Math.cos(v) * v + Math.sin(v)));
  });

  it('accumulates through broadcasting into a reused operand', () => {
    const x = leaf([1, 2, 3], [3]);
    const a = g.tensor([1, 2, 3, 4, 5, 6], [2, 3], f64);
    // f = sum(x + a * x) over [2,3]: df/dx_j = 2 + sum_i a_ij
    const [gx] = g.grad(g.sum(g.add(x, g.mul(a, x))), [x]);
    expect(vals(gx)).toEqual([2 + 5, 2 + 7, 2 + 9]);
  });

  it('a diamond graph: y = exp(x); f = y*y + y', () => {
    const x = leaf([0.5, -0.25], [2]);
    const y = g.exp(x);
    const [gx] = g.grad(g.sum(g.add(g.mul(y, y), y)), [x]);
    expectClose(vals(gx), [0.5, -0.25].map((v) => 2 * Math.exp(2 * v) + Math.exp(v)));
  });

  it('one op consuming the same tensor twice: concat([x, x]) and x + x', () => {
    const x = leaf([1, 2], [2]);
    const w = g.tensor([1, 2, 3, 4], [4], f64);
    const [g1] = g.grad(g.sum(g.mul(g.concat([x, x]), w)), [x]);
    expect(vals(g1)).toEqual([4, 6]);
    const [g2] = g.grad(g.sum(g.add(x, x)), [x]);
    expect(vals(g2)).toEqual([2, 2]);
  });

  it('gradients with respect to an intermediate tensor and to the output itself', () => {
    const x = leaf([1, 2], [2]);
    const h = g.mul(x, 3);
    const y = g.sum(g.square(h));
    const [gh, gx, gy] = g.grad(y, [h, x, y], { retainGraph: true });
    expect(vals(gh)).toEqual([6, 12]);
    expect(vals(gx)).toEqual([18, 36]);
    expect(vals(gy)).toEqual([1]);
  });
});

describe('unused inputs and cut paths', () => {
  it('an input the outputs do not depend on is an ArgumentError naming it (index, dtype, shape, why)', () => {
    const x = leaf([1, 2], [2]);
    const z = leaf([5, 6, 7], [3]);
    const y = g.sum(g.square(x));
    expect(() => g.grad(y, [x, z], { retainGraph: true })).toThrow(g.ArgumentError);
    try {
      g.grad(y, [x, z], { retainGraph: true });
    } catch (e) {
      expect(e).toBeInstanceOf(g.UnusedInputError);
      expect((e as g.UnusedInputError).index).toBe(1);
    }
    expect(() => g.grad(y, [x, z], { retainGraph: true })).toThrow(
      /^grad: input 1 \(float64 \[3\]\) is not reachable from the outputs .*; pass allowUnused: true/,
    );
  });

  it('an input without requiresGrad (a forgotten flag) is an error that says so, not zeros', () => {
    const w = g.tensor([1, 2], [2], f64);
    const x = leaf([3, 4], [2]);
    const penalty = g.sum(g.mul(g.square(w), x));
    expect(() => g.grad(penalty, [x, w], { retainGraph: true })).toThrow(
      /^grad: input 1 \(float64 \[2\]\) does not require gradients \(requiresGrad is false\); set requiresGrad = true/,
    );
    // One input: it is called 'the input'.
    expect(() => g.grad(penalty, w)).toThrow(/^grad: the input \(float64 \[2\]\) does not require gradients/);
  });

  it('allowUnused gives zeros of the input\'s shape and dtype; unusedAsNull gives null', () => {
    const x = leaf([1, 2], [2]);
    const z = leaf([5, 6, 7], [3]);
    const y = g.sum(g.square(x));
    const [gx, gz] = g.grad(y, [x, z], { retainGraph: true, allowUnused: true });
    expect(vals(gx)).toEqual([2, 4]);
    expect(gz!.shape).toEqual([3]);
    expect(gz!.dtype).toBe('float64');
    expect(vals(gz)).toEqual([0, 0, 0]);
    const r = g.grad(y, [x, z], { unusedAsNull: true });
    expect(vals(r[0])).toEqual([2, 4]);
    expect(r[1]).toBeNull();
  });

  it('comparisons, argmax, sign and detach carry no gradient: the input is unused', () => {
    const x = leaf([0.5, -1, 2], [3]);
    const y = g.sum(g.add(g.add(g.gt(x, 0), g.sign(x)), g.mul(g.detach(x), 2)));
    expect(() => g.grad(y, [x], { retainGraph: true })).toThrow(/input \(float64 \[3\]\) is not reachable/);
    const [gx] = g.grad(y, [x], { unusedAsNull: true });
    expect(gx).toBeNull();
    const [gz] = g.grad(g.sum(g.cast(g.argmax(x, 0), 'float64')), [x], { allowUnused: true });
    expect(vals(gz)).toEqual([0, 0, 0]);
  });

  it('an output that does not require grad: error by default, zeros with allowUnused', () => {
    const x = leaf([1], [1]);
    const c = g.tensor([3], [1], f64);
    expect(() => g.grad(g.mul(c, 2), [x])).toThrow(/the input \(float64 \[1\]\) is not reachable/);
    expect(vals(g.grad(g.mul(c, 2), [x], { allowUnused: true })[0])).toEqual([0]);
  });

  it('noGrad records nothing: differentiating its result is an error, not zeros', () => {
    const x = leaf([1, 2], [2]);
    const y = g.noGrad(() => g.mul(x, x));
    expect(y.requiresGrad).toBe(false);
    expect(() => g.grad(g.sum(y), [x])).toThrow(g.ArgumentError);
    expect(vals(g.grad(g.sum(y), [x], { allowUnused: true })[0])).toEqual([0, 0]);
  });

  it('an input that is itself the output is used (its gradient is the seed)', () => {
    const x = leaf([7], []);
    expect(vals(g.grad(x, [x])[0])).toEqual([1]);
    const c = g.tensor([7], [], f64);
    expect(() => g.grad(c, [c])).toThrow(/does not require gradients/);
  });
});

describe('implicit ones only for a single-element output', () => {
  it('a non-scalar output without gradOutputs is a ShapeError naming it, as in PyTorch', () => {
    const x = leaf([1, 2], [2]);
    expect(() => g.grad(g.mul(x, x), [x])).toThrow(g.ShapeError);
    expect(() => g.grad(g.mul(x, x), [x])).toThrow(/^grad: the output has shape \[2\] \(2 elements\); .*pass gradOutputs/);
    expect(() => g.grad([g.sum(x), g.mul(x, 2)], [x], { gradOutputs: [null, null] })).toThrow(/^grad: output 1 has shape \[2\]/);
  });

  it('a single-element output of any rank takes ones', () => {
    const x = leaf([3], [1, 1]);
    expect(vals(g.grad(g.mul(x, x), [x])[0])).toEqual([6]);
  });
});

describe('gradOutputs and multiple outputs', () => {
  it('a cotangent gives the vector-Jacobian product J^T v', () => {
    const a = g.tensor([1, 2, 3, 4, 5, 6], [2, 3], f64);
    const x = leaf([1, -1, 2], [3, 1]);
    const y = g.matmul(a, x);
    const v = g.tensor([10, 100], [2, 1], f64);
    const [gx] = g.grad(y, [x], { gradOutputs: [v] });
    expect(vals(gx)).toEqual([410, 520, 630]);
    // A single tensor is accepted as well.
    const [gx2] = g.grad(g.matmul(a, x), x, { gradOutputs: v });
    expect(vals(gx2)).toEqual([410, 520, 630]);
  });

  it('several outputs: gradients add; a null seed means ones', () => {
    const x = leaf([1, 2], [2]);
    const y1 = g.mul(x, x);
    const y2 = g.sum(g.mul(x, 3));
    const [gx] = g.grad([y1, y2], [x], { gradOutputs: [g.tensor([1, 10], [2], f64), null] });
    expect(vals(gx)).toEqual([2 * 1 * 1 + 3, 2 * 2 * 10 + 3]);
    const [gd] = g.grad([g.sum(g.exp(x)), g.sum(g.mul(x, x))], [x]);
    expectClose(vals(gd), [Math.exp(1) + 2, Math.exp(2) + 4]);
  });

  it('an output that is an ancestor of another output gets its seed plus what flows back into it', () => {
    const x = leaf([1, -2], [2]);
    const h = g.mul(x, 2);
    const y = g.sum(g.square(h));
    // d/dx [sum(h) + sum(h^2)] = 2 + 2 h * 2
    const [gx] = g.grad([h, y], [x], { gradOutputs: [g.onesLike(h), null] });
    expect(vals(gx)).toEqual([2 + 8 * 1, 2 + 8 * -2]);
  });

  it('the seed tensor is not disposed or returned as is', () => {
    const x = leaf([1, 2], [2]);
    const v = g.tensor([3, 4], [2], f64);
    const [gx] = g.grad(g.mul(x, 1), [x], { gradOutputs: [v] });
    expect(vals(gx)).toEqual([3, 4]);
    expect(v.isDisposed).toBe(false);
    gx!.dispose();
    expect(vals(v)).toEqual([3, 4]);
  });
});

describe('graph retention', () => {
  it('retainGraph allows a second backward pass with the same result', () => {
    const x = leaf([0.5, 1.5], [2]);
    const y = g.sum(g.mul(g.exp(x), x));
    const a = vals(g.grad(y, [x], { retainGraph: true })[0]);
    const b = vals(g.grad(y, [x])[0]);
    expect(b).toEqual(a);
  });

  it('a second grad through a released graph throws a clear error', () => {
    const x = leaf([0.5, 1.5], [2]);
    const y = g.sum(g.tanh(g.mul(x, 2)));
    g.grad(y, [x]);
    expect(() => g.grad(y, [x])).toThrow(g.ArgumentError);
    expect(() => g.grad(y, [x])).toThrow(/freed by an earlier grad\(\) call.*retainGraph/);
  });

  it('createGraph retains by default, and the gradient has its own graph', () => {
    const x = leaf([0.5, 1.5], [2]);
    const y = g.sum(g.mul(g.square(x), x));
    const [gx] = g.grad(y, [x], { createGraph: true });
    expect(gx!.requiresGrad).toBe(true);
    expectClose(vals(g.grad(y, [x], { retainGraph: true })[0]), [0.75, 6.75]);
    expectClose(vals(g.grad(g.sum(gx!), [x])[0]), [3, 9]);
  });

  it('without createGraph the gradients are constants and every temporary is freed', () => {
    const x = leaf([0.5, 1.5, 2], [3]);
    const y = g.sum(g.sigmoid(g.mul(g.exp(x), x)));
    const before = g.memory().numTensors;
    const [gx] = g.grad(y, [x]);
    expect(gx!.requiresGrad).toBe(false);
    expect(g.memory().numTensors).toBe(before + 1);
  });

  it('backward through a tensor disposed by tidy fails loudly (never silent zeros)', () => {
    const x = leaf([1, 5, 3, 2], [1, 1, 2, 2]);
    const p = g.tidy(() => g.sum(g.maxPool2d(x, { kernel: 2 })));
    expect(() => g.grad(p, [x])).toThrow(g.DisposedError);
    expect(() => g.grad(p, [x])).toThrow(/grad: tensor #\d+ \[1,1,1,1\] \(the output of 'maxPool2d'\) was disposed before the backward pass reached it/);
    const q = g.tidy(() => g.sum(g.mul(g.reshape(x, [4]), 2)));
    expect(() => g.grad(q, [x])).toThrow(/the output of 'mul'/);
    // A disposed tensor off the path to the inputs does not matter.
    const z = leaf([2], [1]);
    const r = g.add(g.sum(z), g.tidy(() => g.sum(g.exp(x))));
    expect(vals(g.grad(r, [z])[0])).toEqual([1]);
    // Computed inside the tidy, the same gradient works.
    const gx = g.tidy(() => g.grad(g.sum(g.maxPool2d(x, { kernel: 2 })), [x])[0]!);
    expect(vals(gx)).toEqual([0, 1, 0, 0]);
  });
});

describe('grad argument checks', () => {
  it('rejects int inputs, wrong seed shapes and seed counts', () => {
    const x = leaf([1, 2], [2]);
    const y = g.mul(x, x);
    expect(() => g.grad(y, [g.tensor([1], [1], { dtype: 'int32' })])).toThrow(g.DTypeError);
    expect(() => g.grad(y, [x], { gradOutputs: [g.ones([3], f64)], retainGraph: true })).toThrow(/gradOutputs\[0\] has shape \[3\] but output 0 has shape \[2\]/);
    expect(() => g.grad(y, [x], { gradOutputs: [g.ones([2], f64), g.ones([2], f64)] })).toThrow(/2 gradOutputs for 1 outputs/);
    expect(() => g.grad([], [x])).toThrow(g.ArgumentError);
  });
});
