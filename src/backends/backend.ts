/**
 * The kernel contract. Every backend (TypeScript cpu, native cpu, webgpu, cuda) implements this
 * interface; a missing kernel is a compile error. Kernels are pure functions of their inputs that
 * return freshly allocated storage, except the optimizer updates, which write in place.
 *
 * Conventions
 * - Tensors are dense, row-major (C order), NCHW for images; a `TensorRef` carries the storage with
 *   the shape and dtype the kernel must read it as (reshape never copies, so one storage can be seen
 *   under several shapes).
 * - Kernels never validate user input: the op layer (`src/ops/`) does that and throws typed errors.
 * - Output dtype equals the input dtype unless the kernel says otherwise.
 * - All writes are synchronous enqueues; only `read` may wait for the device.
 */
import type { DType, TypedArray } from '../dtype.js';
import type { Shape } from '../shape.js';

export type DeviceName = 'cpu' | 'native' | 'webgpu' | 'cuda';

/** Opaque handle to device memory. Each backend has its own concrete class. */
export interface Storage {
  /** Name of the backend that owns this storage. */
  readonly device: DeviceName;
  /** Number of elements. */
  readonly length: number;
  readonly dtype: DType;
}

export interface TensorRef {
  readonly storage: Storage;
  readonly shape: Shape;
  readonly dtype: DType;
}

/** The op names (and their kernel codes) live in one table: see opcodes.ts. */
import type { ArgReduceOp, BinaryOp, RandomKind, ReduceOp, UnaryOp, UpdateRule } from './opcodes.js';
export type { ArgReduceOp, BinaryOp, RandomKind, ReduceOp, UnaryOp, UpdateRule };

/** Geometry of a 2-D sliding window over NCHW input (conv, im2col, pooling). */
export interface WindowGeom {
  n: number;
  c: number;
  h: number;
  w: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  /** Zero padding on top/bottom (ph) and left/right (pw). */
  ph: number;
  pw: number;
  oh: number;
  ow: number;
}

export interface RandomParams {
  kind: RandomKind;
  /** 64-bit seed as two u32 words (Philox key). */
  seedLo: number;
  seedHi: number;
  /** Stream id (third Philox counter word). */
  stream: number;
  /** Element offset into the stream (first counter word base). */
  offset: number;
  /** uniform: [low, high); normal: mean, std; bernoulli: p = probability of 1. */
  a: number;
  b: number;
}

/**
 * Hyper-parameters of one fused optimizer step; see `src/optim/` for the equations.
 * `weightDecay` is coupled L2 (added to the gradient, thesis eq. 30); `decoupledDecay` multiplies
 * the parameter by (1 - lr * decoupledDecay) before the update (AdamW style).
 */
export interface UpdateParams {
  lr: number;
  momentum: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Adam step count t >= 1 (for bias correction). */
  step: number;
  weightDecay: number;
  decoupledDecay: number;
}

export interface BatchNormForwardResult {
  y: Storage;
  /** Per-channel batch mean and biased variance (shape [C]). */
  mean: Storage;
  variance: Storage;
}

export interface BatchNormDoubleBackwardResult {
  gx: Storage;
  gg: Storage;
  dgamma: Storage;
}

export interface BatchNormBackwardResult {
  dx: Storage;
  dgamma: Storage;
  dbeta: Storage;
}

export interface Backend {
  readonly name: DeviceName;
  /** Human-readable description of the device (adapter, GPU name, CPU features). */
  readonly description: string;
  /** True when the "device" is a CPU emulating one (lavapipe, SwiftShader): `auto` ranks it below native. */
  readonly software?: boolean;
  supportsDType(d: DType): boolean;

  // ---- memory ----
  upload(data: TypedArray): Storage;
  /** Copy to the host. Resolves after all enqueued work that writes `s` is done. */
  read(s: Storage): Promise<TypedArray>;
  /** Synchronous read, for backends whose memory is host memory; others return null. */
  readSync(s: Storage): TypedArray | null;
  dispose(s: Storage): void;
  /** Flush enqueued work (a no-op for synchronous backends). */
  flush(): void;
  /** Bytes currently held by live storages (not counting pool caches). */
  liveBytes(): number;

  // ---- creation / conversion ----
  fill(length: number, value: number, dtype: DType): Storage;
  cast(x: TensorRef, dtype: DType): Storage;
  /** Counter-based Philox 4x32-10 random numbers; identical on every backend for equal params. */
  random(length: number, dtype: DType, p: RandomParams): Storage;

