/** vjp / jvp / hvp / valueAndGrad against finite differences and explicit Jacobians and Hessians. */
import { describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import type { Tensor } from '../../src/index.js';

const f64 = { dtype: 'float64' as const };
const t64 = (data: number[], shape: number[]): Tensor => g.tensor(data, shape, f64);
const vals = (t: Tensor): number[] => Array.from(t.dataSync());

function expectClose(got: number[], want: number[], tol: number): void {
  expect(got.length).toBe(want.length);
  got.forEach((v, i) => {
    if (!(Math.abs(v - want[i]!) <= tol * Math.max(1, Math.abs(want[i]!)))) throw new Error(`element ${i}: got ${v}, want ${want[i]}`);
  });
}

/** Central differences of a vector function along direction v: (f(x + hv) - f(x - hv)) / 2h. */
function directional(f: (x: Tensor) => Tensor, x: number[], shape: number[], v: number[], h = 1e-6): number[] {
  const at = (s: number): number[] => g.tidy(() => vals(f(t64(x.map((xi, i) => xi + s * v[i]!), shape))));
  const p = at(h);
  const m = at(-h);
  return p.map((pi, i) => (pi - m[i]!) / (2 * h));
}

// f(x) = tanh(W x) * x[0..1] + softmax(x)[..2]: a non-linear map R^3 -> R^2
const W = [0.5, -1, 0.3, 1.2, 0.4, -0.7];
function fvec(x: Tensor): Tensor {
  const wx = g.matmul(t64(W, [2, 3]), g.reshape(x, [3, 1]));
  return g.add(g.mul(g.tanh(g.reshape(wx, [2])), g.slice(x, [0], [2])), g.slice(g.softmax(x), [0], [2]));
}

describe('vjp and jvp', () => {
  const x0 = [0.3, -0.8, 1.1];

  it('jvp equals central differences along the tangent', () => {
    for (const v of [[1, 0, 0], [0, 1, 0], [0.3, -0.5, 2]]) {
      const { value, tangent } = g.jvp(fvec, [t64(x0, [3])], [t64(v, [3])]);
      expectClose(vals(value), vals(fvec(t64(x0, [3]))), 1e-15);
      expectClose(vals(tangent), directional(fvec, x0, [3], v), 1e-8);
    }
  });

  it('vjp equals u^T J built column by column from jvp', () => {
    const u = [2, -3];
    const { value, grads } = g.vjp(fvec, [t64(x0, [3])], t64(u, [2]));
    expect(value.shape).toEqual([2]);
    const want = [0, 1, 2].map((j) => {
      const e = [0, 0, 0];
      e[j] = 1;
      const col = vals(g.jvp(fvec, [t64(x0, [3])], [t64(e, [3])]).tangent);
      return u[0]! * col[0]! + u[1]! * col[1]!;
    });
    expectClose(vals(grads[0]!), want, 1e-12);
  });

  it('jvp of a two-input function sums the partial tangents', () => {
    const f = (a: Tensor, b: Tensor): Tensor => g.mul(g.exp(a), g.sin(b));
    const a = [0.2, -0.4];
    const b = [1.0, 0.5];
    const va = [1, 2];
    const vb = [-1, 0.5];
    const { tangent } = g.jvp(f, [t64(a, [2]), t64(b, [2])], [t64(va, [2]), t64(vb, [2])]);
    const want = a.map((ai, i) => Math.exp(ai) * Math.sin(b[i]!) * va[i]! + Math.exp(ai) * Math.cos(b[i]!) * vb[i]!);
    expectClose(vals(tangent), want, 1e-13);
  });

  it('the caller tensors are not modified or made to require grad', () => {
    const x = t64(x0, [3]);
    g.vjp(fvec, [x], t64([1, 1], [2]));
    expect(x.requiresGrad).toBe(false);
    expect(x.node).toBeNull();
  });

  it('rejects mismatched tangents and cotangents', () => {
    expect(() => g.jvp(fvec, [t64(x0, [3])], [t64([1, 2], [2])])).toThrow(/tangent 0 has shape \[2\] but input 0 has shape \[3\]/);
    expect(() => g.vjp(fvec, [t64(x0, [3])], t64([1, 2, 3], [3]))).toThrow(/cotangent shape \[3\] differs from output shape \[2\]/);
  });
});

describe('hvp and valueAndGrad', () => {
  // f(x) = 1/2 x^T A x + sum(exp(x)) with symmetric A: H = A + diag(exp(x))
  const A = [2, 0.5, -1, 0.5, 3, 0.25, -1, 0.25, 1];
  const fq = (x: Tensor): Tensor => {
    const xc = g.reshape(x, [3, 1]);
    const quad = g.mul(g.matmulT(xc, g.matmul(t64(A, [3, 3]), xc), true, false), 0.5);
    return g.add(g.reshape(quad, []), g.sum(g.exp(x)));
  };
  const x0 = [0.1, -0.7, 0.4];

  it('hvp equals the explicit Hessian times v, and recovers the whole Hessian', () => {
    const H = A.map((a, k) => (Math.floor(k / 3) === k % 3 ? a + Math.exp(x0[k % 3]!) : a));
    const v = [1, -2, 0.5];
    const { value, grads, hvps } = g.hvp(fq, [t64(x0, [3])], [t64(v, [3])]);
    const Hv = [0, 1, 2].map((i) => H[i * 3]! * v[0]! + H[i * 3 + 1]! * v[1]! + H[i * 3 + 2]! * v[2]!);
    expectClose(vals(hvps[0]!), Hv, 1e-13);
    const Ax = [0, 1, 2].map((i) => A[i * 3]! * x0[0]! + A[i * 3 + 1]! * x0[1]! + A[i * 3 + 2]! * x0[2]!);
    expectClose(vals(grads[0]!), Ax.map((a, i) => a + Math.exp(x0[i]!)), 1e-13);
    expectClose(vals(value), [0.5 * Ax.reduce((s, a, i) => s + a * x0[i]!, 0) + x0.reduce((s, xi) => s + Math.exp(xi), 0)], 1e-13);
    const cols = [0, 1, 2].map((j) => {
      const e = [0, 0, 0];
      e[j] = 1;
      return vals(g.hvp(fq, [t64(x0, [3])], [t64(e, [3])]).hvps[0]!);
    });
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) expect(cols[j]![i]).toBeCloseTo(H[i * 3 + j]!, 13);
  });

  it('hvp of a two-input function has the cross terms: f = sum(x y^2)', () => {
    const x = [0.5, -1];
    const y = [2, 0.3];
    const vx = [1, 3];
    const vy = [-2, 0.5];
    const { hvps } = g.hvp((a, b) => g.sum(g.mul(a, g.square(b))), [t64(x, [2]), t64(y, [2])], [t64(vx, [2]), t64(vy, [2])]);
    // H_xx = 0, H_xy = diag(2y), H_yy = diag(2x)
    expectClose(vals(hvps[0]!), y.map((yi, i) => 2 * yi * vy[i]!), 1e-15);
    expectClose(vals(hvps[1]!), y.map((yi, i) => 2 * yi * vx[i]! + 2 * x[i]! * vy[i]!), 1e-15);
  });

  it('hvp matches finite differences of the gradient through conv, tanh and softmax', () => {
    const w = t64([0.3, -0.2, 0.5, 0.1, -0.4, 0.2, 0.6, -0.1], [2, 1, 2, 2]);
    const labels = g.tensor([1], [1], { dtype: 'int32' });
    const f = (x: Tensor): Tensor => g.crossEntropy(g.reshape(g.tanh(g.conv2d(x, w)), [1, 8]), labels);
    const x0 = Array.from({ length: 9 }, (_, i) => Math.sin(i + 0.5));
    const v = Array.from({ length: 9 }, (_, i) => Math.cos(2 * i));
    const { hvps } = g.hvp(f, [t64(x0, [1, 1, 3, 3])], [t64(v, [1, 1, 3, 3])]);
    const gradAt = (x: Tensor): Tensor => g.valueAndGrad(f)(x).grads[0]!;
    expectClose(vals(hvps[0]!), directional(gradAt, x0, [1, 1, 3, 3], v), 1e-7);
  });

  it('valueAndGrad returns the value and one gradient per argument', () => {
    const vg = g.valueAndGrad((a, b) => g.sum(g.mul(g.square(a), b)));
    const { value, grads } = vg(t64([1, 2], [2]), t64([3, 4], [2]));
    expect(vals(value)).toEqual([1 * 3 + 4 * 4]);
    expect(vals(grads[0]!)).toEqual([6, 16]);
    expect(vals(grads[1]!)).toEqual([1, 4]);
    expect(() => g.valueAndGrad((a) => g.mul(a, 2))(t64([1, 2], [2]))).toThrow(/f must return a scalar, got shape \[2\]/);
  });

  it('transforms nest with createGraph: the gradient of an hvp', () => {
    // f = sum(x^4)/12: H v = x^2 v; d/dx sum(H v) = 2 x v
    const x = g.tensor([0.5, -1.5], [2], { ...f64, requiresGrad: true });
    const v = t64([2, 3], [2]);
    const { hvps } = g.hvp((a) => g.div(g.sum(g.pow(a, 4)), 12), [x], [v], { createGraph: true });
    expectClose(vals(hvps[0]!), [0.25 * 2, 2.25 * 3], 1e-14);
    const [gx] = g.grad(g.sum(hvps[0]!), [x]);
    expectClose(vals(gx!), [2 * 0.5 * 2, 2 * -1.5 * 3], 1e-14);
  });
});

