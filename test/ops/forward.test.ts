/**
 * Forward values of every op family against closed forms, hand-computed arrays and the naive
 * loop implementations of test/helpers/naive.ts.
 */
import { describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { philox4x32 } from '../../src/random/philox.js';
import { hashValues, naiveBatchNorm, naiveConv2d, naiveMatmul, naivePool, type Arr } from '../helpers/naive.js';

const f64 = { dtype: 'float64' as const };

function vals(t: Tensor): number[] {
  return Array.from(t.dataSync());
}

function expectClose(got: Arr, want: Arr, tol = 1e-12): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const d = Math.abs(got[i]! - w);
    if (!(d <= tol * Math.max(1, Math.abs(w)))) {
      throw new Error(`element ${i}: got ${got[i]}, want ${w} (|diff| ${d})`);
    }
  }
}

function t64(data: number[], shape: number[]): Tensor {
  return g.tensor(data, shape, f64);
}

describe('elementwise unary', () => {
  const xs = [-2.5, -1, -0.3, 0.2, 0.7, 1.5, 3];
  const pos = [0.1, 0.5, 1, 2, 7.5];
  const cases: [string, (t: Tensor) => Tensor, (v: number) => number, number[]][] = [
    ['neg', g.neg, (v) => -v, xs],
    ['exp', g.exp, Math.exp, xs],
    ['log', g.log, Math.log, pos],
    ['sqrt', g.sqrt, Math.sqrt, pos],
    ['rsqrt', g.rsqrt, (v) => 1 / Math.sqrt(v), pos],
    ['reciprocal', g.reciprocal, (v) => 1 / v, xs],
    ['abs', g.abs, Math.abs, xs],
    ['square', g.square, (v) => v * v, xs],
    ['relu', g.relu, (v) => Math.max(v, 0), xs],
    ['leakyRelu 0.2', (t) => g.leakyRelu(t, 0.2), (v) => (v > 0 ? v : 0.2 * v), xs],
    ['leakyRelu default 0.01', (t) => g.leakyRelu(t), (v) => (v > 0 ? v : 0.01 * v), xs],
    ['sigmoid', g.sigmoid, (v) => 1 / (1 + Math.exp(-v)), xs],
    ['tanh', g.tanh, Math.tanh, xs],
    ['softplus', g.softplus, (v) => Math.log(1 + Math.exp(v)), xs],
    ['sin', g.sin, Math.sin, xs],
    ['cos', g.cos, Math.cos, xs],
    ['sign', g.sign, Math.sign, [-3, -0.1, 0, 0.1, 2]],
  ];
  for (const [name, op, ref, input] of cases) {
    it(`${name} matches its closed form in float64 and float32`, () => {
      expectClose(vals(op(t64(input, [input.length]))), input.map(ref), 1e-14);
      expectClose(vals(op(g.tensor(input, [input.length]))), input.map((v) => Math.fround(ref(Math.fround(v)))), 1e-6);
    });
  }

  it('sigmoid and softplus stay finite and exact at large |x|', () => {
    expect(vals(g.sigmoid(t64([-1000, 1000], [2])))).toEqual([0, 1]);
    expect(vals(g.softplus(t64([-1000, 1000, 40], [3])))).toEqual([0, 1000, 40 + Math.log1p(Math.exp(-40))]);
    expect(vals(g.softplus(g.tensor([-200, 200], [2])))).toEqual([0, 200]);
  });
});

describe('NaN is never hidden', () => {
  it('relu, maximum, minimum, clamp, max, max-pool, argmax, matmul and softmax propagate NaN', () => {
    const x = t64([1, NaN, -2, 0.5], [1, 1, 2, 2]);
    const isNaNAt = (t: Tensor, i: number): boolean => Number.isNaN(vals(t)[i]!);
    expect(isNaNAt(g.relu(x), 1)).toBe(true);
    expect(isNaNAt(g.relu(g.tensor([NaN], [1])), 0)).toBe(true);
    expect(isNaNAt(g.maximum(x, 0), 1)).toBe(true);
    expect(isNaNAt(g.minimum(0, x), 1)).toBe(true);
    expect(isNaNAt(g.clamp(x, -1, 1), 1)).toBe(true);
    expect(isNaNAt(g.max(x), 0)).toBe(true);
    expect(isNaNAt(g.maxPool2d(x, { kernel: 2 }), 0)).toBe(true);
    expect(vals(g.argmax(g.reshape(x, [4]), 0))).toEqual([1]);
    expect(isNaNAt(g.matmul(g.reshape(x, [2, 2]), g.ones([2, 2], f64)), 0)).toBe(true);
    expect(isNaNAt(g.softmax(g.reshape(x, [4])), 0)).toBe(true);
  });
});

