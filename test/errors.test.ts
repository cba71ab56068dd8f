/**
 * Bad input throws a typed error whose message names the op, what it expected and what it got.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as g from '../src/index.js';
import type { DeviceName, Tensor } from '../src/index.js';
import { CpuBackend } from '../src/backends/cpu/index.js';

/** Throws an error of class `cls` whose message matches every pattern. */
function expectError(fn: () => unknown, cls: new (...a: never[]) => Error, ...patterns: (RegExp | string)[]): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected a throw').toBeInstanceOf(cls);
  const msg = (caught as Error).message;
  for (const p of patterns) {
    if (typeof p === 'string') expect(msg).toContain(p);
    else expect(msg).toMatch(p);
  }
}

describe('shape errors', () => {
  it('conv2d: mismatched channels name both shapes', () => {
    const x = g.zeros([50, 3, 32, 32]);
    const w = g.zeros([32, 1, 3, 3]);
    expectError(() => g.conv2d(x, w), g.ShapeError, 'conv2d: input has 3 channels but weight expects 1 (input [50,3,32,32], weight [32,1,3,3])');
  });

  it('conv2d: bad bias, bad ranks, a window that does not fit', () => {
    const x = g.zeros([1, 2, 5, 5]);
    const w = g.zeros([4, 2, 3, 3]);
    expectError(() => g.conv2d(x, w, g.zeros([3])), g.ShapeError, 'conv2d: bias must have shape [4], got [3]');
    expectError(() => g.conv2d(g.zeros([2, 5, 5]), w), g.ShapeError, 'conv2d: input must be NCHW (rank 4), got [2,5,5]');
    expectError(() => g.conv2d(x, g.zeros([4, 2, 3])), g.ShapeError, 'conv2d: weight must be [outC, inC, kH, kW], got [4,2,3]');
    expectError(() => g.conv2d(x, g.zeros([4, 2, 7, 7])), g.ShapeError, 'conv2d: a 7x7 window with padding 0,0 does not fit input [1,2,5,5]');
    expectError(() => g.conv2d(x, w, null, { stride: 0 }), g.ArgumentError, 'conv2d: stride must be an integer >= 1', 'got 0');
  });

  it('matmul: inner dims and ranks', () => {
    expectError(() => g.matmul(g.zeros([2, 3]), g.zeros([4, 5])), g.ShapeError, 'matmul: inner dims differ: [2,3] @ [4,5] (3 vs 4)');
    expectError(() => g.matmulT(g.zeros([2, 3]), g.zeros([4, 5]), true, false), g.ShapeError, '[2,3]^T @ [4,5] (2 vs 4)');
    expectError(() => g.matmul(g.zeros([3]), g.zeros([3, 2])), g.ShapeError, 'matmul: operands need rank >= 2, got [3] and [3,2]');
    expectError(() => g.matmul(g.zeros([2, 2, 3]), g.zeros([3, 3, 1])), g.ShapeError, 'matmul: shapes [2] and [3] do not broadcast');
  });

  it('broadcasting failures name both shapes and the dim', () => {
    expectError(() => g.add(g.zeros([2, 3]), g.zeros([4])), g.ShapeError, 'add: shapes [2,3] and [4] do not broadcast (dim 1: 3 vs 4)');
    expectError(() => g.mul(g.zeros([2, 3]), g.zeros([3, 3])), g.ShapeError, 'mul: shapes [2,3] and [3,3] do not broadcast (dim 0: 2 vs 3)');
    expectError(() => g.broadcastTo(g.zeros([3, 2]), [3, 3]), g.ShapeError, 'broadcastTo', '[3,2]', '[3,3]');
    expectError(() => g.broadcastTo(g.zeros([2, 3]), [3]), g.ShapeError, 'broadcastTo: cannot broadcast [2,3] to [3]');
    expectError(() => g.where(g.zeros([2]), g.zeros([3]), g.zeros([3])), g.ShapeError, 'where: shapes [2] and [3] do not broadcast');
    expectError(() => g.sumTo(g.zeros([2, 3]), [3, 2]), g.ShapeError, 'sumTo: cannot sum shape [2,3] down to [3,2]');
  });

  it('layout ops: reshape, slice, concat, squeeze, pad, tensor data', () => {
    expectError(() => g.reshape(g.zeros([2, 3]), [4, 2]), g.ShapeError, 'reshape: cannot reshape [2,3] (6 elements) to [4,2] (8 elements)');
    expectError(() => g.reshape(g.zeros([2, 3]), [-1, -1]), g.ShapeError, 'reshape: at most one dim may be -1');
    expectError(() => g.slice(g.zeros([4, 5]), [3, 0], [2, 5]), g.ShapeError, 'slice: begin [3,0] size [2,5] is out of bounds for shape [4,5]');
    expectError(() => g.concat([g.zeros([2, 3]), g.zeros([2, 4])], 0), g.ShapeError, 'concat: shapes [2,3] and [2,4] differ outside axis 0');
    expectError(() => g.squeeze(g.zeros([2, 3]), [1]), g.ShapeError, 'squeeze: dim 1 of [2,3] has size 3, not 1');
    expectError(() => g.pad(g.zeros([2, 3]), [[1, 1]]), g.ShapeError, 'pad: expected 2 [before, after] pairs for shape [2,3], got 1');
    expectError(() => g.pad(g.zeros([2]), [[-1, 0]]), g.ArgumentError, 'pad: paddings must be non-negative integers');
    expectError(() => g.tensor([1, 2, 3], [2, 2]), g.ShapeError, 'tensor: 3 values do not fill shape [2,2] (4 elements)');
    expectError(() => g.tensor([[1, 2], [3]]), g.ShapeError, 'tensor: ragged nested array');
    expectError(() => g.zeros([2, -1]), g.ShapeError, 'full: shape entries must be non-negative integers, got [2,-1]');
  });

  it('pooling, batch norm, softmax-Hessian and losses', () => {
    expectError(() => g.maxPool2d(g.zeros([2, 5, 5]), { kernel: 2 }), g.ShapeError, 'maxPool2d: expected NCHW input of rank 4, got [2,5,5]');
    expectError(() => g.avgPool2d(g.zeros([1, 1, 5, 5]), { kernel: 2, padding: 2 }), g.ShapeError, 'avgPool2d: padding 2,2 must be at most half the kernel 2x2');
    expectError(
      () => g.batchNorm(g.zeros([4, 3]), g.ones([2]), g.zeros([3]), null, null, { training: true }),
      g.ShapeError,
      'batchNorm: gamma must have shape [3] for input [4,3], got [2]',
    );
    expectError(() => g.batchNorm(g.zeros([1, 3]), g.ones([3]), g.zeros([3]), null, null, { training: true }), g.ShapeError, 'batchNorm: training needs more than one value per channel, got input [1,3]');
    expectError(() => g.batchNorm(g.zeros([2, 3]), g.ones([3]), g.zeros([3]), null, null, { training: false }), g.ArgumentError, 'batchNorm: eval mode needs runMean and runVar');
    expectError(() => g.softmaxHvp(g.zeros([2, 3]), g.zeros([3, 2])), g.ShapeError, 'softmaxHvp: p and v must share a shape of rank >= 1, got [2,3] and [3,2]');
    expectError(() => g.mse(g.zeros([2, 3]), g.zeros([3, 2])), g.ShapeError, 'mse: prediction [2,3] and target [3,2] differ');
    expectError(() => g.crossEntropy(g.zeros([4]), g.tensor([0], [1], { dtype: 'int32' })), g.ShapeError, 'crossEntropy: logits must be [N, C], got [4]');
    expectError(() => g.crossEntropy(g.zeros([2, 3]), g.tensor([0, 1, 2], [3], { dtype: 'int32' })), g.ShapeError, 'crossEntropy: labels must have shape [2], got [3]');
  });

  it('item() of a tensor with more than one element', async () => {
    await expect(g.zeros([2]).item()).rejects.toThrow(g.ShapeError);
    await expect(g.zeros([2]).item()).rejects.toThrow('item: expected a tensor with one element, got shape [2]');
    expect(await g.tensor([4.5], [1, 1]).item()).toBe(4.5);
  });
});

