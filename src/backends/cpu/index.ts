import type { DType, TypedArray } from '../../dtype.js';
import { allocTyped } from '../../dtype.js';
import type {
  ArgReduceOp, Backend, BatchNormBackwardResult, BatchNormDoubleBackwardResult, BatchNormForwardResult, BinaryOp, RandomParams, ReduceOp,
  Storage, TensorRef, UnaryOp, UpdateParams, UpdateRule, WindowGeom,
} from '../backend.js';
import type { Shape } from '../../shape.js';
import { philoxFill } from '../../random/philox.js';
import { HostStorage, arr } from './storage.js';
import * as ew from './elementwise.js';
import * as red from './reduce.js';
import * as lay from './layout.js';
import { matmul } from './matmul.js';
import { col2im, im2col } from './conv.js';
import { compositeConvKernels } from '../conv-composite.js';
import * as pool from './pool.js';
import * as bn from './batchnorm.js';
import * as sm from './softmax.js';
import { applyUpdate } from './optim.js';

/**
 * The TypeScript reference backend: plain loops over typed arrays, float32 and float64.
 * Every other backend is tested against it.
 */
export class CpuBackend implements Backend {
  readonly name = 'cpu' as const;
  readonly description = 'TypeScript reference (typed arrays, single thread)';
  private bytes = 0;

  supportsDType(_d: DType): boolean {
    return true;
  }

  private wrap(data: TypedArray): Storage {
    this.bytes += data.byteLength;
    return new HostStorage('cpu', data);
  }

  upload(data: TypedArray): Storage {
    return this.wrap(data.slice());
  }
  read(s: Storage): Promise<TypedArray> {
    return Promise.resolve(arr(s).slice());
  }
  readSync(s: Storage): TypedArray {
    return arr(s);
  }
  dispose(s: Storage): void {
    this.bytes -= arr(s).byteLength;
  }
  flush(): void {}
  liveBytes(): number {
    return this.bytes;
  }

  fill(length: number, value: number, dtype: DType): Storage {
    const a = allocTyped(dtype, length);
    if (value !== 0) a.fill(value);
    return this.wrap(a);
  }
  cast(x: TensorRef, dtype: DType): Storage {
    const src = arr(x);
    const out = allocTyped(dtype, src.length);
    if (dtype === 'int32') for (let i = 0; i < src.length; i++) out[i] = Math.trunc(src[i]!);
    else out.set(src);
    return this.wrap(out);
  }
  random(length: number, dtype: DType, p: RandomParams): Storage {
    const out = allocTyped(dtype, length);
    philoxFill(out, p);
    return this.wrap(out);
  }

  unary(op: UnaryOp, x: TensorRef, alpha: number): Storage {
    return this.wrap(ew.unary(op, x, alpha));
  }
  binary(op: BinaryOp, a: TensorRef, b: TensorRef, outShape: Shape): Storage {
    return this.wrap(ew.binary(op, a, b, outShape));
  }
  binaryScalar(op: BinaryOp, x: TensorRef, s: number, scalarLeft: boolean): Storage {
    return this.wrap(ew.binaryScalar(op, x, s, scalarLeft));
  }
  where(cond: TensorRef, a: TensorRef, b: TensorRef, outShape: Shape): Storage {
    return this.wrap(ew.where(cond, a, b, outShape));
  }

  reduce(op: ReduceOp, x: TensorRef, axes: readonly number[]): Storage {
    return this.wrap(red.reduce(op, x, axes));
  }
  argReduce(op: ArgReduceOp, x: TensorRef, axis: number): Storage {
    return this.wrap(red.argReduce(op, x, axis));
  }

  permute(x: TensorRef, perm: readonly number[]): Storage {
    return this.wrap(lay.permute(x, perm));
  }
  broadcastTo(x: TensorRef, outShape: Shape): Storage {
    return this.wrap(lay.broadcastTo(x, outShape));
  }
  slice(x: TensorRef, begin: readonly number[], size: readonly number[]): Storage {
    return this.wrap(lay.slice(x, begin, size));
  }
  pad(x: TensorRef, before: readonly number[], after: readonly number[], value: number): Storage {
    return this.wrap(lay.pad(x, before, after, value));
  }
  concat(xs: readonly TensorRef[], axis: number): Storage {
    return this.wrap(lay.concat(xs, axis));
  }