describe('elementwise binary with broadcasting', () => {
  const a = t64([1, 2, 3, 4, 5, 6], [2, 3]);
  const row = t64([10, 20, 30], [3]);
  const col = t64([100, 200], [2, 1]);

  it('add / sub / mul / div broadcast a row and a column', () => {
    expect(vals(g.add(a, row))).toEqual([11, 22, 33, 14, 25, 36]);
    expect(vals(g.sub(a, col))).toEqual([-99, -98, -97, -196, -195, -194]);
    expect(vals(g.mul(row, a))).toEqual([10, 40, 90, 40, 100, 180]);
    expectClose(vals(g.div(a, row)), [0.1, 0.1, 0.1, 0.4, 0.25, 0.2]);
    const outer = g.add(col, row);
    expect(outer.shape).toEqual([2, 3]);
    expect(vals(outer)).toEqual([110, 120, 130, 210, 220, 230]);
  });

  it('broadcasts [3,1,4] with [2,4] to [3,2,4]', () => {
    const x = t64(Array.from({ length: 12 }, (_, i) => i), [3, 1, 4]);
    const y = t64(Array.from({ length: 8 }, (_, i) => 100 * i), [2, 4]);
    const z = g.add(x, y);
    expect(z.shape).toEqual([3, 2, 4]);
    const want: number[] = [];
    for (let i = 0; i < 3; i++) for (let j = 0; j < 2; j++) for (let k = 0; k < 4; k++) want.push(i * 4 + k + 100 * (j * 4 + k));
    expect(vals(z)).toEqual(want);
  });

  it('scalar operands on either side', () => {
    expect(vals(g.sub(10, a))).toEqual([9, 8, 7, 6, 5, 4]);
    expect(vals(g.sub(a, 1))).toEqual([0, 1, 2, 3, 4, 5]);
    expectClose(vals(g.div(6, a)), [6, 3, 2, 1.5, 1.2, 1]);
    expect(vals(g.pow(a, 2))).toEqual([1, 4, 9, 16, 25, 36]);
    expect(vals(g.pow(2, a))).toEqual([2, 4, 8, 16, 32, 64]);
    expectClose(vals(g.pow(a, row)), [1, 2 ** 20, 3 ** 30, 4 ** 10, 5 ** 20, 6 ** 30], 1e-14);
    expect(vals(g.mul(3, a))).toEqual([3, 6, 9, 12, 15, 18]);
    expect(vals(g.add(0.5, a))).toEqual([1.5, 2.5, 3.5, 4.5, 5.5, 6.5]);
  });

  it('maximum / minimum / clamp / where / comparisons', () => {
    const x = t64([-2, -0.5, 0, 0.5, 2, 3], [2, 3]);
    expect(vals(g.maximum(x, row))).toEqual([10, 20, 30, 10, 20, 30]);
    expect(vals(g.maximum(x, 0))).toEqual([0, 0, 0, 0.5, 2, 3]);
    expect(vals(g.minimum(x, t64([0, 1], [2, 1])))).toEqual([-2, -0.5, 0, 0.5, 1, 1]);
    expect(vals(g.clamp(x, -1, 1))).toEqual([-1, -0.5, 0, 0.5, 1, 1]);
    expect(vals(g.gt(x, 0))).toEqual([0, 0, 0, 1, 1, 1]);
    expect(vals(g.ge(x, 0))).toEqual([0, 0, 1, 1, 1, 1]);
    expect(vals(g.lt(x, 0))).toEqual([1, 1, 0, 0, 0, 0]);
    expect(vals(g.le(x, 0.5))).toEqual([1, 1, 1, 1, 0, 0]);
    expect(vals(g.eq(x, t64([0, 2, 3], [3])))).toEqual([0, 0, 0, 0, 1, 1]);
    expect(vals(g.ne(x, 0))).toEqual([1, 1, 0, 1, 1, 1]);
    const w = g.where(g.gt(x, 0), x, t64([-7, -8, -9], [3]));
    expect(vals(w)).toEqual([-7, -8, -9, 0.5, 2, 3]);
    expect(vals(g.where(t64([1, 0], [2, 1]), 5, x))).toEqual([5, 5, 5, 0.5, 2, 3]);
  });

  it('int32 tensors add and compare exactly', () => {
    const i = g.tensor([1, -2, 3], [3], { dtype: 'int32' });
    const s = g.add(i, g.tensor([10, 20, 30], [3], { dtype: 'int32' }));
    expect(s.dtype).toBe('int32');
    expect(vals(s)).toEqual([11, 18, 33]);
  });
});