describe('data errors: labels out of range', () => {
  it('crossEntropy and oneHot name the label, its position and the valid range', () => {
    const z = g.zeros([3, 5]);
    expectError(() => g.crossEntropy(z, g.tensor([0, 5, 1], [3], { dtype: 'int32' })), g.DataError, 'crossEntropy: label 5 at position 1 is out of range [0, 5)');
    expectError(() => g.crossEntropy(z, g.tensor([0, 1, -1], [3], { dtype: 'int32' })), g.DataError, 'crossEntropy: label -1 at position 2 is out of range [0, 5)');
    expectError(() => g.oneHot(g.tensor([3], [1], { dtype: 'int32' }), 3), g.DataError, 'oneHot: label 3 at position 0 is out of range [0, 3)');
    // labels computed on the device (no host copy) are checked too
    const computed = g.cast(g.tensor([0, 7, 1], [3], { dtype: 'float32' }), 'int32');
    expectError(() => g.crossEntropy(z, computed), g.DataError, 'label 7 at position 1');
  });
});

describe('dtype errors', () => {
  it('mixed dtypes, int inputs to float ops, float labels, int tensors requiring grad', () => {
    expectError(() => g.add(g.zeros([2]), g.zeros([2], { dtype: 'float64' })), g.DTypeError, 'add: inputs must share a dtype, got float32 and float64');
    expectError(() => g.exp(g.zeros([2], { dtype: 'int32' })), g.DTypeError, 'exp: input must be float32 or float64, got int32');
    expectError(() => g.matmul(g.zeros([2, 2], { dtype: 'int32' }), g.zeros([2, 2], { dtype: 'int32' })), g.DTypeError, 'matmul: input must be float32 or float64, got int32');
    expectError(() => g.conv2d(g.zeros([1, 1, 3, 3]), g.zeros([1, 1, 3, 3], { dtype: 'float64' })), g.DTypeError, 'conv2d: inputs must share a dtype, got float32 and float64');
    expectError(() => g.crossEntropy(g.zeros([2, 3]), g.zeros([2])), g.DTypeError, 'crossEntropy: labels must be int32 class indices, got float32');
    expectError(() => g.zeros([2], { dtype: 'int32', requiresGrad: true }), g.DTypeError, 'full: only float tensors can require gradients, got int32');
    expectError(() => g.gradcheck((x) => x, [g.zeros([2])]), g.DTypeError, 'gradcheck: float inputs must be float64 on cpu', 'got float32 on cpu');
    expectError(() => g.mean(g.zeros([2], { dtype: 'int32' })), g.DTypeError, 'mean: input must be float32 or float64, got int32');
  });

  it('an unknown dtype name (float16) is a DTypeError naming the op and the option, not a TypeError', () => {
    const f16 = 'float16' as unknown as 'float32';
    expectError(() => g.tensor([1, 2], [2], { dtype: f16 }), g.DTypeError, "tensor: option dtype must be one of float32, float64, int32, got 'float16'");
    expectError(() => g.zeros([2], { dtype: f16 }), g.DTypeError, "full: option dtype must be one of float32, float64, int32, got 'float16'");
    expectError(() => g.randn([2], { dtype: f16 }), g.DTypeError, "randn: option dtype must be one of", "got 'float16'");
    expectError(() => g.cast(g.zeros([2]), f16), g.DTypeError, "cast: dtype must be one of float32, float64, int32, got 'float16'");
    expectError(() => g.oneHot(g.zeros([1], { dtype: 'int32' }), 3, f16), g.DTypeError, "oneHot: dtype must be float32 or float64, got 'float16'");
    expectError(() => new g.nn.Linear(2, 3, { dtype: f16 }), g.DTypeError, "option dtype must be float32 or float64, got 'float16'");
  });
});

