/**
 * Higher derivatives against closed forms. The ops whose backward reuses their own output (exp,
 * sigmoid, tanh, softmax, logSoftmax, max-pool) are where engines that close over raw values
 * return wrong second derivatives; here each is differentiated repeatedly through the public API.
 */
import { describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import type { Tensor } from '../../src/index.js';

const xs = [-1.3, -0.4, 0.2, 0.9, 1.7];
const leaf = (data: number[]): Tensor => g.tensor(data, [data.length], { dtype: 'float64', requiresGrad: true });
const vals = (t: Tensor): number[] => Array.from(t.dataSync());

/** The k-th elementwise derivative of f by repeated grad(sum(.)): exact for elementwise f. */
function nthDerivative(f: (x: Tensor) => Tensor, x: Tensor, k: number): Tensor {
  let y = f(x);
  for (let i = 0; i < k; i++) [y] = g.grad(g.sum(y), [x], { createGraph: i < k - 1 }) as [Tensor];
  return y;
}

function expectClose(got: number[], want: number[], tol = 1e-12): void {
  expect(got).toHaveLength(want.length);
  got.forEach((v, i) => {
    expect(Math.abs(v - want[i]!), `element ${i}: got ${v}, want ${want[i]}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(want[i]!)));
  });
}

const sig = (v: number): number => 1 / (1 + Math.exp(-v));

describe('third derivatives of scalar functions', () => {
  const cases: [string, (x: Tensor) => Tensor, (v: number) => number][] = [
    // (e^x sin x)''' = 2 e^x (cos x - sin x)
    ['exp(x) sin(x)', (x) => g.mul(g.exp(x), g.sin(x)), (v) => 2 * Math.exp(v) * (Math.cos(v) - Math.sin(v))],
    // sigmoid''' = s(1-s)(1 - 6s + 6s^2)
    ['sigmoid', g.sigmoid, (v) => sig(v) * (1 - sig(v)) * (1 - 6 * sig(v) + 6 * sig(v) ** 2)],
    // tanh''' = -2 (1 - t^2)(1 - 3 t^2)
    ['tanh', g.tanh, (v) => -2 * (1 - Math.tanh(v) ** 2) * (1 - 3 * Math.tanh(v) ** 2)],
    // (x^3 / 6)''' = 1
    ['x^3 / 6 via pow', (x) => g.div(g.pow(x, 3), 6), () => 1],
    // softplus''' = s(1-s)(1-2s)
    ['softplus', g.softplus, (v) => sig(v) * (1 - sig(v)) * (1 - 2 * sig(v))],
    // (1/x)''' = -6 / x^4
    ['reciprocal', g.reciprocal, (v) => -6 / v ** 4],
  ];
  for (const [name, f, d3] of cases) {
    it(`${name}`, () => {
      expectClose(vals(nthDerivative(f, leaf(xs), 3)), xs.map(d3));
    });
  }

  it('log, sqrt and rsqrt on positive inputs', () => {
    const ps = [0.3, 1, 2.5];
    // log''' = 2/x^3, sqrt''' = 3/8 x^{-5/2}, rsqrt''' = -15/8 x^{-7/2}
    expectClose(vals(nthDerivative(g.log, leaf(ps), 3)), ps.map((v) => 2 / v ** 3));
    expectClose(vals(nthDerivative(g.sqrt, leaf(ps), 3)), ps.map((v) => (3 / 8) * v ** -2.5));
    expectClose(vals(nthDerivative(g.rsqrt, leaf(ps), 3)), ps.map((v) => (-15 / 8) * v ** -3.5));
  });

  it('the fourth derivative of exp is exp', () => {
    expectClose(vals(nthDerivative(g.exp, leaf(xs), 4)), xs.map(Math.exp));
  });
});

describe('second derivatives of ops that reuse their own output', () => {
  it('exp, sigmoid and tanh', () => {
    expectClose(vals(nthDerivative(g.exp, leaf(xs), 2)), xs.map(Math.exp));
    expectClose(vals(nthDerivative(g.sigmoid, leaf(xs), 2)), xs.map((v) => sig(v) * (1 - sig(v)) * (1 - 2 * sig(v))));
    expectClose(vals(nthDerivative(g.tanh, leaf(xs), 2)), xs.map((v) => -2 * Math.tanh(v) * (1 - Math.tanh(v) ** 2)));
  });

  it('softmax: the Hessian of p_k is p_k((d_ik - p_i)(d_jk - p_j) - p_j(d_ij - p_i))', () => {
    const z0 = [0.4, -0.3, 1.2, 0.1];
    const e = z0.map(Math.exp);
    const s = e.reduce((a, b) => a + b, 0);
    const p = e.map((v) => v / s);
    const n = z0.length;
    for (const k of [0, 2]) {
      const z = leaf(z0);
      const pk = g.slice(g.softmax(z), [k], [1]);
      const [gz] = g.grad(g.sum(pk), [z], { createGraph: true });
      for (let i = 0; i < n; i++) {
        const [row] = g.grad(g.slice(gz!, [i], [1]), [z], { retainGraph: true });
        const want = Array.from({ length: n }, (_, j) => {
          const dik = i === k ? 1 : 0;
          const djk = j === k ? 1 : 0;
          const dij = i === j ? 1 : 0;
          return p[k]! * ((dik - p[i]!) * (djk - p[j]!) - p[j]! * (dij - p[i]!));
        });
        expectClose(vals(row!), want, 1e-14);
      }
    }
  });

  it('logSoftmax and cross-entropy: the logit Hessian is diag(p) - p p^T (thesis, section 6.1)', () => {
    const z0 = [0.4, -0.3, 1.2];
    const e = z0.map(Math.exp);
    const s = e.reduce((a, b) => a + b, 0);
    const p = e.map((v) => v / s);
    const H = (i: number, j: number): number => (i === j ? p[i]! : 0) - p[i]! * p[j]!;
    for (const loss of [
      (z: Tensor) => g.neg(g.sum(g.slice(g.logSoftmax(z), [1], [1]))),
      (z: Tensor) => g.crossEntropy(g.reshape(z, [1, 3]), g.tensor([1], [1], { dtype: 'int32' })),
    ]) {
      const z = leaf(z0);
      const [gz] = g.grad(loss(z), [z], { createGraph: true });
      expectClose(vals(gz!), p.map((pi, i) => pi - (i === 1 ? 1 : 0)), 1e-14);
      for (let i = 0; i < 3; i++) {
        const [row] = g.grad(g.slice(gz!, [i], [1]), [z], { retainGraph: true });
        expectClose(vals(row!), [0, 1, 2].map((j) => H(i, j)), 1e-14);
      }
    }
  });

  it('max-pool of a square: second derivative 2 at each window max, 0 elsewhere', () => {
    const x0 = [0.1, 0.9, -0.3, 0.4, 0.2, -0.8, 0.7, 0.5, 0.3];
    const x = g.tensor(x0, [1, 1, 3, 3], { dtype: 'float64', requiresGrad: true });
    // windows 2x2 stride 1: maxima at 0.9 (idx 1), 0.9 (1), 0.7 (6), 0.7? -> [0.1,0.9,0.4,0.2]=0.9, [0.9,-0.3,0.2,-0.8]=0.9, [0.4,0.2,0.7,0.5]=0.7, [0.2,-0.8,0.5,0.3]=0.5
    const y = g.sum(g.square(g.maxPool2d(x, { kernel: 2, stride: 1 })));
    const [gx] = g.grad(y, [x], { createGraph: true });
    expectClose(vals(gx!), [0, 4 * 0.9, 0, 0, 0, 0, 2 * 0.7, 2 * 0.5, 0], 1e-15);
    const [hx] = g.grad(g.sum(gx!), [x]);
    expectClose(vals(hx!), [0, 4, 0, 0, 0, 0, 2, 2, 0], 1e-15);
  });
});