  // ---- elementwise ----
  unary(op: UnaryOp, x: TensorRef, alpha: number): Storage;
  /** out = a (op) b with NumPy broadcasting to `outShape`. */
  binary(op: BinaryOp, a: TensorRef, b: TensorRef, outShape: Shape): Storage;
  /** out = scalarLeft ? s (op) x : x (op) s. */
  binaryScalar(op: BinaryOp, x: TensorRef, s: number, scalarLeft: boolean): Storage;
  /** out = cond != 0 ? a : b, all three broadcast to `outShape`. */
  where(cond: TensorRef, a: TensorRef, b: TensorRef, outShape: Shape): Storage;

  // ---- reductions ----
  /** Reduce over `axes` (sorted, unique); the output has the input's shape with those axes set to 1. */
  reduce(op: ReduceOp, x: TensorRef, axes: readonly number[]): Storage;
  /** Index (int32) of the max/min along one axis; the output has that axis set to 1. */
  argReduce(op: ArgReduceOp, x: TensorRef, axis: number): Storage;

  // ---- layout ----
  /** out[i_perm[0], ..., i_perm[r-1]] = x[i_0, ..., i_{r-1}]: the output shape is x.shape permuted. */
  permute(x: TensorRef, perm: readonly number[]): Storage;
  /** Read x broadcast to `outShape`. */
  broadcastTo(x: TensorRef, outShape: Shape): Storage;
  /** out = x[begin[d] : begin[d] + size[d]] along every dim d. */
  slice(x: TensorRef, begin: readonly number[], size: readonly number[]): Storage;
  /** Pad with `value`: out dim d = before[d] + x dim d + after[d]. The adjoint of slice. */
  pad(x: TensorRef, before: readonly number[], after: readonly number[], value: number): Storage;
  concat(xs: readonly TensorRef[], axis: number): Storage;

  // ---- linear algebra ----
  /**
   * Batched matrix product out[..., M, N] = op(a)[..., M, K] @ op(b)[..., K, N], op = transpose
   * of the last two dims when the flag is set. Batch dims broadcast to `outShape` minus its last two.
   */
  matmul(a: TensorRef, b: TensorRef, transA: boolean, transB: boolean, outShape: Shape): Storage;

  // ---- convolution as an adjoint pair ----
  /** [N, C, H, W] -> [N, C*kh*kw, oh*ow]; row index = (c*kh + i)*kw + j; zero outside the image. */
  im2col(x: TensorRef, g: WindowGeom): Storage;
  /** The adjoint of im2col: [N, C*kh*kw, oh*ow] -> [N, C, H, W], summing overlaps. */
  col2im(cols: TensorRef, g: WindowGeom): Storage;

  // ---- fused convolution: the three partial derivatives of T(x, W, gy) = <conv(x, W), gy> ----
  // Each equals its composite over im2col/matmul/col2im (`conv-composite.ts`, the test oracle);
  // backends without a faster kernel use that composite. x [N, C, H, W], w [O, C, kh, kw],
  // gy [N, O, oh, ow], all of one float dtype.
  /** y = reshape(W[O, C*kh*kw] @ im2col(x)) -> [N, O, oh, ow] (no bias). */
  conv2d(x: TensorRef, w: TensorRef, g: WindowGeom): Storage;
  /** The input gradient col2im(W^T @ gy) -> [N, C, H, W]. */
  conv2dBackwardInput(gy: TensorRef, w: TensorRef, g: WindowGeom): Storage;
  /** The weight gradient sum_n gy[n] @ im2col(x)[n]^T -> [O, C, kh, kw]. */
  conv2dBackwardWeight(x: TensorRef, gy: TensorRef, g: WindowGeom): Storage;

  // ---- pooling ----
  /** Max over each window; idx (int32) holds the flat position h*W + w of the max in its plane (first max wins). */
  maxPool2d(x: TensorRef, g: WindowGeom): { out: Storage; idx: Storage };
  /**
   * Whether maxPoolGather and maxPoolScatter take a stack of K inputs [K, ...] through the one set
   * of indices (the batched vjp's cotangents), returning [K, ...] outputs. Backends without it get
   * one call per block (src/ops/pool.ts).
   */
  readonly poolStacks?: boolean;
  /** out[n,c,i,j] = x[n,c, idx[n,c,i,j]]: [N,C,H,W] -> [N,C,oh,ow]. */
  maxPoolGather(x: TensorRef, idx: TensorRef, g: WindowGeom): Storage;
  /** The adjoint of maxPoolGather: [N,C,oh,ow] -> [N,C,H,W], summing where several windows chose one position. */
  maxPoolScatter(gy: TensorRef, idx: TensorRef, g: WindowGeom): Storage;
  /** Average over each window (padding counts as zeros, divisor kh*kw). */
  avgPool2d(x: TensorRef, g: WindowGeom): Storage;
  /** The adjoint of avgPool2d: [N,C,oh,ow] -> [N,C,H,W]. */
  avgPool2dBackward(gy: TensorRef, g: WindowGeom): Storage;