describe('unused inputs and non-scalar outputs in the transforms', () => {
  it('vjp without a cotangent needs a single-element output (as PyTorch)', () => {
    expect(() => g.vjp(fvec, [t64([0.3, -0.8, 1.1], [3])])).toThrow(g.ShapeError);
    expect(() => g.vjp(fvec, [t64([0.3, -0.8, 1.1], [3])])).toThrow(/^vjp: f returned shape \[2\]; pass a cotangent u/);
    expect(() => g.valueAndGrad(fvec)(t64([0.3, -0.8, 1.1], [3]))).toThrow(/^valueAndGrad: f must return a scalar, got shape \[2\]/);
  });

  it('an input f ignores is an error naming it, zeros with allowUnused', () => {
    const f = (x: Tensor, _y: Tensor): Tensor => g.sum(g.square(x));
    const xs = [t64([1, 2], [2]), t64([3, 4, 5], [3])];
    expect(() => g.vjp(f, xs)).toThrow(/^grad: input 1 \(float64 \[3\]\) is not reachable/);
    expect(() => g.hvp(f, xs, [t64([1, 1], [2]), t64([1, 1, 1], [3])])).toThrow(/input 1 \(float64 \[3\]\)/);
    const { grads } = g.vjp(f, xs, undefined, { allowUnused: true });
    expect(vals(grads[0]!)).toEqual([2, 4]);
    expect(vals(grads[1]!)).toEqual([0, 0, 0]);
    const { tangent } = g.jvp(f, xs, [t64([1, 0], [2]), t64([1, 1, 1], [3])], { allowUnused: true });
    expect(vals(tangent)).toEqual([2]);
  });

  it('jvp of a function constant in its input is zero (the double-vjp trick opts in to an unused cotangent)', () => {
    const f = (x: Tensor): Tensor => g.add(g.mul(g.sum(g.detach(x)), 0), t64([1, 2], [2]));
    const { tangent } = g.jvp(f, [t64([1, 2], [2])], [t64([1, 1], [2])], { allowUnused: true });
    expect(vals(tangent)).toEqual([0, 0]);
  });

  it('hvp where f is linear in an input: that part of H v is zero, not an error', () => {
    // f = sum(x^2) + sum(3 y): grad_y f = 3 does not depend on y or x, so (H v)_y = 0.
    const f = (x: Tensor, y: Tensor): Tensor => g.add(g.sum(g.square(x)), g.sum(g.mul(y, 3)));
    const { hvps } = g.hvp(f, [t64([1, 2], [2]), t64([5], [1])], [t64([1, -1], [2]), t64([2], [1])]);
    expect(vals(hvps[0]!)).toEqual([2, -2]);
    expect(vals(hvps[1]!)).toEqual([0]);
  });

  it('gradcheck checks a function that ignores one of its inputs (its gradient there is zero)', () => {
    const f = (x: Tensor, y: Tensor): Tensor => g.add(g.sum(g.mul(x, x)), g.mul(g.sum(y), 2));
    const r = g.gradcheck(f, [t64([0.5, -1], [2]), t64([1, 2], [2])], { order: 2 });
    expect(r.ok).toBe(true);
    expect(r.orders.map((o) => o.order)).toEqual([1, 2]);
  });
});
