/**
 * The kernel suite (./suite.ts) on the WebGPU backend, then the WebGPU-only checks against the cpu
 * reference: shapes that are not multiples of the workgroup size, the channel-broadcast and scalar
 * comparison paths, both matmul kernels, long rows, and float64 refused.
 */
import { describe, expect, it } from 'vitest';
import type { UnaryOp, WindowGeom } from '../../src/backends/backend.js';
import { ARG_REDUCE_OPS, BINARY_OPS, COMPARISON_OPS, REDUCE_OPS, UNARY_OPS, UPDATE_RULES, UPDATE_STATES } from '../../src/backends/opcodes.js';
import { backend, gpu, skipGpu, skipNote } from '../webgpu/env.js';
import { cpu, sameAsCpu, values } from '../webgpu/harness.js';
import { openBackend, type WebGPUBackend } from '../../src/backends/webgpu/index.js';
import { defineKernelSuite, type KernelProfile } from './suite.js';
import * as g from '../../src/index.js';
import { DTypeError } from '../../src/errors.js';

/**
 * WebGPU stores float32 and int32 only; its int32 unary ops other than these run through float32
 * (tanh(10) rounds to 1 before truncation), and its Philox uniform and normal values are formed in
 * float32 arithmetic (a few ulps from the reference's double); matmul and random are float32 only.
 */
const WEBGPU: KernelProfile = { dtypes: ['float32', 'int32'], int32Unary: ['neg', 'abs', 'square', 'sign'], randomTol: 2e-6, floatOnly: ['matmul', 'random'] };
defineKernelSuite(`webgpu${skipNote}`, !skipGpu, () => gpu ?? backend(), WEBGPU);

let tiled: WebGPUBackend | undefined;

/** Ops defined for positive inputs only get positive samples. */
const POSITIVE: readonly UnaryOp[] = ['log', 'sqrt', 'rsqrt', 'reciprocal'];

function geom(n: number, c: number, h: number, w: number, kh: number, kw: number, sh: number, sw: number, ph: number, pw: number): WindowGeom {
  return { n, c, h, w, kh, kw, sh, sw, ph, pw, oh: Math.floor((h + 2 * ph - kh) / sh) + 1, ow: Math.floor((w + 2 * pw - kw) / sw) + 1 };
}