describe('a device without float64', () => {
  const name = 'fake32' as DeviceName;
  beforeAll(async () => {
    // A float32-only device: the cpu kernels behind a backend that refuses float64.
    const cpu = new CpuBackend();
    const fake = Object.create(cpu, {
      name: { value: name },
      description: { value: 'float32-only test device' },
      supportsDType: { value: (d: string) => d !== 'float64' },
    }) as CpuBackend;
    g.registerBackend(name, async () => fake);
    await g.initBackend(name);
  });

  it('creation, cast and transfer in float64 throw DTypeError naming the op, the dtype and the device', () => {
    expectError(() => g.tensor([1, 2], [2], { dtype: 'float64', device: name }), g.DTypeError, "tensor: dtype float64 is not supported on device 'fake32'");
    expectError(() => g.zeros([2], { dtype: 'float64', device: name }), g.DTypeError, "full: dtype float64 is not supported on device 'fake32'");
    expectError(() => g.randn([2], { dtype: 'float64', device: name }), g.DTypeError, "randn: dtype float64 is not supported on device 'fake32'");
    const t = g.tensor([1, 2], [2], { device: name });
    expect(t.device).toBe(name);
    expect(Array.from(t.dataSync())).toEqual([1, 2]);
    expectError(() => g.cast(t, 'float64'), g.DTypeError, "cast: dtype float64 is not supported on device 'fake32'");
  });

  it('toDevice refuses float64 for it', async () => {
    await expect(g.toDevice(g.zeros([2], { dtype: 'float64' }), name)).rejects.toThrow(/toDevice: dtype float64 is not supported on device 'fake32'/);
  });

  it('inputs on different devices throw DeviceError', () => {
    const a = g.zeros([2], { device: name });
    expectError(() => g.add(a, g.zeros([2])), g.DeviceError, 'add: all inputs must be on one device, got fake32 and cpu');
  });

  it('unknown devices and duplicate registrations are rejected', () => {
    expectError(() => g.zeros([2], { device: 'nowhere' as DeviceName }), g.DeviceError, "full: unknown device 'nowhere'");
    expectError(() => g.registerBackend(name, async () => new CpuBackend()), g.ArgumentError, "registerBackend: a backend named 'fake32' is already registered");
  });
});

