/**
 * The WebGPU backend: every kernel of the contract as a WGSL compute shader on Dawn. Kernels
 * enqueue work and return at once; only `read` waits for the device. float32 and int32 only.
 */
import type { DType, TypedArray } from '../../dtype.js';
import { DTypeError } from '../../errors.js';
import type {
  ArgReduceOp, Backend, BatchNormBackwardResult, BatchNormForwardResult, BinaryOp, RandomParams, ReduceOp,
  Storage, TensorRef, UnaryOp, UpdateParams, UpdateRule, WindowGeom,
} from '../backend.js';
import type { Shape } from '../../shape.js';
import { Runtime, type RuntimeStats } from './runtime.js';
import * as ew from './elementwise.js';
import * as lay from './layout.js';
import * as red from './reduce.js';
import * as fl from './fill.js';
import * as mm from './matmul.js';
import * as cv from './conv.js';
import * as pl from './pool.js';
import * as bn from './batchnorm.js';
import * as sm from './softmax.js';
import { random } from './random.js';
import { applyUpdate } from './optim.js';
import { compositeConvKernels } from '../conv-composite.js';

/**
 * Storage holds 32-bit words only. The op layer checks every new tensor's dtype against
 * supportsDType (src/ops/core.ts backendFor), so kernels never see float64; upload is the one
 * entry for data and refuses it itself.
 */
function noF64(op: string, ...ds: DType[]): void {
  for (const d of ds) {
    if (d === 'float64') throw new DTypeError(`${op}: float64 is not supported on device 'webgpu' (use float32, or device 'cpu')`);
  }
}

export class WebGPUBackend implements Backend {
  readonly name = 'webgpu' as const;
  readonly description: string;
  /** A CPU Vulkan driver (lavapipe, SwiftShader) rather than a GPU: `auto` ranks it below native. */
  readonly software: boolean;

  constructor(readonly rt: Runtime) {
    this.description = `WebGPU (Dawn): ${rt.description}`;
    this.software = rt.cpuDriver;
  }

  supportsDType(d: DType): boolean {
    return d === 'float32' || d === 'int32';
  }

  /** Buffer and pipeline counters (live storages, pool bytes, ...) for leak checks and benchmarks. */
  stats(): RuntimeStats {
    return this.rt.stats();
  }

  /** Resolves when all enqueued work has finished on the device. */
  finish(): Promise<void> {
    return this.rt.finish();
  }

  upload(data: TypedArray): Storage {
    const d: DType = data instanceof Float32Array ? 'float32' : data instanceof Int32Array ? 'int32' : 'float64';
    noF64('upload', d);
    return this.rt.upload(data, d);
  }
  read(s: Storage): Promise<TypedArray> {
    return this.rt.read(s);
  }
  readSync(_s: Storage): TypedArray | null {
    return null;
  }
  dispose(s: Storage): void {
    this.rt.release(s as Parameters<Runtime['release']>[0]);
  }
  flush(): void {
    this.rt.flush();
  }
  liveBytes(): number {
    return this.rt.liveBytes();
  }

  fill(length: number, value: number, dtype: DType): Storage {
    return fl.fill(this.rt, length, value, dtype);
  }
  cast(x: TensorRef, dtype: DType): Storage {
    return fl.cast(this.rt, x, dtype);
  }
  random(length: number, dtype: DType, p: RandomParams): Storage {
    if (dtype === 'int32') throw new DTypeError('random: the webgpu backend draws float32 values only, got int32');
    return random(this.rt, length, dtype, p);
  }

  unary(op: UnaryOp, x: TensorRef, alpha: number): Storage {
    return ew.unary(this.rt, op, x, alpha);
  }
  binary(op: BinaryOp, a: TensorRef, b: TensorRef, outShape: Shape): Storage {
    return ew.binary(this.rt, op, a, b, outShape);
  }
  binaryScalar(op: BinaryOp, x: TensorRef, s: number, scalarLeft: boolean): Storage {
    return ew.binaryScalar(this.rt, op, x, s, scalarLeft);
  }
  where(cond: TensorRef, a: TensorRef, b: TensorRef, outShape: Shape): Storage {
    return ew.where(this.rt, cond, a, b, outShape);
  }

