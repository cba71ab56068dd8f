/**
 * gradreg's public API shared by the Node entry (index.ts) and the browser entry (browser.ts):
 * tensors, ops, autograd and backend selection. Importing it has no side effect: the entries
 * install the cpu reference and register the other backends. The layers above ops inside src/
 * (regularizers, experiments) import this module, never an entry.
 */
import type { DeviceName } from './backends/backend.js';
import { engine, type AutoReport } from './engine.js';
import { ArgumentError } from './errors.js';

export { Tensor } from './tensor.js';
export type { GradNode } from './tensor.js';
export type { DType, FloatDType, TypedArray } from './dtype.js';
export type { Backend, DeviceName, Storage, TensorRef, WindowGeom, UpdateParams, UpdateRule } from './backends/backend.js';
export * from './errors.js';
export { tidy, keep, noGrad, withGrad, memory, type MemoryInfo } from './scope.js';
export * from './ops/creation.js';
export * from './ops/elementwise.js';
export { sum, mean, max, min, argmax, argmin, sumTo, variance } from './ops/reduce.js';
export { reshape, flatten, expandDims, squeeze, permute, transpose, broadcastTo, slice, pad, concat, stack, cast, detach, toDevice } from './ops/layout.js';
export { matmul, matmulT } from './ops/matmul.js';
export { conv2d, im2col, col2im, windowGeom, type Conv2dOptions, type WindowOptions, type Pair } from './ops/conv.js';
export { maxPool2d, maxPool2dWithIndices, maxPoolGather, avgPool2d, globalAvgPool2d, type PoolOptions } from './ops/pool.js';
export { batchNorm, batchNormRelu, batchNormBackwardComposite, batchNormTrainComposite, setBatchNormRelu, type BatchNormOptions, type BatchNormReluMode } from './ops/batchnorm.js';
export { softmax, logSoftmax, softmaxHvp, softmaxHvpComposite } from './ops/softmax.js';
export { crossEntropy, mse, binaryCrossEntropy, oneHot, type Reduction } from './ops/loss.js';
export { dropout, gaussianNoise, type DropoutOptions } from './ops/random.js';
export { assign } from './ops/core.js';
export { grad, type GradOptions } from './autograd/grad.js';
export { vjp, jvp, hvp, valueAndGrad, type TransformOptions, type VjpOptions } from './autograd/functional.js';
export { gradcheck, GradcheckError, type GradcheckOptions, type GradcheckReport } from './autograd/gradcheck.js';

export type { AutoReport };

/**
 * Make `name` the default device for new tensors, initializing its backend. `'auto'` tries webgpu,
 * then cuda, then native, then cpu, and returns which it picked and why others were skipped.
 */
export async function setBackend(name: DeviceName | 'auto'): Promise<AutoReport> {
  if (name === 'auto') {
    const r = await engine.pickAuto();
    engine.defaultDevice = r.picked;
    return r;
  }
  if (!['cpu', 'native', 'webgpu', 'cuda'].includes(name)) {
    throw new ArgumentError(`setBackend: unknown device '${name}' (expected cpu, native, webgpu, cuda or auto)`);
  }
  await engine.initBackend(name);
  engine.defaultDevice = name;
  return { picked: name, skipped: [] };
}

/** The default device for new tensors. */
export function getBackend(): DeviceName {
  return engine.defaultDevice;
}

/** Initialize a backend without making it the default. */
export async function initBackend(name: DeviceName): Promise<void> {
  await engine.initBackend(name);
}

export function registerBackend(name: DeviceName, factory: () => Promise<import('./backends/backend.js').Backend>): void {
  engine.registerBackend(name, factory);
}

/** Description of an initialized backend's device. */
export function deviceInfo(name: DeviceName = engine.defaultDevice): string {
  return engine.backend(name, 'deviceInfo').description;
}