  // ---- batch norm over [N, C, *] per channel ----
  /** Training-mode forward with batch statistics: y = gamma * (x - mean) / sqrt(var + eps) + beta. */
  batchNormForward(x: TensorRef, gamma: TensorRef, beta: TensorRef, eps: number): BatchNormForwardResult;
  /**
   * Whether batchNormBackward and batchNormDoubleBackward take a stack of K cotangents: gy (g and
   * u) shaped [K, ...x.shape], each block with its own per-channel sums (the batched vjp's
   * statistics per cotangent). batchNormBackward then returns dx like gy and dgamma, dbeta [K, C];
   * batchNormDoubleBackward returns gg like g, and gx (like x) and dgamma ([C]) summed over the K
   * blocks in block order. Backends without it get one call per block (src/ops/batchnorm.ts).
   */
  readonly batchNormStacks?: boolean;
  /**
   * Whether batchNormBackward and batchNormDoubleBackward take a `mask` (batchNormRelu: relu's
   * output after the batch norm, shaped like x, broadcast over a stack's blocks): the cotangent
   * g they read is then where(mask, g, 0), and batchNormDoubleBackward's gg (the gradient of the
   * unmasked g) is where(mask, gg, 0); the same bits as the where() before and after the unmasked
   * kernels, without their passes over the stack. Backends without it get the where() ops.
   */
  readonly batchNormMask?: boolean;
  /** Fused first-order backward of batchNormForward given the same batch statistics. */
  batchNormBackward(
    x: TensorRef,
    gy: TensorRef,
    mean: TensorRef,
    variance: TensorRef,
    gamma: TensorRef,
    eps: number,
    mask?: TensorRef,
  ): BatchNormBackwardResult;

  /**
   * Optional fused second derivative (`src/ops/batchnorm.ts` derives it): for dx = gamma s P(g) of
   * batchNormBackward and a cotangent u of dx, the gradients of <u, dx> with respect to x (gx, shaped
   * like x), g (gg) and gamma (dgamma, [C]). Per channel, with xhat = (x - mean) s and means over
   * the channel's M values, G = mean(g xhat), U = mean(u xhat), Q = mean(u g):
   *   gx = -gamma s^2 ((u - mean u) G + (g - mean g) U + xhat (Q - mean u mean g - 3 U G))
   *   gg = gamma s (u - mean u - xhat U),   dgamma = M s (Q - mean u mean g - U G).
   * Backends without it get the same formula in recorded ops.
   */
  batchNormDoubleBackward?(
    x: TensorRef,
    g: TensorRef,
    u: TensorRef,
    mean: TensorRef,
    variance: TensorRef,
    gamma: TensorRef,
    eps: number,
    mask?: TensorRef,
  ): BatchNormDoubleBackwardResult;

  // ---- softmax family, over the last axis of a [rows, cols] view ----
  softmax(x: TensorRef): Storage;
  logSoftmax(x: TensorRef): Storage;
  /** The softmax Jacobian (= cross-entropy Hessian) product, row-wise: p*v - p*(p.v). */
  softmaxHvp(p: TensorRef, v: TensorRef): Storage;
  /** Per-row cross-entropy -log softmax(z)[label] for logits [N, C] and int32 labels [N]; output [N]. */
  crossEntropy(logits: TensorRef, labels: TensorRef): Storage;
  /** The fused gradient softmax(z) - onehot(label), [N, C]. */
  softmaxCrossEntropyGrad(logits: TensorRef, labels: TensorRef): Storage;
  /** [N] int32 -> [N, C] in `dtype`. */
  oneHot(labels: TensorRef, classes: number, dtype: DType): Storage;

  // ---- optimizers (in place) ----
  /**
   * One fused update of `param` from `grad` with state buffers (momentum/velocity: [v]; adagrad and
   * rmsprop: [accumulator]; adam: [m, v]; sgd: []), all of param's length, updated in place.
   */
  applyUpdate(rule: UpdateRule, param: Storage, grad: Storage, state: readonly Storage[], p: UpdateParams): void;
}