  reduce(op: ReduceOp, x: TensorRef, axes: readonly number[]): Storage {
    return red.reduce(this.rt, op, x, axes);
  }
  argReduce(op: ArgReduceOp, x: TensorRef, axis: number): Storage {
    return red.argReduce(this.rt, op, x, axis);
  }

  permute(x: TensorRef, perm: readonly number[]): Storage {
    return lay.permute(this.rt, x, perm);
  }
  broadcastTo(x: TensorRef, outShape: Shape): Storage {
    return lay.broadcastTo(this.rt, x, outShape);
  }
  slice(x: TensorRef, begin: readonly number[], size: readonly number[]): Storage {
    return lay.slice(this.rt, x, begin, size);
  }
  pad(x: TensorRef, before: readonly number[], after: readonly number[], value: number): Storage {
    return lay.pad(this.rt, x, before, after, value);
  }
  concat(xs: readonly TensorRef[], axis: number): Storage {
    return lay.concat(this.rt, xs, axis);
  }

  matmul(a: TensorRef, b: TensorRef, transA: boolean, transB: boolean, outShape: Shape): Storage {
    if (a.dtype === 'int32') throw new DTypeError('matmul: the webgpu backend multiplies float32 matrices only, got int32');
    return mm.matmul(this.rt, a, b, transA, transB, outShape);
  }

  im2col(x: TensorRef, g: WindowGeom): Storage {
    return cv.im2col(this.rt, x, g);
  }
  col2im(cols: TensorRef, g: WindowGeom): Storage {
    return cv.col2im(this.rt, cols, g);
  }
  // Convolution: the composite over this backend's own im2col/matmul/col2im/reduce kernels.
  readonly conv2d = compositeConvKernels.conv2d;
  readonly conv2dBackwardInput = compositeConvKernels.conv2dBackwardInput;
  readonly conv2dBackwardWeight = compositeConvKernels.conv2dBackwardWeight;

  maxPool2d(x: TensorRef, g: WindowGeom): { out: Storage; idx: Storage } {
    return pl.maxPool2d(this.rt, x, g);
  }
  maxPoolGather(x: TensorRef, idx: TensorRef, g: WindowGeom): Storage {
    return pl.maxPoolGather(this.rt, x, idx, g);
  }
  maxPoolScatter(gy: TensorRef, idx: TensorRef, g: WindowGeom): Storage {
    return pl.maxPoolScatter(this.rt, gy, idx, g);
  }
  avgPool2d(x: TensorRef, g: WindowGeom): Storage {
    return pl.avgPool2d(this.rt, x, g);
  }
  avgPool2dBackward(gy: TensorRef, g: WindowGeom): Storage {
    return pl.avgPool2dBackward(this.rt, gy, g);
  }

  batchNormForward(x: TensorRef, gamma: TensorRef, beta: TensorRef, eps: number): BatchNormForwardResult {
    return bn.batchNormForward(this.rt, x, gamma, beta, eps);
  }
  batchNormBackward(
    x: TensorRef, gy: TensorRef, mean: TensorRef, variance: TensorRef, gamma: TensorRef, eps: number,
  ): BatchNormBackwardResult {
    return bn.batchNormBackward(this.rt, x, gy, mean, variance, gamma, eps);
  }

  softmax(x: TensorRef): Storage {
    return sm.softmax(this.rt, x);
  }
  logSoftmax(x: TensorRef): Storage {
    return sm.logSoftmax(this.rt, x);
  }
  softmaxHvp(p: TensorRef, v: TensorRef): Storage {
    return sm.softmaxHvp(this.rt, p, v);
  }
  crossEntropy(logits: TensorRef, labels: TensorRef): Storage {
    return sm.crossEntropy(this.rt, logits, labels);
  }
  softmaxCrossEntropyGrad(logits: TensorRef, labels: TensorRef): Storage {
    return sm.softmaxCrossEntropyGrad(this.rt, logits, labels);
  }
  oneHot(labels: TensorRef, classes: number, dtype: DType): Storage {
    return sm.oneHot(this.rt, labels, classes, dtype);
  }

  applyUpdate(rule: UpdateRule, param: Storage, grad: Storage, state: readonly Storage[], p: UpdateParams): void {
    applyUpdate(this.rt, rule, param, grad, state, p);
  }
}