  matmul(a: TensorRef, b: TensorRef, transA: boolean, transB: boolean, outShape: Shape): Storage {
    return this.wrap(matmul(a, b, transA, transB, outShape));
  }

  im2col(x: TensorRef, g: WindowGeom): Storage {
    return this.wrap(im2col(x, g));
  }
  col2im(cols: TensorRef, g: WindowGeom): Storage {
    return this.wrap(col2im(cols, g));
  }
  // Convolution: the composite over this backend's own im2col/matmul/col2im/reduce kernels.
  readonly conv2d = compositeConvKernels.conv2d;
  readonly conv2dBackwardInput = compositeConvKernels.conv2dBackwardInput;
  readonly conv2dBackwardWeight = compositeConvKernels.conv2dBackwardWeight;

  maxPool2d(x: TensorRef, g: WindowGeom): { out: Storage; idx: Storage } {
    const r = pool.maxPool2d(x, g);
    return { out: this.wrap(r.out), idx: this.wrap(r.idx) };
  }
  readonly poolStacks = true;
  maxPoolGather(x: TensorRef, idx: TensorRef, g: WindowGeom): Storage {
    return this.wrap(pool.maxPoolGather(x, idx, g));
  }
  maxPoolScatter(gy: TensorRef, idx: TensorRef, g: WindowGeom): Storage {
    return this.wrap(pool.maxPoolScatter(gy, idx, g));
  }
  avgPool2d(x: TensorRef, g: WindowGeom): Storage {
    return this.wrap(pool.avgPool2d(x, g));
  }
  avgPool2dBackward(gy: TensorRef, g: WindowGeom): Storage {
    return this.wrap(pool.avgPool2dBackward(gy, g));
  }

  readonly batchNormStacks = true;
  readonly batchNormMask = true;
  batchNormForward(x: TensorRef, gamma: TensorRef, beta: TensorRef, eps: number): BatchNormForwardResult {
    const r = bn.batchNormForward(x, gamma, beta, eps);
    return { y: this.wrap(r.y), mean: this.wrap(r.mean), variance: this.wrap(r.variance) };
  }
  batchNormDoubleBackward(
    x: TensorRef, g: TensorRef, u: TensorRef, mean: TensorRef, variance: TensorRef, gamma: TensorRef, eps: number, mask?: TensorRef,
  ): BatchNormDoubleBackwardResult {
    const r = bn.batchNormDoubleBackward(x, g, u, mean, variance, gamma, eps, mask);
    return { gx: this.wrap(r.gx), gg: this.wrap(r.gg), dgamma: this.wrap(r.dgamma) };
  }
  batchNormBackward(
    x: TensorRef, gy: TensorRef, mean: TensorRef, variance: TensorRef, gamma: TensorRef, eps: number, mask?: TensorRef,
  ): BatchNormBackwardResult {
    const r = bn.batchNormBackward(x, gy, mean, variance, gamma, eps, mask);
    return { dx: this.wrap(r.dx), dgamma: this.wrap(r.dgamma), dbeta: this.wrap(r.dbeta) };
  }

  softmax(x: TensorRef): Storage {
    return this.wrap(sm.softmax(x));
  }
  logSoftmax(x: TensorRef): Storage {
    return this.wrap(sm.logSoftmax(x));
  }
  softmaxHvp(p: TensorRef, v: TensorRef): Storage {
    return this.wrap(sm.softmaxHvp(p, v));
  }
  crossEntropy(logits: TensorRef, labels: TensorRef): Storage {
    return this.wrap(sm.crossEntropy(logits, labels));
  }
  softmaxCrossEntropyGrad(logits: TensorRef, labels: TensorRef): Storage {
    return this.wrap(sm.softmaxCrossEntropyGrad(logits, labels));
  }
  oneHot(labels: TensorRef, classes: number, dtype: DType): Storage {
    return this.wrap(sm.oneHot(labels, classes, allocTyped(dtype, labels.storage.length * classes)));
  }

  applyUpdate(rule: UpdateRule, param: Storage, grad: Storage, state: readonly Storage[], p: UpdateParams): void {
    applyUpdate(rule, arr(param), arr(grad), state.map((s) => arr(s)), p);
  }
}
