/**
 * The WebGPU runtime: splitting work to fit the binding size (forced small here, so every split
 * path runs on modest shapes), the window planner itself, typed errors for a lost device, a shader
 * that does not compile, a failing pipeline and a missing adapter, and a real eval batch larger
 * than one binding.
 */
import { describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import { DeviceError } from '../../src/errors.js';
import { openBackend, type WebGPUBackend } from '../../src/backends/webgpu/index.js';
import { kernel } from '../../src/backends/webgpu/runtime.js';
import { batchChunks, coalesce, linearChunks, planStrided } from '../../src/backends/webgpu/plan.js';
import { magic } from '../../src/backends/webgpu/launch.js';
import type { WindowGeom } from '../../src/backends/backend.js';
import { gpu, inCI, noAdapterReason, skipGpu, skipNote } from './env.js';
import { sameAsCpu, values } from './harness.js';

function geom(n: number, c: number, h: number, w: number, k: number, s: number, p: number): WindowGeom {
  const o = (x: number): number => Math.floor((x + 2 * p - k) / s) + 1;
  return { n, c, h, w, kh: k, kw: k, sh: s, sw: s, ph: p, pw: p, oh: o(h), ow: o(w) };
}

describe('webgpu adapter', () => {
  // In CI (CI=true) a missing adapter fails here with the reason; elsewhere the WebGPU tests skip.
  it.skipIf(!inCI && gpu === null)(`a WebGPU adapter exists${gpu === null ? ` (none: ${noAdapterReason})` : ''}`, () => {
    expect(gpu, `no WebGPU adapter: ${noAdapterReason}`).not.toBeNull();
    expect(gpu!.description).toMatch(/WebGPU/);
  });
});

describe('window planner (no device)', () => {
  const lim = { maxElems: 1000, align: 4 };

  it('magic numbers divide exactly below 2^31', () => {
    const mulhi = (a: number, b: number): number => Number((BigInt(a) * BigInt(b)) >> 32n);
    for (const d of [1, 2, 3, 5, 7, 9, 26, 121, 676, 1000, 65537, 2147483647]) {
      const [m, s] = magic(d);
      for (const n of [0, 1, d - 1, d, d + 1, 12345, 2147483646, 2147483647]) {
        expect(m === 0 ? n : mulhi(n, m) >>> s).toBe(Math.floor(n / d));
      }
    }
  });

  it('coalesces contiguous and broadcast runs and drops unit dims', () => {
    expect(coalesce([2, 3, 4], [[12, 4, 1], [12, 4, 1]])).toEqual({ shape: [24], strides: [[1], [1]] });
    expect(coalesce([2, 1, 3, 4], [[12, 12, 4, 1], [0, 0, 4, 1]])).toEqual({ shape: [2, 12], strides: [[12, 1], [0, 1]] });
    expect(coalesce([1, 1], [[1, 1]])).toEqual({ shape: [1], strides: [[0]] });
  });

  it('linear chunks stay aligned and cover the range', () => {
    const c = linearChunks(2500, lim);
    expect(c).toEqual([{ start: 0, length: 1000 }, { start: 1000, length: 1000 }, { start: 2000, length: 500 }]);
  });

  it('strided chunks bind windows that fit and cover every element once', () => {
    const shape = [30, 7, 50];
    const ops = [
      { strides: [350, 50, 1], base: 0, length: 10500 },
      { strides: [0, 1, 0], base: 0, length: 7 },
    ];
    const chunks = planStrided(shape, ops, lim);
    let covered = 0;
    for (const ch of chunks) {
      expect(ch.windows[0]!.length).toBeLessThanOrEqual(1000);
      expect(ch.windows[0]!.start % 4).toBe(0);
      expect(ch.windows[1]).toEqual({ start: 0, length: 7 });
      covered += ch.shape.reduce((p, d) => p * d, 1);
    }
    expect(covered).toBe(10500);
  });

  it('batch chunks split only the operands that need it', () => {
    const c = batchChunks(10, [{ perItem: 300, length: 3000 }, { perItem: 0, length: 50 }], lim, 'test');
    expect(c.map((x) => x.count)).toEqual([3, 3, 3, 1]);
    expect(c[1]!.windows[0]).toEqual({ start: 900, length: 900 });
    expect(c[1]!.windows[1]).toEqual({ start: 0, length: 50 });
    expect(() => batchChunks(2, [{ perItem: 5000, length: 10000 }], lim, 'big')).toThrow(/binding limit/);
  });
});

describe.skipIf(skipGpu)(`webgpu runtime${skipNote}`, () => {
  let small: WebGPUBackend | null = null;
  const smallBackend = async (): Promise<WebGPUBackend> => (small ??= await openBackend({ maxBindingBytes: 64 * 1024 }));

  it('splits every kernel family when buffers exceed the binding size (limit forced to 64 KiB)', async () => {
    const be = await smallBackend();
    expect(be.rt.lim.maxElems).toBe(16384);
    const n = 50_003;
    const x = values(n, 40);
    await sameAsCpu(be, (k, up) => [k.unary('exp', up(x, [n]), 0), k.binaryScalar('mul', up(x, [n]), 3, false), k.fill(n, 2, 'float32')], 1e-5, 'linear');
    await sameAsCpu(be, (k, up) => k.cast(up(x, [n]), 'int32'), 0, 'cast');
    const a = values(300 * 7 * 50, 41);
    await sameAsCpu(be, (k, up) => [
      k.binary('add', up(a, [300, 7, 50]), up(a.slice(0, 7), [7, 1]), [300, 7, 50]),
      k.binary('mul', up(a, [300, 7, 50]), up(a, [300, 7, 50]), [300, 7, 50]),
      k.where(up(a.map((v) => (v > 0 ? 1 : 0)), [300, 7, 50]), up(a, [300, 7, 50]), up(a.slice(0, 50), [50]), [300, 7, 50]),
    ], 1e-6, 'broadcast');
    await sameAsCpu(be, (k, up) => [
      k.permute(up(a, [300, 7, 50]), [2, 0, 1]),
      k.permute(up(a, [150, 700]), [1, 0]),
      k.broadcastTo(up(a.slice(0, 350), [1, 7, 50]), [300, 7, 50]),
      k.slice(up(a, [300, 7, 50]), [10, 1, 3], [250, 5, 40]),
      k.pad(up(a, [300, 7, 50]), [1, 0, 2], [0, 2, 1], 0.5),
      k.concat([up(a, [300, 7, 50]), up(a.slice(0, 300 * 7 * 3), [300, 7, 3])], 2),
    ], 0, 'layout');
    const r = values(200 * 300, 42);
    for (const op of ['sum', 'max'] as const) {
      await sameAsCpu(be, (k, up) => [
        k.reduce(op, up(r, [200, 300]), [0]), k.reduce(op, up(r, [200, 300]), [1]), k.reduce(op, up(r, [200, 300]), [0, 1]),
        k.reduce(op, up(r, [20, 10, 300]), [0, 2]),
      ], 1e-5, `reduce ${op}`);
    }
    await sameAsCpu(be, (k, up) => [k.argReduce('argmax', up(r, [200, 300]), 1), k.argReduce('argmin', up(r, [200, 300]), 0)], 0, 'arg');
    const cnn = geom(30, 3, 16, 16, 3, 1, 1);
    const img = values(30 * 3 * 16 * 16, 43);
    const cols = values(30 * 27 * 256, 44);
    await sameAsCpu(be, (k, up) => [k.im2col(up(img, [30, 3, 16, 16]), cnn), k.col2im(up(cols, [30, 27, 256]), cnn)], 1e-5, 'conv');
    const pg = geom(30, 8, 16, 16, 2, 2, 0);
    const px = values(30 * 8 * 256, 45, 'distinct');
    await sameAsCpu(be, (k, up) => {
      const xs = up(px, [30, 8, 16, 16]);
      const m = k.maxPool2d(xs, pg);
      const idx = { storage: m.idx, shape: [30, 8, 8, 8], dtype: 'int32' as const };
      const gy = up(values(30 * 8 * 64, 46), [30, 8, 8, 8]);
      return [m.out, m.idx, k.maxPoolGather(xs, idx, pg), k.maxPoolScatter(gy, idx, pg), k.avgPool2d(xs, pg), k.avgPool2dBackward(gy, pg)];
    }, 1e-5, 'pool');
    await sameAsCpu(be, (k, up) => {
      const bx = up(values(64 * 4 * 144, 47), [64, 4, 12, 12]);
      const f = k.batchNormForward(bx, up([1, 2, 0.5, 1.5], [4]), up([0, 1, -1, 0.5], [4]), 1e-5);
      const m = { storage: f.mean, shape: [4], dtype: 'float32' as const };
      const v = { storage: f.variance, shape: [4], dtype: 'float32' as const };
      const b = k.batchNormBackward(bx, up(values(64 * 4 * 144, 48), [64, 4, 12, 12]), m, v, up([1, 2, 0.5, 1.5], [4]), 1e-5);
      return [f.y, f.mean, f.variance, b.dx, b.dgamma, b.dbeta];
    }, 2e-5, 'batchnorm');
    const z = values(2000 * 10, 49);
    const y = values(2000, 50, 'positive').map((t, i) => (i + Math.floor(t * 4)) % 10);
    await sameAsCpu(be, (k, up) => [
      k.softmax(up(z, [2000, 10])), k.crossEntropy(up(z, [2000, 10]), up(y, [2000], 'int32')),
      k.softmaxCrossEntropyGrad(up(z, [2000, 10]), up(y, [2000], 'int32')), k.oneHot(up(y, [2000], 'int32'), 10, 'float32'),
    ], 2e-5, 'softmax');
    await sameAsCpu(be, (k) => [
      k.random(n, 'float32', { kind: 'uniform', a: 0, b: 1, seedLo: 5, seedHi: 0, stream: 1, offset: 77 }),
      k.random(n, 'float32', { kind: 'bernoulli', a: 0.5, b: 0, seedLo: 5, seedHi: 0, stream: 1, offset: 77 }),
    ], 0, 'random');
    await sameAsCpu(be, (k, up) => {
      const w = up(x, [n]).storage;
      const s = [up(new Array(n).fill(0), [n]).storage, up(new Array(n).fill(0), [n]).storage];
      k.applyUpdate('adam', w, up(values(n, 51), [n]).storage, s, { lr: 0.01, momentum: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 1, weightDecay: 0, decoupledDecay: 0 });
      return [w, ...s];
    }, 1e-5, 'optim');
  });

  it('splits matmul (both kernels) by batch, folded batch and row blocks when operands exceed the binding size', async () => {
    const be = await smallBackend();
    const cases: [number[], number[], boolean, boolean, number[]][] = [
      [[40, 30, 50], [50, 20], false, false, [40, 30, 20]],
      [[16, 27], [40, 27, 100], false, false, [40, 16, 100]],
      [[40, 16, 100], [40, 27, 100], false, true, [40, 16, 27]],
      [[500, 40], [40, 30], false, false, [500, 30]],
      [[40, 500], [40, 30], true, false, [500, 30]],
      [[40, 500], [40, 600], true, false, [500, 600]],
      [[300, 70], [600, 70], false, true, [300, 600]],
    ];
    for (const variant of ['cpu', 'tiled'] as const) {
      be.rt.matmulVariant = variant;
      for (const [as, bs, ta, tb, os] of cases) {
        const av = values(as.reduce((p, d) => p * d, 1), 52);
        const bv = values(bs.reduce((p, d) => p * d, 1), 53);
        await sameAsCpu(be, (k, up) => k.matmul(up(av, as), up(bv, bs), ta, tb, os), 2e-5, `${variant} matmul ${as} ${bs}`);
      }
    }
  });

  it('a lost device fails reads and later kernels with a DeviceError instead of hanging', async () => {
    const be = await openBackend();
    const s = be.fill(1000, 1, 'float32');
    be.rt.destroy();
    await expect(be.read(s)).rejects.toBeInstanceOf(DeviceError);
    expect(() => be.fill(10, 1, 'float32')).toThrow(DeviceError);
    expect(() => be.fill(10, 1, 'float32')).toThrow(/device lost/);
  });

  it('a shader that does not compile is a DeviceError naming its kernel family', async () => {
    await expect(openBackend({ shaderOverride: { softmax: 'fn broken( {' } })).rejects.toThrow(/softmax.*failed to compile/);
  });

  it('a pipeline that fails validation is a DeviceError naming the kernel at the next read', async () => {
    const be = await openBackend();
    const out = be.fill(4, 0, 'float32');
    be.rt.dispatch(kernel('matmul', 'matmul', 'rrw'), { WX: 0 }, new Uint32Array(32), [be.rt.bind(out), be.rt.bind(out), be.rt.bind(out)], [1, 1, 1]);
    await expect(be.read(out)).rejects.toThrow(/kernel matmul\.matmul failed/);
    be.rt.destroy();
  });

  it('no adapter is a DeviceError with the reason', async () => {
    await expect(openBackend({ dawnFlags: ['adapter=no-such-adapter-anywhere'] })).rejects.toBeInstanceOf(DeviceError);
  });

  it('an eval batch whose im2col exceeds the device binding size: 1000 CIFAR-sized images through the small CNN', async () => {
    const dev = { device: 'webgpu' as const };
    const seedT = (shape: number[], s: number): g.Tensor => g.mul(g.randn(shape, { ...dev, seed: s }), 0.1);
    const w = [seedT([32, 3, 3, 3], 1), seedT([64, 32, 3, 3], 2), seedT([64, 64, 3, 3], 3), seedT([64, 64], 4), seedT([64, 10], 5)];
    const net = (x: g.Tensor): g.Tensor => {
      let h = g.maxPool2d(g.relu(g.conv2d(x, w[0]!)), { kernel: 2 });
      h = g.maxPool2d(g.relu(g.conv2d(h, w[1]!)), { kernel: 2 });
      h = g.relu(g.conv2d(h, w[2]!));
      h = g.mean(h, [2, 3]);
      return g.matmul(g.relu(g.matmul(h, w[3]!)), w[4]!);
    };
    const x = g.rand([1000, 3, 32, 32], { ...dev, seed: 9 });
    const big = await g.noGrad(() => g.tidy(() => net(x))).data();
    // The same images in small batches (no splitting) must give the same logits.
    for (const first of [0, 500, 996]) {
      const part = await g.noGrad(() => g.tidy(() => net(g.slice(x, [first, 0, 0, 0], [4, 3, 32, 32])))).data();
      for (let i = 0; i < part.length; i++) expect(big[first * 10 + i]).toBeCloseTo(part[i]!, 4);
    }
    x.dispose();
    w.forEach((t) => t.dispose());
  });
});