describe('reductions', () => {
  // x[i,j,k] = 100 i + 10 j + k
  const shape = [2, 3, 4];
  const data: number[] = [];
  for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) data.push(100 * i + 10 * j + k);
  const x = t64(data, shape);
  const at = (i: number, j: number, k: number): number => 100 * i + 10 * j + k;

  function naiveReduce(axes: number[], f: (vs: number[]) => number): number[] {
    const out: number[] = [];
    const ranges = shape.map((d, a) => (axes.includes(a) ? 1 : d));
    for (let i = 0; i < ranges[0]!; i++) {
      for (let j = 0; j < ranges[1]!; j++) {
        for (let k = 0; k < ranges[2]!; k++) {
          const vs: number[] = [];
          for (let ii = 0; ii < 2; ii++) for (let jj = 0; jj < 3; jj++) for (let kk = 0; kk < 4; kk++) {
            if ((axes.includes(0) || ii === i) && (axes.includes(1) || jj === j) && (axes.includes(2) || kk === k)) vs.push(at(ii, jj, kk));
          }
          out.push(f(vs));
        }
      }
    }
    return out;
  }
  const sumF = (vs: number[]): number => vs.reduce((a, b) => a + b, 0);
  const meanF = (vs: number[]): number => sumF(vs) / vs.length;
  const maxF = (vs: number[]): number => Math.max(...vs);
  const minF = (vs: number[]): number => Math.min(...vs);

  for (const axes of [[0], [1], [2], [0, 1], [0, 2], [1, 2], [0, 1, 2]]) {
    it(`sum / mean / max / min over axes [${axes}] with and without keepDims`, () => {
      for (const [op, f] of [[g.sum, sumF], [g.mean, meanF], [g.max, maxF], [g.min, minF]] as const) {
        const kept = op(x, axes, true);
        expect(kept.shape).toEqual(shape.map((d, a) => (axes.includes(a) ? 1 : d)));
        expectClose(vals(kept), naiveReduce(axes, f));
        const dropped = op(x, axes);
        expect(dropped.shape).toEqual(shape.filter((_, a) => !axes.includes(a)));
        expectClose(vals(dropped), naiveReduce(axes, f));
      }
    });
  }

  it('negative axes and no axes', () => {
    expect(vals(g.sum(x, -1))).toEqual(naiveReduce([2], sumF));
    const all = g.sum(x);
    expect(all.shape).toEqual([]);
    expect(vals(all)).toEqual([sumF(data)]);
    expect(g.mean(x, undefined, true).shape).toEqual([1, 1, 1]);
  });

  it('float32 sums accumulate in float64 (no drift over many terms)', () => {
    const n = 1 << 20;
    const s = g.sum(g.full([n], 0.1));
    expect(Math.abs(s.dataSync()[0]! - n * Math.fround(0.1))).toBeLessThan(1e-2);
  });

  it('argmax / argmin return int32 indices, first one on ties', () => {
    const y = t64([3, 1, 3, 0, 5, 5, -1, 9, 2], [3, 3]);
    const am = g.argmax(y, 1);
    expect(am.dtype).toBe('int32');
    expect(vals(am)).toEqual([0, 1, 1]);
    expect(vals(g.argmin(y, 1))).toEqual([1, 0, 0]);
    expect(vals(g.argmax(y, 0))).toEqual([0, 2, 1]);
    expect(g.argmax(y, 0, true).shape).toEqual([1, 3]);
  });

  it('variance is the biased variance; sumTo undoes broadcasting', () => {
    const v = g.variance(t64([1, 2, 3, 4, 10, 20, 30, 40], [2, 4]), 1);
    expectClose(vals(v), [1.25, 125]);
    const s = g.sumTo(x, [3, 1]);
    expect(s.shape).toEqual([3, 1]);
    expectClose(vals(s), [0, 1, 2].map((j) => sumF(data.filter((_, i) => Math.floor(i / 4) % 3 === j))));
  });
});

describe('matmul', () => {
  it('2-D against a naive triple loop', () => {
    const a = hashValues(3 * 4, 1);
    const b = hashValues(4 * 5, 2);
    const c = g.matmul(t64(a, [3, 4]), t64(b, [4, 5]));
    expect(c.shape).toEqual([3, 5]);
    expectClose(vals(c), naiveMatmul(a, 3, 4, b, 4, 5, false, false));
  });

  for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
    it(`matmulT transA=${ta} transB=${tb} at odd sizes across the cache blocks`, () => {
      const [m, k, n] = [37, 139, 67];
      const a = hashValues(m * k, 3);
      const b = hashValues(k * n, 4);
      const [ar, ac] = ta ? [k, m] : [m, k];
      const [br, bc] = tb ? [n, k] : [k, n];
      const want = naiveMatmul(a, ar, ac, b, br, bc, ta, tb);
      expectClose(vals(g.matmulT(t64(a, [ar, ac]), t64(b, [br, bc]), ta, tb)), want, 1e-12);
      const c32 = vals(g.matmulT(g.tensor(a, [ar, ac]), g.tensor(b, [br, bc]), ta, tb));
      expectClose(c32, want, 1e-5);
    });
  }

  it('large inner and outer dims (blocked paths and edges)', () => {
    const [m, k, n] = [9, 300, 1100];
    const a = hashValues(m * k, 5);
    const b = hashValues(k * n, 6);
    expectClose(vals(g.matmul(t64(a, [m, k]), t64(b, [k, n]))), naiveMatmul(a, m, k, b, k, n, false, false), 1e-12);
  });

  it('batched with broadcast batch dims: [2,1,3,4] @ [3,4,2] -> [2,3,3,2]', () => {
    const a = hashValues(2 * 3 * 4, 7);
    const b = hashValues(3 * 4 * 2, 8);
    const c = g.matmul(t64(a, [2, 1, 3, 4]), t64(b, [3, 4, 2]));
    expect(c.shape).toEqual([2, 3, 3, 2]);
    const want: number[] = [];
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 3; j++) {
        want.push(...naiveMatmul(a.slice(i * 12, i * 12 + 12), 3, 4, b.slice(j * 8, j * 8 + 8), 4, 2, false, false));
      }
    }
    expectClose(vals(c), want);
  });

  it('empty inner dimension gives zeros; NaN propagates through zeros', () => {
    expect(vals(g.matmul(g.zeros([2, 0], f64), g.zeros([0, 3], f64)))).toEqual([0, 0, 0, 0, 0, 0]);
    const c = g.matmul(t64([0, 1], [1, 2]), t64([NaN, 1, 2, 3], [2, 2]));
    expect(Number.isNaN(vals(c)[0]!)).toBe(true);
  });
});