describe.skipIf(skipGpu)(`webgpu kernels vs cpu${skipNote}`, () => {
  it('unary ops, 1027 values (not a multiple of the workgroup), float32', async () => {
    const be = backend();
    for (const op of UNARY_OPS) {
      const kind = POSITIVE.includes(op) ? 'positive' : 'normal';
      const x = values(1027, 3, kind);
      // Extremes that break naive formulas: large |x| for tanh/sigmoid/softplus, tiny for tanh/expm1.
      if (kind === 'normal') x.push(-90, 90, 1e-6, -3e-5, 0, 20, -20);
      await sameAsCpu(be, (b, up) => b.unary(op, up(x, [x.length]), 0.2), 2e-6, op);
    }
  });

  it('unary ops on int32 (neg, abs, square, sign)', async () => {
    const be = backend();
    // Extremes wrap as in an Int32Array (square stays below 2^53, where the float64 reference is exact).
    const x = [...values(515, 4, 'int'), 46340, -46341, 0];
    for (const op of WEBGPU.int32Unary) {
      const xs = op === 'square' ? x : [...x, 2147483647, -2147483648];
      await sameAsCpu(be, (b, up) => b.unary(op, up(xs, [xs.length], 'int32'), 0), 0, op);
    }
  });

  it('binary ops: same shape, broadcast, scalar left and right', async () => {
    const be = backend();
    for (const op of BINARY_OPS) {
      const pos = op === 'pow';
      const a = values(3 * 5 * 7, 5, pos ? 'positive' : 'normal');
      const b = values(3 * 5 * 7, 6);
      // Ties for comparisons and max/min.
      for (let i = 0; i < 20; i++) b[i * 5] = a[i * 5]!;
      await sameAsCpu(be, (k, up) => k.binary(op, up(a, [3, 5, 7]), up(b, [3, 5, 7]), [3, 5, 7]), 1e-5, `${op} same`);
      await sameAsCpu(be, (k, up) => k.binary(op, up(a.slice(0, 15), [3, 1, 5]), up(b.slice(0, 4), [4, 1]), [3, 4, 5]), 1e-5, `${op} bcast`);
      await sameAsCpu(be, (k, up) => k.binary(op, up(a, [1, 3, 5, 7]), up(b.slice(0, 3), [1, 3, 1, 1]), [1, 3, 5, 7]), 1e-5, `${op} channel`);
      const c = values(2 * 8 * 12, 7, pos ? 'positive' : 'normal');
      await sameAsCpu(be, (k, up) => [
        k.binary(op, up(c, [2, 8, 12]), up(b.slice(0, 8), [8, 1]), [2, 8, 12]),
        k.binary(op, up(b.slice(0, 8), [8, 1]), up(c, [2, 8, 12]), [2, 8, 12]),
        k.binary(op, up(c.slice(0, 30), [5, 6]), up(b.slice(0, 6), [6]), [5, 6]),
        k.binary(op, up(b.slice(0, 6), [6]), up(c.slice(0, 30), [5, 6]), [5, 6]),
      ], 1e-5, `${op} one-dim broadcast`);
      await sameAsCpu(be, (k, up) => k.binaryScalar(op, up(a, [105]), 1.5, false), 1e-5, `${op} x,s`);
      await sameAsCpu(be, (k, up) => k.binaryScalar(op, up(a, [105]), 1.5, true), 1e-5, `${op} s,x`);
    }
  });

  it('pow follows Math.pow for negative bases, zero bases and integer exponents', async () => {
    const be = backend();
    const a = [-2, -2, -1.5, 0, 0, 0, 3, -3, 2];
    const b = [3, 2, 2, 2, 0, -1, 0.5, -2, -1];
    await sameAsCpu(be, (k, up) => k.binary('pow', up(a, [9]), up(b, [9]), [9]), 1e-6, 'pow');
  });

  it('comparisons with a scalar that float32 cannot represent decide like float64', async () => {
    const be = backend();
    const x = [0.1, Math.fround(0.1), 0.2, -0.1, 0.3, 1 / 3, 0];
    for (const op of COMPARISON_OPS) {
      for (const left of [false, true]) {
        for (const s of [0.1, 1 / 3, -0.1, 0.5, 1e39]) {
          await sameAsCpu(be, (k, up) => k.binaryScalar(op, up(x, [7]), s, left), 0, `${op} ${s} ${left}`);
        }
      }
    }
  });

  it('binary ops on int32, including division by zero and a non-integer scalar', async () => {
    const be = backend();
    const a = values(301, 7, 'int');
    const b = values(301, 8, 'int');
    for (const op of BINARY_OPS) {
      const bb = op === 'pow' ? b.map((v) => Math.abs(v) % 5) : b;
      const aa = op === 'pow' ? a.map((v) => v % 7) : a;
      await sameAsCpu(be, (k, up) => k.binary(op, up(aa, [301], 'int32'), up(bb, [301], 'int32'), [301]), 0, `int ${op}`);
      await sameAsCpu(be, (k, up) => k.binary(op, up(aa.slice(0, 7), [7, 1], 'int32'), up(bb.slice(0, 43), [1, 43], 'int32'), [7, 43]), 0, `int ${op} bcast`);
      await sameAsCpu(be, (k, up) => k.binaryScalar(op, up(aa, [301], 'int32'), 3, false), 0, `int ${op} scalar`);
    }
    await sameAsCpu(be, (k, up) => k.binaryScalar('mul', up(a, [301], 'int32'), 0.5, false), 0, 'int * 0.5');
  });

  it('where with float and int32 conditions, broadcast', async () => {
    const be = backend();
    const c = values(4 * 6, 9).map((v) => (v > 0 ? 1 : 0));
    const a = values(6, 10);
    const b = values(4 * 5 * 6, 11);
    await sameAsCpu(be, (k, up) => k.where(up(c, [4, 1, 6]), up(a, [6]), up(b, [4, 5, 6]), [4, 5, 6]), 0, 'where f');
    await sameAsCpu(be, (k, up) => k.where(up(c, [4, 1, 6], 'int32'), up(a, [6]), up(b, [4, 5, 6]), [4, 5, 6]), 0, 'where i');
    await sameAsCpu(be, (k, up) => k.where(up([0, -0, 1], [3]), up([1, 2, 3], [3]), up([4, 5, 6], [3]), [3]), 0, 'where -0');
  });

  it('fill and cast (with truncation, wrap-around and NaN like an Int32Array)', async () => {
    const be = backend();
    await sameAsCpu(be, (k) => [k.fill(1029, 2.5, 'float32'), k.fill(7, -3, 'int32'), k.fill(0, 1, 'float32')], 0, 'fill');
    const x = [1.5, -1.5, 2.9, -2.9, 0, -0, 3e9, -3e9, 2147483647, NaN, Infinity, -Infinity, 1e20, 16777217];
    await sameAsCpu(be, (k, up) => k.cast(up(x, [x.length]), 'int32'), 0, 'f32->i32');
    await sameAsCpu(be, (k, up) => k.cast(up([1, -7, 2147483647, -2147483648, 16777217], [5], 'int32'), 'float32'), 0, 'i32->f32');
    await sameAsCpu(be, (k, up) => k.cast(up([1, 2, 3], [3]), 'float32'), 0, 'f32->f32');
  });

  it('reduce sum/max/min over every axis combination of [7, 33, 5]', async () => {
    const be = backend();
    const x = values(7 * 33 * 5, 12);
    const combos = [[], [0], [1], [2], [0, 1], [0, 2], [1, 2], [0, 1, 2]];
    for (const op of REDUCE_OPS) {
      for (const axes of combos) {
        await sameAsCpu(be, (k, up) => k.reduce(op, up(x, [7, 33, 5]), axes), 1e-5, `${op} ${axes}`);
      }
    }
  });

  it('reduce: long rows (workgroup tree), few outputs (split parts), many outputs, three reduced runs, NaN', async () => {
    const be = backend();
    const long = values(3 * 100_003, 13);
    for (const op of REDUCE_OPS) {
      await sameAsCpu(be, (k, up) => k.reduce(op, up(long, [3, 100_003]), [1]), 1e-5, `${op} rows`);
      await sameAsCpu(be, (k, up) => k.reduce(op, up(long, [300_009]), [0]), 1e-5, `${op} all`);
      await sameAsCpu(be, (k, up) => k.reduce(op, up(long, [3, 100_003]), [0]), 1e-5, `${op} cols`);
      await sameAsCpu(be, (k, up) => k.reduce(op, up(long.slice(0, 2 * 3 * 4 * 5 * 6), [2, 3, 4, 5, 6]), [0, 2, 4]), 1e-5, `${op} 3 runs`);
      await sameAsCpu(be, (k, up) => k.reduce(op, up(long.slice(0, 50 * 300), [50, 300]), [0]), 1e-5, `${op} batch`);
    }
    const withNan = values(1000, 14);
    withNan[517] = NaN;
    await sameAsCpu(be, (k, up) => [k.reduce('max', up(withNan, [1000]), [0]), k.reduce('min', up(withNan, [10, 100]), [1])], 0, 'nan');
    await sameAsCpu(be, (k, up) => k.reduce('sum', up(values(999, 15, 'int'), [9, 111], 'int32'), [1]), 0, 'int sum');
    await sameAsCpu(be, (k, up) => k.reduce('max', up(values(999, 16, 'int'), [999], 'int32'), [0]), 0, 'int max');
    await sameAsCpu(be, (k, up) => [k.reduce('sum', up([], [0, 3]), [0]), k.reduce('sum', up([4], []), [])], 0, 'empty, scalar');
  });

  it('argmax / argmin: ties keep the first, long rows, int32, NaN', async () => {
    const be = backend();
    const x = values(6 * 11 * 4, 17).map((v) => Math.round(v * 2) / 2);
    for (const op of ARG_REDUCE_OPS) {
      for (const axis of [0, 1, 2]) await sameAsCpu(be, (k, up) => k.argReduce(op, up(x, [6, 11, 4]), axis), 0, `${op} ${axis}`);
      const long = values(2 * 5000, 18).map((v) => Math.round(v * 4));
      long[7000] = NaN;
      await sameAsCpu(be, (k, up) => k.argReduce(op, up(long, [2, 5000]), 1), 0, `${op} long`);
      await sameAsCpu(be, (k, up) => k.argReduce(op, up(values(300, 19, 'int'), [30, 10], 'int32'), 1), 0, `${op} int`);
      await sameAsCpu(be, (k, up) => k.argReduce(op, up([NaN, 1, 5, 2], [4]), 0), 0, `${op} nan first`);
    }
  });

  it('layout: permute, broadcastTo, slice, pad, concat (float32 and int32)', async () => {
    const be = backend();
    const x = values(2 * 3 * 5 * 7, 20);
    for (const dtype of ['float32', 'int32'] as const) {
      const v = dtype === 'int32' ? x.map((t) => Math.round(t * 10)) : x;
      await sameAsCpu(be, (k, up) => [
        k.permute(up(v, [2, 3, 5, 7], dtype), [3, 1, 0, 2]),
        k.permute(up(v, [2, 3, 5, 7], dtype), [0, 1, 3, 2]),
        k.permute(up(v, [210], dtype), [0]),
        k.broadcastTo(up(v.slice(0, 15), [3, 1, 5], dtype), [2, 3, 4, 5]),
        k.broadcastTo(up([7], [], dtype), [3, 2]),
        k.slice(up(v, [2, 3, 5, 7], dtype), [1, 0, 2, 3], [1, 3, 2, 4]),
        k.slice(up(v, [2, 3, 5, 7], dtype), [1, 0, 0, 0], [1, 3, 5, 7]),
        k.pad(up(v, [2, 3, 5, 7], dtype), [0, 1, 2, 0], [1, 0, 1, 3], -1.5),
        k.concat([up(v.slice(0, 30), [2, 3, 5], dtype), up(v.slice(30, 50), [2, 2, 5], dtype)], 1),
        k.concat([up(v.slice(0, 30), [2, 3, 5], dtype), up(v.slice(30, 42), [2, 3, 2], dtype)], 2),
        k.concat([up(v.slice(0, 30), [2, 3, 5], dtype), up(v.slice(30, 45), [1, 3, 5], dtype)], 0),
      ], 0, `layout ${dtype}`);
    }
  });

  // Both matmul kernels run on every device: the register-blocked one (chosen on CPU drivers such
  // as lavapipe) and the workgroup-memory tiled one (chosen on GPUs).
  for (const variant of ['cpu', 'tiled'] as const) {
    it(`matmul (${variant} kernel): odd sizes, all transposes, broadcast batch, folded batch, thin outputs, batch 1`, async () => {
      const be = variant === 'cpu' ? backend() : (tiled ??= await openBackend());
      be.rt.matmulVariant = variant;
      const cases: [number[], number[], boolean, boolean, number[]][] = [
        [[1, 1], [1, 1], false, false, [1, 1]],
        [[37, 53], [53, 29], false, false, [37, 29]],
        [[53, 37], [53, 29], true, false, [37, 29]],
        [[37, 53], [29, 53], false, true, [37, 29]],
        [[53, 37], [29, 53], true, true, [37, 29]],
        [[2, 1, 5, 7], [3, 7, 4], false, false, [2, 3, 5, 4]],
        [[32, 9], [5, 9, 67], false, false, [5, 32, 67]],
        [[5, 32, 67], [5, 9, 67], false, true, [5, 32, 9]],
        [[9, 32], [5, 32, 67], true, false, [5, 9, 67]],
        [[1, 64, 70], [70, 3], false, false, [1, 64, 3]],
        [[3, 200], [200, 130], false, false, [3, 130]],
        [[70, 33], [33, 300], false, false, [70, 300]],
        [[4, 0], [0, 3], false, false, [4, 3]],
      ];
      for (const [as, bs, ta, tb, os] of cases) {
        const a = values(as.reduce((p, d) => p * d, 1), 21);
        const b = values(bs.reduce((p, d) => p * d, 1), 22);
        await sameAsCpu(be, (k, up) => k.matmul(up(a, as), up(b, bs), ta, tb, os), 2e-5, `matmul ${as} ${bs} ${ta} ${tb}`);
      }
    });
  }

  it('im2col / col2im with stride, padding, odd sizes and batch 1', async () => {
    const be = backend();
    const gs = [geom(1, 2, 7, 7, 3, 3, 2, 2, 1, 1), geom(3, 3, 9, 6, 3, 2, 1, 2, 0, 1), geom(2, 1, 28, 28, 3, 3, 1, 1, 0, 0), geom(1, 4, 5, 5, 5, 5, 1, 1, 2, 2)];
    for (const g of gs) {
      const x = values(g.n * g.c * g.h * g.w, 23);
      const cols = values(g.n * g.c * g.kh * g.kw * g.oh * g.ow, 24);
      await sameAsCpu(be, (k, up) => [
        k.im2col(up(x, [g.n, g.c, g.h, g.w]), g),
        k.col2im(up(cols, [g.n, g.c * g.kh * g.kw, g.oh * g.ow]), g),
      ], 1e-5, `conv ${JSON.stringify(g)}`);
    }
  });

  it('pooling: max with indices (overlapping windows, padding), gather, scatter, avg and its adjoint', async () => {
    const be = backend();
    const gs = [geom(2, 3, 5, 5, 2, 2, 2, 2, 0, 0), geom(1, 2, 7, 6, 3, 3, 1, 2, 1, 1), geom(2, 32, 26, 26, 2, 2, 2, 2, 0, 0)];
    for (const g of gs) {
      const x = values(g.n * g.c * g.h * g.w, 25, 'distinct');
      const gy = values(g.n * g.c * g.oh * g.ow, 26);
      await sameAsCpu(be, (k, up) => {
        const xs = up(x, [g.n, g.c, g.h, g.w]);
        const r = k.maxPool2d(xs, g);
        const idx = { storage: r.idx, shape: [g.n, g.c, g.oh, g.ow], dtype: 'int32' as const };
        return [
          r.out, r.idx, k.maxPoolGather(xs, idx, g), k.maxPoolScatter(up(gy, [g.n, g.c, g.oh, g.ow]), idx, g),
          k.avgPool2d(xs, g), k.avgPool2dBackward(up(gy, [g.n, g.c, g.oh, g.ow]), g),
        ];
      }, 1e-5, `pool ${JSON.stringify(g)}`);
    }
  });

  it('batch norm fused forward and backward ([N, C, H, W] and [N, C])', async () => {
    const be = backend();
    for (const shape of [[5, 3, 7, 9], [1, 4, 3, 3], [33, 6], [64, 2, 40, 40]]) {
      const n = shape.reduce((p, d) => p * d, 1);
      const c = shape[1]!;
      const x = values(n, 27).map((v) => v * 3 + 1);
      const gy = values(n, 28);
      const gamma = values(c, 29, 'positive');
      const beta = values(c, 30);
      await sameAsCpu(be, (k, up) => {
        const f = k.batchNormForward(up(x, shape), up(gamma, [c]), up(beta, [c]), 1e-5);
        const m = { storage: f.mean, shape: [c], dtype: 'float32' as const };
        const v = { storage: f.variance, shape: [c], dtype: 'float32' as const };
        const b = k.batchNormBackward(up(x, shape), up(gy, shape), m, v, up(gamma, [c]), 1e-5);
        return [f.y, f.mean, f.variance, b.dx, b.dgamma, b.dbeta];
      }, 2e-5, `bn ${shape}`);
    }
  });

  it('softmax family: short rows (one invocation each) and long rows (one workgroup each)', async () => {
    const be = backend();
    for (const [rows, cols] of [[7, 5], [1, 10], [3, 1000], [300, 33]]) {
      const z = values(rows * cols, 31).map((v) => v * 4);
      const v = values(rows * cols, 32);
      const y = values(rows, 33, 'positive').map((t, i) => (i * 7 + Math.floor(t * 3)) % cols);
      await sameAsCpu(be, (k, up) => {
        const p = k.softmax(up(z, [rows, cols]));
        return [
          p, k.logSoftmax(up(z, [rows, cols])), k.softmaxHvp({ storage: p, shape: [rows, cols], dtype: 'float32' }, up(v, [rows, cols])),
          k.crossEntropy(up(z, [rows, cols]), up(y, [rows], 'int32')), k.softmaxCrossEntropyGrad(up(z, [rows, cols]), up(y, [rows], 'int32')),
        ];
      }, 2e-5, `softmax ${rows}x${cols}`);
      await sameAsCpu(be, (k, up) => [k.oneHot(up(y, [rows], 'int32'), cols, 'float32'), k.oneHot(up(y, [rows], 'int32'), cols, 'int32')], 0, 'oneHot');
    }
  });

  it('random: the same Philox numbers as the cpu backend (uniform and Bernoulli exactly)', async () => {
    const be = backend();
    const base = { seedLo: 0xdeadbeef, seedHi: 7, stream: 3, offset: 4294967290 };
    await sameAsCpu(be, (k) => k.random(4099, 'float32', { ...base, kind: 'uniform', a: 0, b: 1 }), 0, 'uniform01');
    // a + (b - a) u in float32 is within an ulp of the float64 value rounded once.
    await sameAsCpu(be, (k) => k.random(4099, 'float32', { ...base, kind: 'uniform', a: -1, b: 1 }), 1.2e-7, 'uniform-11');
    await sameAsCpu(be, (k) => k.random(4099, 'float32', { ...base, kind: 'bernoulli', a: 0.3, b: 0 }), 0, 'bernoulli');
    await sameAsCpu(be, (k) => k.random(4099, 'float32', { ...base, kind: 'bernoulli', a: 0.1, b: 0 }), 0, 'bernoulli 0.1');
    // General ranges: a and b - a are rounded to float32 first, so a few ulps apart.
    await sameAsCpu(be, (k) => k.random(4099, 'float32', { ...base, kind: 'uniform', a: -3.3, b: 5.1 }), 5e-7, 'uniform ab');
    // Box-Muller in float32 with exact range reduction: within a few float32 ulps of the float64 draw.
    const got = await sameAsCpu(be, (k) => k.random(100_003, 'float32', { ...base, kind: 'normal', a: 0.5, b: 2 }), 2e-6, 'normal');
    let mean = 0;
    for (const v of got[0]!) mean += v / got[0]!.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.05);
  });

  it('optimizer updates (sgd, momentum, nesterov, adagrad, rmsprop, adam) over three steps', async () => {
    const be = backend();
    const n = 1031;
    for (const rule of UPDATE_RULES) {
      await sameAsCpu(be, (k, up) => {
        const w = up(values(n, 34), [n]).storage;
        const s = [up(new Array(n).fill(0), [n]).storage, up(new Array(n).fill(0), [n]).storage];
        for (let step = 1; step <= 3; step++) {
          const g = up(values(n, 35 + step), [n]).storage;
          k.applyUpdate(rule, w, g, s.slice(0, UPDATE_STATES[rule]), {
            lr: 0.05, momentum: 0.9, beta1: 0.9, beta2: 0.99, eps: 1e-8, step, weightDecay: 0.01, decoupledDecay: step === 2 ? 0.1 : 0,
          });
        }
        return [w, ...s];
      }, 1e-5, rule);
    }
  });

  it('float64 is refused with a DTypeError: by upload, and by the op layer before any kernel', () => {
    const be = backend();
    expect(be.supportsDType('float64')).toBe(false);
    expect(() => be.upload(new Float64Array(3))).toThrow(/float64/);
    expect(() => g.full([3], 1, { device: 'webgpu', dtype: 'float64' })).toThrow(DTypeError);
    expect(() => g.full([3], 1, { device: 'webgpu', dtype: 'float64' })).toThrow(/float64/);
    const x = g.zeros([3], { device: 'webgpu' });
    const labels = g.tensor([0, 1, 2], [3], { dtype: 'int32', device: 'webgpu' });
    expect(() => g.oneHot(labels, 4, 'float64')).toThrow(/float64/);
    expect(() => g.cast(x, 'float64')).toThrow(/float64/);
    x.dispose();
    labels.dispose();
  });

  it('cpu reference sanity: the harness compares real values', async () => {
    const r = await cpu.read(cpu.unary('exp', { storage: cpu.upload(new Float32Array([0, 1])), shape: [2], dtype: 'float32' }, 0));
    expect(r[1]).toBeCloseTo(Math.E, 5);
  });
});