describe('disposed tensors', () => {
  it('use after dispose() throws DisposedError naming the op and the tensor', () => {
    const x = g.tensor([1, 2], [2]);
    x.dispose();
    expect(x.isDisposed).toBe(true);
    expectError(() => g.add(x, 1), g.DisposedError, /^add: tensor #\d+ \[2\] float32 was used after dispose\(\)$/);
    expectError(() => g.matmul(g.reshape(x, [1, 2]), g.zeros([2, 1])), g.DisposedError, 'reshape: tensor #');
    expectError(() => x.dataSync(), g.DisposedError, 'dataSync: tensor #');
    expectError(() => g.grad(x, [x]), g.DisposedError, 'grad: tensor #');
    // disposing twice is harmless
    x.dispose();
  });

  it('a tensor that tidy() disposed cannot be used afterwards; the returned one can', () => {
    let inner: Tensor | null = null;
    const kept = g.tidy(() => {
      inner = g.ones([3]);
      return g.mul(inner, 2);
    });
    expect(Array.from(kept.dataSync())).toEqual([2, 2, 2]);
    expectError(() => g.sum(inner!), g.DisposedError, 'sum: tensor #', 'was used after dispose()');
  });
});

describe('assign', () => {
  it('names the target and the source; int32 labels assigned new values are validated by the new values', () => {
    expectError(() => g.assign(g.zeros([2, 3]), g.zeros([5])), g.ShapeError, 'assign: target float32 [2,3] on cpu cannot take float32 [5] on cpu');
    expectError(() => g.assign(g.zeros([2]), g.zeros([2], { dtype: 'float64' })), g.DTypeError, 'cannot take float64 [2]');
    const labels = g.tensor([0, 1], [2], { dtype: 'int32' });
    g.assign(labels, g.tensor([0, 9], [2], { dtype: 'int32' }));
    expectError(() => g.crossEntropy(g.zeros([2, 3]), labels), g.DataError, 'label 9 at position 1');
  });
});

describe('bad axes and arguments', () => {
  it('reductions, softmax, argmax, concat, permute, flatten', () => {
    const x = g.zeros([2, 3]);
    expectError(() => g.sum(x, 2), g.ArgumentError, 'sum: axis 2 is out of range for a tensor of rank 2');
    expectError(() => g.mean(x, [-3]), g.ArgumentError, 'mean: axis -3 is out of range for a tensor of rank 2');
    expectError(() => g.max(x, [1, -1]), g.ArgumentError, 'max: axis -1 given twice');
    expectError(() => g.sum(x, 0.5), g.ArgumentError, 'sum: axis 0.5 is out of range');
    expectError(() => g.softmax(x, 2), g.ArgumentError, 'softmax: axis 2 is out of range for a tensor of rank 2');
    expectError(() => g.logSoftmax(x, -3), g.ArgumentError, 'logSoftmax: axis -3 is out of range for a tensor of rank 2');
    expectError(() => g.argmax(x, 5), g.ArgumentError, 'argmax: axis 5 is out of range');
    expectError(() => g.concat([x, x], 3), g.ArgumentError, 'concat: axis 3 is out of range');
    expectError(() => g.permute(x, [0, 0]), g.ArgumentError, 'permute: [0,0] is not a permutation of the 2 dims of [2,3]');
    expectError(() => g.expandDims(x, 4), g.ArgumentError, 'expandDims: axis 4 out of range for rank 2');
    expectError(() => g.softmax(g.scalar(1)), g.ShapeError, 'softmax: needs a tensor of rank >= 1, got a scalar');
  });

  it('option values', () => {
    const x = g.zeros([2, 3]);
    expectError(() => g.dropout(x, 1, { training: true }), g.ArgumentError, 'dropout: p must be in [0, 1), got 1');
    expectError(() => g.gaussianNoise(x, -1), g.ArgumentError, 'gaussianNoise: std must be >= 0, got -1');
    expectError(() => g.bernoulli([2], 1.5), g.ArgumentError, 'bernoulli: p must be in [0, 1], got 1.5');
    expectError(() => g.manualSeed(-3), g.ArgumentError, 'seed: expected a non-negative safe integer, got -3');
    expectError(() => g.oneHot(g.tensor([0], [1], { dtype: 'int32' }), 0), g.ArgumentError, 'oneHot: classes must be a positive integer, got 0');
    expectError(() => g.batchNorm(x, g.ones([3]), g.zeros([3]), null, null, { training: true, eps: 0 }), g.ArgumentError, 'batchNorm: eps must be > 0, got 0');
    expectError(() => g.add(2 as unknown as Tensor, 3), g.ArgumentError, 'add: at least one operand must be a tensor, got two numbers');
  });
});