describe('layout', () => {
  const x = t64(Array.from({ length: 24 }, (_, i) => i), [2, 3, 4]);

  it('reshape / flatten / squeeze / expandDims keep values and change shapes', () => {
    expect(g.reshape(x, [4, -1]).shape).toEqual([4, 6]);
    expect(vals(g.reshape(x, [6, 4]))).toEqual(vals(x));
    expect(g.flatten(x).shape).toEqual([2, 12]);
    expect(g.squeeze(g.zeros([2, 1, 3, 1])).shape).toEqual([2, 3]);
    expect(g.squeeze(g.zeros([2, 1, 3, 1]), [-1]).shape).toEqual([2, 1, 3]);
    expect(g.expandDims(x, 1).shape).toEqual([2, 1, 3, 4]);
    expect(g.expandDims(x, -1).shape).toEqual([2, 3, 4, 1]);
  });

  it('transpose and permute move elements', () => {
    const t = g.transpose(t64([1, 2, 3, 4, 5, 6], [2, 3]));
    expect(t.shape).toEqual([3, 2]);
    expect(vals(t)).toEqual([1, 4, 2, 5, 3, 6]);
    const p = g.permute(x, [2, 0, 1]);
    expect(p.shape).toEqual([4, 2, 3]);
    const pv = vals(p);
    for (let k = 0; k < 4; k++) for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) {
      expect(pv[(k * 2 + i) * 3 + j]).toBe(i * 12 + j * 4 + k);
    }
    expect(vals(g.transpose(x))).toEqual(vals(g.permute(x, [2, 1, 0])));
  });

  it('slice / pad / concat / stack / broadcastTo', () => {
    const s = g.slice(x, [1, 1, 1], [1, 2, -1]);
    expect(s.shape).toEqual([1, 2, 3]);
    expect(vals(s)).toEqual([17, 18, 19, 21, 22, 23]);
    const p = g.pad(t64([1, 2, 3, 4], [2, 2]), [[1, 0], [0, 2]], 9);
    expect(p.shape).toEqual([3, 4]);
    expect(vals(p)).toEqual([9, 9, 9, 9, 1, 2, 9, 9, 3, 4, 9, 9]);
    const a = t64([1, 2, 3, 4], [2, 2]);
    const b = t64([5, 6], [2, 1]);
    expect(vals(g.concat([a, b], 1))).toEqual([1, 2, 5, 3, 4, 6]);
    expect(vals(g.concat([a, t64([7, 8], [1, 2])], 0))).toEqual([1, 2, 3, 4, 7, 8]);
    const st = g.stack([a, g.mul(a, 10)], 1);
    expect(st.shape).toEqual([2, 2, 2]);
    expect(vals(st)).toEqual([1, 2, 10, 20, 3, 4, 30, 40]);
    const bc = g.broadcastTo(t64([1, 2], [2, 1]), [3, 2, 2]);
    expect(vals(bc)).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 1, 1, 2, 2]);
  });

  it('cast between float32, float64 and int32', () => {
    const c = g.cast(t64([1.7, -1.7, 2.5], [3]), 'int32');
    expect(c.dtype).toBe('int32');
    expect(vals(c)).toEqual([1, -1, 2]);
    const f = g.cast(t64([0.1], [1]), 'float32');
    expect(f.dtype).toBe('float32');
    expect(vals(f)).toEqual([Math.fround(0.1)]);
    expect(g.cast(f, 'float64').dtype).toBe('float64');
  });
});

