import { describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import {
  AvgPool2d, BasicBlock, BatchNorm1d, BatchNorm2d, Conv2d, Dropout, Flatten, LeakyReLU, Linear, MaxPool2d, ReLU, Sequential,
  Sigmoid, Tanh, copyInto, functionalCall, type Module,
} from '../../src/nn/index.js';

const f64 = { dtype: 'float64' as const, device: 'cpu' as const };

function input(shape: number[], seed: number): g.Tensor {
  return g.randn(shape, { ...f64, seed });
}

/** gradcheck of `m`'s output w.r.t. its input and every parameter (float64, cpu). */
function checkModule(m: Module, x: g.Tensor, order = 1): void {
  const named = m.namedParameters();
  const params = named.map(([, p]) => g.detach(p));
  const fn = (xi: g.Tensor, ...ps: g.Tensor[]): g.Tensor =>
    functionalCall(m, Object.fromEntries(named.map(([n], i) => [n, ps[i]!])), () => m.forward(xi));
  const report = g.gradcheck(fn, [x, ...params], { order, atol: 1e-6, rtol: 1e-4 });
  expect(report.ok).toBe(true);
  expect(report.orders[0]!.maxAbsError).toBeLessThan(1e-6);
}

describe('layer gradients (gradcheck, float64)', () => {
  it('Linear', () => {
    checkModule(new Linear(4, 3, { ...f64, seed: 1, biasInit: 'glorotUniform' }), input([5, 4], 2));
  });

  it('Linear without bias', () => {
    const m = new Linear(3, 2, { ...f64, seed: 1, bias: false });
    expect(m.namedParameters().map(([n]) => n)).toEqual(['weight']);
    checkModule(m, input([2, 3], 3));
  });

  it('Conv2d, valid and strided with padding', () => {
    checkModule(new Conv2d(2, 3, 3, { ...f64, seed: 4, biasInit: 'heUniform' }), input([2, 2, 5, 5], 5));
    checkModule(new Conv2d(2, 2, [3, 2], { ...f64, seed: 6, stride: 2, padding: 1 }), input([1, 2, 5, 6], 7));
  });

  it('BatchNorm2d and BatchNorm1d in training mode', () => {
    const bn = new BatchNorm2d(3, f64);
    // gamma and beta away from their init (1, 0), so every term of their gradients is exercised
    copyInto(bn.weight, input([3], 30));
    copyInto(bn.bias, input([3], 31));
    checkModule(bn, input([4, 3, 2, 2], 8));
    checkModule(new BatchNorm1d(4, f64), input([6, 4], 9));
  });

  it('BatchNorm2d in eval mode', () => {
    checkModule(new BatchNorm2d(2, f64).eval(), input([2, 2, 3, 3], 10));
  });

  it('activations, pooling, flatten and dropout (fixed mask)', () => {
    // inputs away from the kinks of relu / leaky relu / max
    const away = (shape: number[], seed: number): g.Tensor => {
      const x = input(shape, seed);
      const v = x.dataSync().map((a) => (Math.abs(a) < 0.05 ? a + 0.2 : a));
      return g.tensor(v, shape, f64);
    };
    checkModule(new ReLU(), away([3, 4], 11));
    checkModule(new LeakyReLU(0.2), away([3, 4], 12));
    checkModule(new Tanh(), input([3, 4], 13));
    checkModule(new Sigmoid(), input([3, 4], 14));
    checkModule(new MaxPool2d(2), input([1, 2, 4, 4], 15));
    checkModule(new AvgPool2d(2, { stride: 1 }), input([1, 2, 3, 3], 16));
    checkModule(new Flatten(), input([2, 2, 2, 2], 17));
    checkModule(new Dropout(0.5, { seed: 3 }), input([4, 5], 18));
  });

  it('Sequential and the residual BasicBlock (identity and projection shortcuts)', () => {
    checkModule(new Sequential([new Conv2d(1, 2, 2, { ...f64, seed: 1 }), new Tanh(), new Flatten(), new Linear(8, 3, { ...f64, seed: 2 })]), input([2, 1, 3, 3], 19));
    checkModule(new BasicBlock(2, 2, { ...f64, seed: 3 }), input([2, 2, 4, 4], 20));
    checkModule(new BasicBlock(2, 3, { ...f64, seed: 4, stride: 2 }), input([2, 2, 4, 4], 21));
  });

  it('second-order gradients through Linear + tanh (double backprop)', () => {
    checkModule(new Sequential([new Linear(3, 4, { ...f64, seed: 5 }), new Tanh(), new Linear(4, 2, { ...f64, seed: 6 })]), input([2, 3], 22), 2);
  });
});

describe('layer behaviour', () => {
  it('Linear computes x W^T + b with W [out, in]', () => {
    const m = new Linear(2, 3, { ...f64, seed: 1 });
    const x = g.tensor([[1, 2]], undefined, f64);
    const w = m.weight.dataSync();
    const b = m.bias!.dataSync();
    const y = m.forward(x).dataSync();
    for (let o = 0; o < 3; o++) expect(y[o]).toBeCloseTo(w[2 * o]! * 1 + w[2 * o + 1]! * 2 + b[o]!, 12);
  });

  it('BatchNorm keeps Keras running statistics: r = 0.99 r + 0.01 batch (variance unbiased)', () => {
    const bn = new BatchNorm1d(2, f64);
    const x = g.tensor([[1, 10], [3, 20], [8, 60]], undefined, f64);
    const y = bn.forward(x).dataSync();
    const m0 = 4;
    const v0 = ((1 - 4) ** 2 + (3 - 4) ** 2 + (8 - 4) ** 2) / 3;
    expect(y[0]).toBeCloseTo((1 - m0) / Math.sqrt(v0 + 1e-3), 10);
    const rm = bn.runningMean.dataSync();
    const rv = bn.runningVar.dataSync();
    expect(rm[0]).toBeCloseTo(0.01 * 4, 12);
    expect(rm[1]).toBeCloseTo(0.01 * 30, 12);
    expect(rv[0]).toBeCloseTo(0.99 + 0.01 * ((v0 * 3) / 2), 12);
    bn.eval();
    const ye = bn.forward(g.tensor([[2, 0]], undefined, f64)).dataSync();
    expect(ye[0]).toBeCloseTo((2 - rm[0]!) / Math.sqrt(rv[0]! + 1e-3), 12);
  });

  it('Dropout: training masks depend on the step, eval is the identity', () => {
    const d = new Dropout(0.5, { seed: 9 });
    const x = g.ones([1000], f64);
    const a = d.forward(x).dataSync();
    const again = d.forward(x).dataSync();
    d.step = 1;
    const b = d.forward(x).dataSync();
    expect(Array.from(again)).toEqual(Array.from(a));
    expect(Array.from(b)).not.toEqual(Array.from(a));
    expect(new Set(a)).toEqual(new Set([0, 2]));
    const kept = a.filter((v) => v > 0).length;
    expect(kept).toBeGreaterThan(430);
    expect(kept).toBeLessThan(570);
    d.eval();
    expect(Array.from(d.forward(x).dataSync())).toEqual(Array.from(x.dataSync()));
  });

  it('validates shapes and arguments with typed errors', () => {
    expect(() => new Linear(3, 2).forward(g.zeros([2, 4]))).toThrow(g.ShapeError);
    expect(() => new BatchNorm2d(3).forward(g.zeros([2, 2, 3, 3]))).toThrow(/expected input \[N, 3, H, W\]/);
    expect(() => new Dropout(1)).toThrow(g.ArgumentError);
    expect(() => new Conv2d(0, 2, 3)).toThrow(/inChannels must be a positive integer/);
  });
});