describe('convolution', () => {
  const configs = [
    { n: 2, c: 3, h: 7, w: 6, oc: 4, kh: 3, kw: 3, sh: 1, sw: 1, ph: 0, pw: 0 },
    { n: 1, c: 2, h: 7, w: 7, oc: 3, kh: 3, kw: 3, sh: 2, sw: 2, ph: 1, pw: 1 },
    { n: 2, c: 1, h: 5, w: 8, oc: 2, kh: 2, kw: 3, sh: 2, sw: 1, ph: 1, pw: 0 },
    { n: 1, c: 2, h: 6, w: 6, oc: 2, kh: 1, kw: 1, sh: 1, sw: 1, ph: 0, pw: 0 },
    { n: 1, c: 1, h: 9, w: 9, oc: 1, kh: 5, kw: 5, sh: 3, sw: 3, ph: 2, pw: 2 },
  ];
  for (const s of configs) {
    it(`conv2d matches a direct convolution: ${JSON.stringify(s)}`, () => {
      const x = hashValues(s.n * s.c * s.h * s.w, 11);
      const w = hashValues(s.oc * s.c * s.kh * s.kw, 12);
      const b = hashValues(s.oc, 13);
      const want = naiveConv2d(x, w, b, s);
      const y = g.conv2d(t64(x, [s.n, s.c, s.h, s.w]), t64(w, [s.oc, s.c, s.kh, s.kw]), t64(b, [s.oc]), {
        stride: [s.sh, s.sw],
        padding: [s.ph, s.pw],
      });
      expect(y.shape).toEqual([s.n, s.oc, want.oh, want.ow]);
      expectClose(vals(y), want.out, 1e-12);
      const noBias = g.conv2d(t64(x, [s.n, s.c, s.h, s.w]), t64(w, [s.oc, s.c, s.kh, s.kw]), null, { stride: [s.sh, s.sw], padding: [s.ph, s.pw] });
      expectClose(vals(noBias), naiveConv2d(x, w, null, s).out, 1e-12);
    });
  }

  it("padding 'same' keeps the spatial size and equals padding 1 for 3x3", () => {
    const x = t64(hashValues(2 * 5 * 5, 1), [1, 2, 5, 5]);
    const w = t64(hashValues(3 * 2 * 9, 2), [3, 2, 3, 3]);
    const same = g.conv2d(x, w, null, { padding: 'same' });
    expect(same.shape).toEqual([1, 3, 5, 5]);
    expect(vals(same)).toEqual(vals(g.conv2d(x, w, null, { padding: 1 })));
    expect(g.conv2d(x, w, null, { padding: 'valid' }).shape).toEqual([1, 3, 3, 3]);
    expect(vals(g.conv2d(x, w, null, { padding: 'same', stride: [1, 1] }))).toEqual(vals(same));
    expect(() => g.conv2d(x, w, null, { padding: 'same', stride: [1, 2] })).toThrow("conv2d: padding 'same' needs stride 1, got 1,2");
  });

  it('im2col lays out patches row (c*kh + i)*kw + j, column y*ow + x', () => {
    // 1x1x3x3 image 1..9, 2x2 kernel, stride 1: 4 patches.
    const cols = g.im2col(t64([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]), { kernel: 2 });
    expect(cols.shape).toEqual([1, 4, 4]);
    expect(vals(cols)).toEqual([1, 2, 4, 5, 2, 3, 5, 6, 4, 5, 7, 8, 5, 6, 8, 9]);
    // Padding 1, stride 2 on a 2x2 image: zeros outside.
    const p = g.im2col(t64([1, 2, 3, 4], [1, 1, 2, 2]), { kernel: 2, stride: 2, padding: 1 });
    expect(p.shape).toEqual([1, 4, 4]);
    expect(vals(p)).toEqual([0, 0, 0, 4, 0, 0, 3, 0, 0, 2, 0, 0, 1, 0, 0, 0]);
  });

  it('col2im is the adjoint of im2col: <im2col(x), c> = <x, col2im(c)>', () => {
    for (const o of [{ kernel: 3, stride: 2, padding: 1 }, { kernel: [2, 3] as const, stride: [1, 2] as const }, { kernel: 3 }]) {
      const shape = [2, 2, 5, 6] as const;
      const x = t64(hashValues(2 * 2 * 5 * 6, 3), [...shape]);
      const cx = g.im2col(x, o);
      const c = t64(hashValues(cx.size, 4), [...cx.shape]);
      const lhs = g.sum(g.mul(cx, c)).dataSync()[0]!;
      const rhs = g.sum(g.mul(x, g.col2im(c, shape, o))).dataSync()[0]!;
      expect(Math.abs(lhs - rhs)).toBeLessThan(1e-12 * Math.max(1, Math.abs(lhs)));
    }
  });
});

describe('pooling', () => {
  const configs = [
    { n: 2, c: 2, h: 5, w: 5, kh: 2, kw: 2, sh: 2, sw: 2, ph: 0, pw: 0 },
    { n: 1, c: 3, h: 7, w: 7, kh: 3, kw: 3, sh: 2, sw: 2, ph: 0, pw: 0 },
    { n: 1, c: 1, h: 6, w: 5, kh: 3, kw: 3, sh: 2, sw: 2, ph: 1, pw: 1 },
    { n: 2, c: 1, h: 4, w: 7, kh: 2, kw: 3, sh: 1, sw: 2, ph: 0, pw: 1 },
  ];
  for (const s of configs) {
    it(`maxPool2d and avgPool2d match naive loops: ${JSON.stringify(s)}`, () => {
      const x = hashValues(s.n * s.c * s.h * s.w, 21);
      const xt = t64(x, [s.n, s.c, s.h, s.w]);
      const o = { kernel: [s.kh, s.kw] as const, stride: [s.sh, s.sw] as const, padding: [s.ph, s.pw] as const };
      const mx = naivePool(x, s, 'max');
      const { out, indices } = g.maxPool2dWithIndices(xt, o);
      expect(out.shape).toEqual([s.n, s.c, mx.oh, mx.ow]);
      expect(vals(out)).toEqual(mx.out);
      expect(vals(indices)).toEqual(mx.argmax);
      expect(vals(g.maxPool2d(xt, o))).toEqual(mx.out);
      expectClose(vals(g.avgPool2d(xt, o)), naivePool(x, s, 'avg').out, 1e-14);
      expect(vals(g.maxPoolGather(xt, indices, o))).toEqual(mx.out);
    });
  }

  it('max-pool picks the first max on ties and routes the gradient to it', () => {
    const x = t64([1, 1, 1, 1], [1, 1, 2, 2]);
    x.requiresGrad = true;
    const { out, indices } = g.maxPool2dWithIndices(x, { kernel: 2 });
    expect(vals(out)).toEqual([1]);
    expect(vals(indices)).toEqual([0]);
    const [gx] = g.grad(g.sum(out), [x]);
    expect(vals(gx!)).toEqual([1, 0, 0, 0]);
  });

  it('stride defaults to the kernel; globalAvgPool2d averages each plane', () => {
    expect(g.maxPool2d(g.zeros([1, 1, 6, 6]), { kernel: 3 }).shape).toEqual([1, 1, 2, 2]);
    const x = t64(hashValues(2 * 3 * 3 * 5, 5), [2, 3, 3, 5]);
    const gp = g.globalAvgPool2d(x);
    expect(gp.shape).toEqual([2, 3]);
    const xv = vals(x);
    expectClose(vals(gp), Array.from({ length: 6 }, (_, p) => xv.slice(p * 15, p * 15 + 15).reduce((a, b) => a + b, 0) / 15));
  });
});

describe('batchNorm', () => {
  it('training mode normalizes with batch statistics (4-D and 2-D) and updates running stats', () => {
    for (const [shape, s] of [[[3, 2, 2, 3], 6], [[5, 4], 1]] as const) {
      const [n, c] = shape;
      const x = hashValues(n * c * s, 31).map((v) => 2 * v + 0.5);
      const gamma = [1.5, -0.5, 2, 0.25].slice(0, c);
      const beta = [0.1, 0.2, -0.3, 0].slice(0, c);
      const want = naiveBatchNorm(x, n, c, s, gamma, beta, 1e-5);
      const rm = t64(new Array(c).fill(0.5), [c]);
      const rv = t64(new Array(c).fill(2), [c]);
      const y = g.batchNorm(t64(x, [...shape]), t64(gamma, [c]), t64(beta, [c]), rm, rv, { training: true, momentum: 0.1 });
      expectClose(vals(y), want.y, 1e-12);
      const m = n * s;
      expectClose(vals(rm), want.mean.map((mu) => 0.9 * 0.5 + 0.1 * mu), 1e-12);
      expectClose(vals(rv), want.variance.map((v) => 0.9 * 2 + (0.1 * v * m) / (m - 1)), 1e-12);
    }
  });

  it('eval mode uses the running statistics', () => {
    const x = hashValues(2 * 3 * 4, 32);
    const rm = [0.1, -0.2, 0.3];
    const rv = [0.5, 1.5, 2.5];
    const gamma = [1, 2, 3];
    const beta = [0, -1, 1];
    const y = g.batchNorm(t64(x, [2, 3, 4]), t64(gamma, [3]), t64(beta, [3]), t64(rm, [3]), t64(rv, [3]), { training: false, eps: 1e-3 });
    const want = x.map((v, i) => {
      const c = Math.floor(i / 4) % 3;
      return (gamma[c]! * (v - rm[c]!)) / Math.sqrt(rv[c]! + 1e-3) + beta[c]!;
    });
    expectClose(vals(y), want, 1e-12);
  });

  it('the composite forward equals the fused kernel', () => {
    const x = t64(hashValues(4 * 3 * 5, 33), [4, 3, 5]);
    const gamma = t64([0.5, 1, 1.5], [3]);
    const beta = t64([1, 0, -1], [3]);
    expectClose(vals(g.batchNormTrainComposite(x, gamma, beta, 1e-5)), vals(g.batchNorm(x, gamma, beta, null, null, { training: true })), 1e-12);
  });
});

describe('softmax family and losses', () => {
  const z = [1, 2, 3, -1, 0, 4, 0.5, 0.5, 0.5];

  function naiveSoftmaxRows(v: number[], cols: number): number[] {
    const out: number[] = [];
    for (let r = 0; r < v.length / cols; r++) {
      const row = v.slice(r * cols, (r + 1) * cols);
      const s = row.reduce((a, b) => a + Math.exp(b), 0);
      out.push(...row.map((e) => Math.exp(e) / s));
    }
    return out;
  }

  it('softmax and logSoftmax over the last axis and over axis 0', () => {
    expectClose(vals(g.softmax(t64(z, [3, 3]))), naiveSoftmaxRows(z, 3), 1e-14);
    expectClose(vals(g.logSoftmax(t64(z, [3, 3]))), naiveSoftmaxRows(z, 3).map(Math.log), 1e-14);
    const zt = [0, 3, 6, 1, 4, 7, 2, 5, 8].map((i) => z[i]!);
    const colWise = naiveSoftmaxRows(zt, 3);
    const back = [0, 3, 6, 1, 4, 7, 2, 5, 8].map((i) => colWise[i]!);
    expectClose(vals(g.softmax(t64(z, [3, 3]), 0)), back, 1e-14);
    expectClose(vals(g.logSoftmax(t64(z, [3, 3]), 0)), back.map(Math.log), 1e-14);
  });

  it('softmax over the middle axis of a 3-D tensor', () => {
    const v = hashValues(2 * 3 * 4, 41);
    const y = vals(g.softmax(t64(v, [2, 3, 4]), 1));
    for (let a = 0; a < 2; a++) for (let c = 0; c < 4; c++) {
      const col = [0, 1, 2].map((b) => v[(a * 3 + b) * 4 + c]!);
      const s = col.reduce((p, e) => p + Math.exp(e), 0);
      for (let b = 0; b < 3; b++) expect(y[(a * 3 + b) * 4 + c]).toBeCloseTo(Math.exp(col[b]!) / s, 14);
    }
  });

  it('softmax and logSoftmax are stable at large logits', () => {
    expectClose(vals(g.softmax(t64([1000, 1000, -1000], [3]))), [0.5, 0.5, 0], 1e-15);
    expectClose(vals(g.logSoftmax(t64([1000, 0], [2]))), [0, -1000], 1e-15);
    expectClose(vals(g.crossEntropy(g.tensor([[1000, 0]], undefined, f64), g.tensor([1], [1], { dtype: 'int32' }), 'none')), [1000], 1e-15);
  });

  it('softmaxHvp computes p*v - p*(p.v) row-wise', () => {
    const p = [0.2, 0.3, 0.5, 0.1, 0.1, 0.8];
    const v = [1, -2, 3, 0.5, 4, -1];
    const want: number[] = [];
    for (let r = 0; r < 2; r++) {
      const d = [0, 1, 2].reduce((s, j) => s + p[r * 3 + j]! * v[r * 3 + j]!, 0);
      for (let j = 0; j < 3; j++) want.push(p[r * 3 + j]! * (v[r * 3 + j]! - d));
    }
    expectClose(vals(g.softmaxHvp(t64(p, [2, 3]), t64(v, [2, 3]))), want, 1e-15);
    expectClose(vals(g.softmaxHvpComposite(t64(p, [2, 3]), t64(v, [2, 3]))), want, 1e-15);
  });

  it('crossEntropy is -log softmax at the label, reduced mean / sum / none', () => {
    const labels = g.tensor([2, 0, 1], [3], { dtype: 'int32' });
    const logp = naiveSoftmaxRows(z, 3).map(Math.log);
    const rows = [-logp[2]!, -logp[3]!, -logp[7]!];
    const logits = t64(z, [3, 3]);
    expectClose(vals(g.crossEntropy(logits, labels, 'none')), rows, 1e-14);
    expectClose(vals(g.crossEntropy(logits, labels, 'sum')), [rows[0]! + rows[1]! + rows[2]!], 1e-14);
    expectClose(vals(g.crossEntropy(logits, labels)), [(rows[0]! + rows[1]! + rows[2]!) / 3], 1e-14);
  });

  it('oneHot makes rows of the identity', () => {
    const oh = g.oneHot(g.tensor([2, 0, 1], [3], { dtype: 'int32' }), 4, 'float64');
    expect(oh.shape).toEqual([3, 4]);
    expect(vals(oh)).toEqual([0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0]);
  });

  it('mse and binaryCrossEntropy (probabilities and logits)', () => {
    const p = [0.2, 0.7, 0.9, 0.4];
    const t = [0, 1, 0.5, 1];
    expectClose(vals(g.mse(t64(p, [4]), t64(t, [4]))), [p.reduce((s, v, i) => s + (v - t[i]!) ** 2, 0) / 4], 1e-15);
    expectClose(vals(g.mse(t64(p, [4]), t64(t, [4]), 'none')), p.map((v, i) => (v - t[i]!) ** 2), 1e-15);
    const bce = p.map((v, i) => -(t[i]! * Math.log(v) + (1 - t[i]!) * Math.log(1 - v)));
    expectClose(vals(g.binaryCrossEntropy(t64(p, [4]), t64(t, [4]), { reduction: 'none' })), bce, 1e-14);
    expectClose(vals(g.binaryCrossEntropy(t64(p, [4]), t64(t, [4]), { reduction: 'sum' })), [bce.reduce((a, b) => a + b, 0)], 1e-14);
    const zl = [-2, 0.3, 1.5, 40];
    const fromLogits = zl.map((v, i) => {
      const s = 1 / (1 + Math.exp(-v));
      return -(t[i]! * Math.log(s) + (1 - t[i]!) * Math.log1p(-s));
    });
    expectClose(vals(g.binaryCrossEntropy(t64(zl, [4]), t64(t, [4]), { fromLogits: true, reduction: 'none' })).slice(0, 3), fromLogits.slice(0, 3), 1e-12);
    // A saturated logit stays finite: softplus(40) - 40 = log1p(exp(-40)).
    expect(vals(g.binaryCrossEntropy(t64([40], [1]), t64([1], [1]), { fromLogits: true }))[0]).toBeCloseTo(Math.log1p(Math.exp(-40)), 20);
  });
});

describe('Philox 4x32-10 and seeded randomness', () => {
  it('matches the Random123 known-answer vectors', () => {
    const out = new Uint32Array(4);
    philox4x32(0, 0, 0, 0, 0, 0, out);
    expect([...out]).toEqual([0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
    philox4x32(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, out);
    expect([...out]).toEqual([0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]);
    philox4x32(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, out);
    expect([...out]).toEqual([0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]);
  });

  it('uniform draws follow the documented word-to-value mapping', () => {
    const r = vals(g.rand([3], { seed: 0, dtype: 'float64' }));
    const out = new Uint32Array(4);
    r.forEach((v, i) => {
      philox4x32(i, 0, 0, 0, 0, 0, out);
      expect(v).toBe(((out[0]! >>> 8) + 0.5) / 16777216);
    });
  });

  it('a seed fixes the draw; the global generator advances', () => {
    expect(vals(g.randn([50], { seed: 5 }))).toEqual(vals(g.randn([50], { seed: 5 })));
    expect(vals(g.randn([50], { seed: 5 }))).not.toEqual(vals(g.randn([50], { seed: 6 })));
    g.manualSeed(123);
    const a = vals(g.rand([10]));
    const b = vals(g.rand([10]));
    expect(a).not.toEqual(b);
    g.manualSeed(123);
    expect(vals(g.rand([10]))).toEqual(a);
    expect(vals(g.rand([10]))).toEqual(b);
  });

  it('uniform, normal and bernoulli have the right moments', () => {
    const n = 40000;
    const u = vals(g.rand([n], { seed: 1, low: -1, high: 3, dtype: 'float64' }));
    const mu = u.reduce((a, b) => a + b, 0) / n;
    expect(Math.min(...u)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...u)).toBeLessThan(3);
    expect(Math.abs(mu - 1)).toBeLessThan(0.03);
    const z = vals(g.randn([n], { seed: 2, mean: 2, std: 3, dtype: 'float64' }));
    const zm = z.reduce((a, b) => a + b, 0) / n;
    const zv = z.reduce((a, b) => a + (b - zm) ** 2, 0) / n;
    expect(Math.abs(zm - 2)).toBeLessThan(0.05);
    expect(Math.abs(Math.sqrt(zv) - 3)).toBeLessThan(0.05);
    const b = vals(g.bernoulli([n], 0.3, { seed: 3 }));
    expect(b.every((v) => v === 0 || v === 1)).toBe(true);
    expect(Math.abs(b.reduce((a, c) => a + c, 0) / n - 0.3)).toBeLessThan(0.01);
  });

  it('dropout zeroes about p of the values, scales the rest by 1/(1-p), and is fixed by its seed', () => {
    const x = g.ones([100, 100], f64);
    const y = vals(g.dropout(x, 0.25, { training: true, seed: 9 }));
    const kept = y.filter((v) => v !== 0);
    expect(kept.every((v) => Math.abs(v - 1 / 0.75) < 1e-15)).toBe(true);
    expect(Math.abs(1 - kept.length / 1e4 - 0.25)).toBeLessThan(0.02);
    expect(vals(g.dropout(x, 0.25, { training: true, seed: 9 }))).toEqual(y);
    expect(vals(g.dropout(x, 0.25, { training: true, seed: 9, stream: 1 }))).not.toEqual(y);
    expect(vals(g.dropout(x, 0.25, { training: false }))).toEqual(vals(x));
    // The mask is the keyed bernoulli draw with keep probability 1 - p.
    const mask = vals(g.bernoulli([100, 100], 0.75, { seed: 9, dtype: 'float64' }));
    expect(y).toEqual(mask.map((m) => m / 0.75));
  });

  it('gaussianNoise adds std times the keyed normal draw', () => {
    const x = t64(hashValues(30, 1), [5, 6]);
    const y = vals(g.gaussianNoise(x, 0.3, { seed: 4 }));
    const noise = vals(g.randn([5, 6], { seed: 4, dtype: 'float64' }));
    expectClose(y, vals(x).map((v, i) => v + 0.3 * noise[i]!), 1e-15);
  });
});
