/**
 * The native CPU backend: every kernel of the contract runs in the C++ addon (threads over all
 * cores, SIMD GEMM with run-time ISA dispatch) on host memory shared with JavaScript. Each method
 * computes shapes and strides, writes them to the parameter block and makes one N-API call.
 */
import { readFileSync } from 'node:fs';
import { bytesPerElement, type DType, type TypedArray } from '../../dtype.js';
import { DTypeError, ShapeError } from '../../errors.js';
import type {
  ArgReduceOp, Backend, BatchNormBackwardResult, BatchNormDoubleBackwardResult, BatchNormForwardResult, BinaryOp, RandomParams, ReduceOp, Storage,
  TensorRef, UnaryOp, UpdateParams, UpdateRule, WindowGeom,
} from '../backend.js';
import { broadcastStrides, sizeOf, stridesOf, type Shape } from '../../shape.js';
import type { Isa, NativeAddon } from './addon.js';
import { ParamBlock } from '../params.js';
import { ARG_REDUCE_CODE, BINARY_CODE, RANDOM_CODE, REDUCE_CODE, UNARY_CODE, UPDATE_CODE } from '../opcodes.js';
import { BufferPool, NativeStorage, type LazyProduct } from './buffers.js';
import { checkMask, stackBlocks } from '../cpu/batchnorm.js';
import { poolBlocks } from '../cpu/pool.js';

const UNARY = UNARY_CODE;
const BINARY = BINARY_CODE;
const REDUCE = REDUCE_CODE;
const RULE = UPDATE_CODE;
const RANDOM = RANDOM_CODE;

/** The kernels index shapes with fixed-size arrays of this many dims. */
const MAX_RANK = 16;

function storageOf(t: TensorRef | Storage): NativeStorage {
  return ('storage' in t ? t.storage : t) as NativeStorage;
}

function checkRank(op: string, r: number): void {
  if (r > MAX_RANK) throw new ShapeError(`${op}: the native backend supports tensors of rank <= ${MAX_RANK}, got rank ${r}`);
}

function cpuModel(): string {
  try {
    const m = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    return m ? m[1]!.trim() : 'unknown CPU';
  } catch {
    return 'unknown CPU';
  }
}

export type ConvAlgorithm = 'auto' | 'im2col' | 'implicit' | 'direct' | 'winograd' | 'flat' | 'winograd4' | 'polyphase';

export class NativeBackend implements Backend {
  readonly name = 'native' as const;
  readonly description: string;
  /** The addon's parameter block, shared with C++ (native/cpu/addon.cc reads a call's numbers from it). */
  private readonly P: ParamBlock;
  private readonly pool: BufferPool;

  constructor(private readonly addon: NativeAddon) {
    this.P = new ParamBlock(addon.params);
    this.pool = new BufferPool(addon);
    const info = addon.info();
    this.description = `native CPU addon (${info.isa} GEMM, ${info.threads} thread${info.threads === 1 ? '' : 's'}, ${cpuModel()})`;
  }

  // ---- extras for tests and benchmarks (not part of the contract) ----

  /** The GEMM micro-kernel in use and those this CPU can run. */
  isaInfo(): { isa: Isa; supported: Isa[]; threads: number } {
    return this.addon.info();
  }
  /** Force a GEMM micro-kernel; false when this CPU cannot run it. */
  setIsa(isa: Isa): boolean {
    return this.addon.setIsa(isa);
  }
  setThreads(n: number): void {
    this.addon.setThreads(n);
  }
  /**
   * Force the fused convolution's algorithm (tests and benchmarks): 'implicit' GEMM (pixels along
   * the vector) or 'direct' convolution (output channels along the vector) over the padded image
   * wherever they apply (float32, padding < kernel, not 1x1; the input gradient of a strided
   * convolution stays on im2col; with AVX-512, stride-1 layers with C*kh*kw < 32 take the direct
   * row kernels instead: the input gradient for kernel heights 1 to 5 and 7, the forward and
   * weight gradient for 3x3 and 5x5), 'winograd' F(2x2, 3x3) wherever it applies (float32 3x3
   * stride-1 layers with padding <= 2 under the AVX-512 micro-kernel; auto elsewhere), 'im2col'
   * chunks always, 'flat' (the whole batch's output pixels as the rows of one GEMM, float32 and
   * float64, every geometry) always, 'winograd4' F(4x4, 3x3) where 'winograd' applies,
   * 'polyphase' the input gradient of strided layers as one stride-1 product per phase (float32
   * under an AVX-512 or AVX2 micro-kernel; the automatic rules elsewhere, Winograd aside), or 'auto'.
   * Returns the previous setting.
   */
  setConvAlgorithm(a: ConvAlgorithm): ConvAlgorithm {
    const modes = ['auto', 'im2col', 'implicit', 'direct', 'winograd', 'flat', 'winograd4', 'polyphase'] as const;
    return modes[this.addon.setConvMode(modes.indexOf(a))] ?? 'auto';
  }
  probePeakGflops(iters = 2e7): number | null {
    return this.addon.probePeak(iters);
  }
  poolStats(): ReturnType<BufferPool['stats']> {
    return this.pool.stats();
  }

  // ---- deferred batched products ----
  //
  // A conv weight gradient is matmul(g[n], cols[n]^T) over the batch, immediately summed over the
  // batch by sumTo. A fully batched matmul is therefore recorded, not computed: a batch-sum reduce
  // of it runs one GEMM that accumulates over the batch (no [n, M, N] intermediate, no reduce pass);
  // any other use computes it first. Its operands are pinned until then, so they are neither reused
  // from the pool nor updated in place.

  /** The address of a storage's data, computing a deferred product first. */
  private ptr(t: TensorRef | Storage): number {
    const s = storageOf(t);
    if (s.lazy) this.materialize(s);
    return s.ptr;
  }

  private materialize(s: NativeStorage): void {
    const z = s.lazy!;
    // Kernel setup may be half written into the parameter block: keep it.
    const saved = this.P.save();
    const a = this.ptr(z.a), b = this.ptr(z.b);
    this.P.reset().dtype(s.dtype).num(a, b, s.ptr).flag(z.transA).flag(z.transB).num(z.m, z.n, z.k, 1, z.batch, z.batch, z.batch);
    this.addon.matmul();
    this.P.restore(saved);
    this.unpin(s);
  }

  private unpin(s: NativeStorage): void {
    const z = s.lazy;
    if (!z) return;
    s.lazy = null;
    for (const o of [z.a, z.b]) {
      o.readers?.delete(s);
      if (o.releasePending && (o.readers?.size ?? 0) === 0) {
        o.releasePending = false;
        this.pool.recycle(o);
      }
    }
  }

  private defer(out: NativeStorage, z: LazyProduct): void {
    out.lazy = z;
    for (const o of [z.a, z.b]) (o.readers ??= new Set()).add(out);
  }

  /** Before writing `s` in place, compute the deferred products that read it. */
  private settleReaders(s: NativeStorage): void {
    if (!s.readers || s.readers.size === 0) return;
    for (const r of [...s.readers]) this.materialize(r);
  }

  // ---- memory ----

  supportsDType(_d: DType): boolean {
    return true;
  }
  private alloc(dtype: DType, n: number): NativeStorage {
    return this.pool.alloc(dtype, n);
  }
  upload(data: TypedArray): Storage {
    const d: DType = data instanceof Float32Array ? 'float32' : data instanceof Float64Array ? 'float64' : 'int32';
    const s = this.alloc(d, data.length);
    s.data.set(data);
    return s;
  }
  read(s: Storage): Promise<TypedArray> {
    this.ptr(s);
    return Promise.resolve((s as NativeStorage).data.slice());
  }
  readSync(s: Storage): TypedArray {
    this.ptr(s);
    return (s as NativeStorage).data;
  }
  dispose(s: Storage): void {
    const ns = s as NativeStorage;
    this.unpin(ns);
    this.pool.release(ns);
  }
  flush(): void {}
  liveBytes(): number {
    return this.pool.live;
  }

  // ---- creation / conversion ----

  fill(length: number, value: number, dtype: DType): Storage {
    const out = this.alloc(dtype, length);
    this.P.reset().dtype(dtype).num(out.ptr, length, value);
    this.addon.fill();
    return out;
  }
  cast(x: TensorRef, dtype: DType): Storage {
    const n = x.storage.length;
    const out = this.alloc(dtype, n);
    this.P.reset().dtype(x.dtype).dtype(dtype).num(this.ptr(x), out.ptr, n);
    this.addon.cast();
    return out;
  }
  random(length: number, dtype: DType, p: RandomParams): Storage {
    const out = this.alloc(dtype, length);
    this.P.reset().dtype(dtype).num(out.ptr, length, RANDOM[p.kind], p.seedLo >>> 0, p.seedHi >>> 0, p.stream >>> 0, p.offset, p.a, p.b);
    this.addon.random();
    return out;
  }

  // ---- elementwise ----

  unary(op: UnaryOp, x: TensorRef, alpha: number): Storage {
    const n = x.storage.length;
    const out = this.alloc(x.dtype, n);
    this.P.reset().dtype(x.dtype).num(UNARY[op], this.ptr(x), out.ptr, n, alpha);
    this.addon.unary();
    return out;
  }
  binary(op: BinaryOp, a: TensorRef, b: TensorRef, outShape: Shape): Storage {
    const r = outShape.length, ra = a.shape.length, rb = b.shape.length;
    checkRank('binary', r);
    const out = this.alloc(a.dtype, sizeOf(outShape));
    this.P.reset().dtype(a.dtype).num(BINARY[op], this.ptr(a), this.ptr(b), out.ptr, r, ra, rb).dims(outShape).dims(a.shape).dims(b.shape);
    this.addon.binary();
    return out;
  }
  binaryScalar(op: BinaryOp, x: TensorRef, s: number, scalarLeft: boolean): Storage {
    const n = x.storage.length;
    const out = this.alloc(x.dtype, n);
    this.P.reset().dtype(x.dtype).num(BINARY[op], this.ptr(x), out.ptr, n, s).flag(scalarLeft);
    this.addon.binaryScalar();
    return out;
  }
  where(cond: TensorRef, a: TensorRef, b: TensorRef, outShape: Shape): Storage {
    const r = outShape.length;
    checkRank('where', r);
    const out = this.alloc(a.dtype, sizeOf(outShape));
    this.P.reset().dtype(cond.dtype).dtype(a.dtype).num(this.ptr(cond), this.ptr(a), this.ptr(b), out.ptr, r, cond.shape.length, a.shape.length, b.shape.length)
      .dims(outShape).dims(cond.shape).dims(a.shape).dims(b.shape);
    this.addon.where();
    return out;
  }

  // ---- reductions ----

  reduce(op: ReduceOp, x: TensorRef, axes: readonly number[]): Storage {
    const r = x.shape.length;
    checkRank('reduce', r);
    const xs = storageOf(x);
    const z = xs.lazy;
    if (z && op === 'sum' && r >= 3 && axes.length === r - 2 && axes.every((a, i) => a === i) && x.shape[r - 2] === z.m && x.shape[r - 1] === z.n) {
      // sum over the batch of a deferred batched product: one GEMM accumulating over the batch
      const out = this.alloc(x.dtype, z.m * z.n);
      this.P.reset().dtype(x.dtype).num(this.ptr(z.a), this.ptr(z.b), out.ptr).flag(z.transA).flag(z.transB).num(z.m, z.n, z.k, z.batch);
      this.addon.matmulSum();
      return out;
    }
    let on = 1;
    for (let d = 0; d < r; d++) if (!axes.includes(d)) on *= x.shape[d]!;
    const out = this.alloc(x.dtype, on);
    this.P.reset().dtype(x.dtype).num(REDUCE[op], this.ptr(x), out.ptr, r).dims(x.shape).dims(x.shape.map((_, d) => (axes.includes(d) ? 1 : 0)));
    this.addon.reduce();
    return out;
  }
  argReduce(op: ArgReduceOp, x: TensorRef, axis: number): Storage {
    const outer = sizeOf(x.shape.slice(0, axis));
    const len = x.shape[axis]!;
    const inner = sizeOf(x.shape.slice(axis + 1));
    const out = this.alloc('int32', outer * inner);
    this.P.reset().dtype(x.dtype).num(ARG_REDUCE_CODE[op], this.ptr(x), out.ptr, outer, len, inner);
    this.addon.argReduce();
    return out;
  }

  // ---- layout: one strided-copy kernel ----

  private copy(dtype: DType, shape: Shape, src: number, srcStrides: readonly number[], dst: number, dstStrides: readonly number[]): void {
    const r = shape.length;
    checkRank('copy', r);
    this.P.reset().num(bytesPerElement(dtype), src, dst, r).dims(shape).dims(srcStrides).dims(dstStrides);
    this.addon.copy();
  }
  permute(x: TensorRef, perm: readonly number[]): Storage {
    const st = stridesOf(x.shape);
    const oshape = perm.map((p) => x.shape[p]!);
    const out = this.alloc(x.dtype, sizeOf(oshape));
    this.copy(x.dtype, oshape, this.ptr(x), perm.map((p) => st[p]!), out.ptr, stridesOf(oshape));
    return out;
  }
  broadcastTo(x: TensorRef, outShape: Shape): Storage {
    const out = this.alloc(x.dtype, sizeOf(outShape));
    this.copy(x.dtype, outShape, this.ptr(x), broadcastStrides(x.shape, outShape), out.ptr, stridesOf(outShape));
    return out;
  }
  slice(x: TensorRef, begin: readonly number[], size: readonly number[]): Storage {
    const st = stridesOf(x.shape);
    let base = 0;
    for (let d = 0; d < begin.length; d++) base += begin[d]! * st[d]!;
    const out = this.alloc(x.dtype, sizeOf(size));
    const bpe = x.dtype === 'float64' ? 8 : 4;
    this.copy(x.dtype, size, this.ptr(x) + base * bpe, st, out.ptr, stridesOf(size));
    return out;
  }
  pad(x: TensorRef, before: readonly number[], after: readonly number[], value: number): Storage {
    const oshape = x.shape.map((d, i) => d + before[i]! + after[i]!);
    const out = this.fill(sizeOf(oshape), value, x.dtype) as NativeStorage;
    const ost = stridesOf(oshape);
    let base = 0;
    for (let d = 0; d < before.length; d++) base += before[d]! * ost[d]!;
    const bpe = x.dtype === 'float64' ? 8 : 4;
    this.copy(x.dtype, x.shape, this.ptr(x), stridesOf(x.shape), out.ptr + base * bpe, ost);
    return out;
  }
  concat(xs: readonly TensorRef[], axis: number): Storage {
    const first = xs[0]!;
    const oshape = [...first.shape];
    oshape[axis] = xs.reduce((s, t) => s + t.shape[axis]!, 0);
    const out = this.alloc(first.dtype, sizeOf(oshape));
    const ost = stridesOf(oshape);
    const bpe = first.dtype === 'float64' ? 8 : 4;
    let off = 0;
    for (const t of xs) {
      if (sizeOf(t.shape) > 0) this.copy(t.dtype, t.shape, this.ptr(t), stridesOf(t.shape), out.ptr + off * ost[axis]! * bpe, ost);
      off += t.shape[axis]!;
    }
    return out;
  }

  // ---- linear algebra ----

  matmul(a: TensorRef, b: TensorRef, transA: boolean, transB: boolean, outShape: Shape): Storage {
    // The GEMM micro-kernels are float32 / float64 only.
    if (a.dtype === 'int32') throw new DTypeError(`matmul: the native backend needs float32 or float64, got int32`);
    const r = outShape.length;
    checkRank('matmul', r);
    const M = outShape[r - 2]!;
    const N = outShape[r - 1]!;
    const K = transA ? a.shape[a.shape.length - 2]! : a.shape[a.shape.length - 1]!;
    const out = this.alloc(a.dtype, sizeOf(outShape));
    const br = r - 2;
    const batch = sizeOf(outShape.slice(0, br));
    if (batch > 1 && a.shape.length === r && b.shape.length === r && a.storage.length === batch * M * K && b.storage.length === batch * K * N) {
      // Both operands carry the whole batch (no broadcasting): defer, see "deferred batched products".
      this.defer(out, { a: storageOf(a), b: storageOf(b), transA, transB, m: M, n: N, k: K, batch });
      return out;
    }
    // batch dims of the output, then of a and b padded with leading 1s
    const batchOf = (sh: Shape): number[] => outShape.slice(0, br).map((_, d) => (d < br - (sh.length - 2) ? 1 : sh[d - br + sh.length - 2]!));
    this.P.reset().dtype(a.dtype).num(this.ptr(a), this.ptr(b), out.ptr).flag(transA).flag(transB).num(M, N, K, br)
      .dims(outShape.slice(0, br)).dims(batchOf(a.shape)).dims(batchOf(b.shape));
    this.addon.matmul();
    return out;
  }

  // ---- convolution and pooling ----

  im2col(x: TensorRef, g: WindowGeom): Storage {
    const out = this.alloc(x.dtype, g.n * g.c * g.kh * g.kw * g.oh * g.ow);
    this.P.reset().dtype(x.dtype).num(this.ptr(x), out.ptr).geom(g);
    this.addon.im2col();
    return out;
  }
  col2im(cols: TensorRef, g: WindowGeom): Storage {
    const out = this.alloc(cols.dtype, g.n * g.c * g.h * g.w);
    this.P.reset().dtype(cols.dtype).num(this.ptr(cols), out.ptr).geom(g);
    this.addon.col2im();
    return out;
  }
  /** Fused convolution kernels (native/cpu/conv.cc): inputs in0, in1, output, geometry, output channels. */
  private conv(kernel: 'conv2d' | 'conv2dBackwardInput' | 'conv2dBackwardWeight', a: TensorRef, b: TensorRef, outLen: number, g: WindowGeom, O: number): Storage {
    const out = this.alloc(a.dtype, outLen);
    this.P.reset().dtype(a.dtype).num(this.ptr(a), this.ptr(b), out.ptr);
    this.P.geom(g).num(O);
    this.addon[kernel]();
    return out;
  }
  conv2d(x: TensorRef, w: TensorRef, g: WindowGeom): Storage {
    const O = w.shape[0]!;
    return this.conv('conv2d', x, w, g.n * O * g.oh * g.ow, g, O);
  }
  conv2dBackwardInput(gy: TensorRef, w: TensorRef, g: WindowGeom): Storage {
    return this.conv('conv2dBackwardInput', gy, w, g.n * g.c * g.h * g.w, g, w.shape[0]!);
  }
  conv2dBackwardWeight(x: TensorRef, gy: TensorRef, g: WindowGeom): Storage {
    const O = gy.shape[1]!;
    return this.conv('conv2dBackwardWeight', x, gy, O * g.c * g.kh * g.kw, g, O);
  }
  maxPool2d(x: TensorRef, g: WindowGeom): { out: Storage; idx: Storage } {
    const n = g.n * g.c * g.oh * g.ow;
    const out = this.alloc(x.dtype, n);
    const idx = this.alloc('int32', n);
    this.P.reset().dtype(x.dtype).num(this.ptr(x), out.ptr, idx.ptr).geom(g);
    this.addon.maxPool2d();
    return { out, idx };
  }
  readonly poolStacks = true;
  maxPoolGather(x: TensorRef, idx: TensorRef, g: WindowGeom): Storage {
    const blocks = poolBlocks('maxPoolGather', x, [g.n, g.c, g.h, g.w]);
    const out = this.alloc(x.dtype, blocks * g.n * g.c * g.oh * g.ow);
    this.P.reset().dtype(x.dtype).num(this.ptr(x), this.ptr(idx), out.ptr).geom(g).num(blocks);
    this.addon.maxPoolGather();
    return out;
  }
  maxPoolScatter(gy: TensorRef, idx: TensorRef, g: WindowGeom): Storage {
    const blocks = poolBlocks('maxPoolScatter', gy, [g.n, g.c, g.oh, g.ow]);
    const out = this.alloc(gy.dtype, blocks * g.n * g.c * g.h * g.w);
    this.P.reset().dtype(gy.dtype).num(this.ptr(gy), this.ptr(idx), out.ptr).geom(g).num(blocks);
    this.addon.maxPoolScatter();
    return out;
  }
  avgPool2d(x: TensorRef, g: WindowGeom): Storage {
    const out = this.alloc(x.dtype, g.n * g.c * g.oh * g.ow);
    this.P.reset().dtype(x.dtype).num(this.ptr(x), out.ptr).geom(g);
    this.addon.avgPool2d();
    return out;
  }
  avgPool2dBackward(gy: TensorRef, g: WindowGeom): Storage {
    const out = this.alloc(gy.dtype, g.n * g.c * g.h * g.w);
    this.P.reset().dtype(gy.dtype).num(this.ptr(gy), out.ptr).geom(g);
    this.addon.avgPool2dBackward();
    return out;
  }

  // ---- batch norm ----

  batchNormForward(x: TensorRef, gamma: TensorRef, beta: TensorRef, eps: number): BatchNormForwardResult {
    const n = x.shape[0]!, c = x.shape[1]!, s = sizeOf(x.shape.slice(2));
    const y = this.alloc(x.dtype, x.storage.length);
    const mean = this.alloc(x.dtype, c);
    const variance = this.alloc(x.dtype, c);
    this.P.reset().dtype(x.dtype).num(this.ptr(x), this.ptr(gamma), this.ptr(beta), eps, n, c, s, y.ptr, mean.ptr, variance.ptr);
    this.addon.batchNormForward();
    return { y, mean, variance };
  }
  readonly batchNormStacks = true;
  readonly batchNormMask = true;
  batchNormBackward(
    x: TensorRef, gy: TensorRef, mean: TensorRef, variance: TensorRef, gamma: TensorRef, eps: number, mask?: TensorRef,
  ): BatchNormBackwardResult {
    const n = x.shape[0]!, c = x.shape[1]!, s = sizeOf(x.shape.slice(2));
    const blocks = stackBlocks('batchNormBackward', x, gy);
    if (mask) checkMask('batchNormBackward', x, mask);
    const dx = this.alloc(x.dtype, blocks * x.storage.length);
    const dgamma = this.alloc(x.dtype, blocks * c);
    const dbeta = this.alloc(x.dtype, blocks * c);
    this.P.reset().dtype(x.dtype).num(this.ptr(x), this.ptr(gy), this.ptr(mean), this.ptr(variance), this.ptr(gamma), eps, n, c, s, dx.ptr, dgamma.ptr, dbeta.ptr, blocks, mask ? this.ptr(mask) : 0);
    this.addon.batchNormBackward();
    return { dx, dgamma, dbeta };
  }

  batchNormDoubleBackward(
    x: TensorRef, g: TensorRef, u: TensorRef, mean: TensorRef, variance: TensorRef, gamma: TensorRef, eps: number, mask?: TensorRef,
  ): BatchNormDoubleBackwardResult {
    const n = x.shape[0]!, c = x.shape[1]!, s = sizeOf(x.shape.slice(2));
    const blocks = stackBlocks('batchNormDoubleBackward', x, g);
    if (mask) checkMask('batchNormDoubleBackward', x, mask);
    if (stackBlocks('batchNormDoubleBackward', x, u) !== blocks) {
      throw new ShapeError(`batchNormDoubleBackward: g and u must have the same shape, got [${g.shape.join(', ')}] and [${u.shape.join(', ')}]`);
    }
    const gx = this.alloc(x.dtype, x.storage.length);
    const gg = this.alloc(x.dtype, blocks * x.storage.length);
    const dgamma = this.alloc(x.dtype, c);
    this.P.reset().dtype(x.dtype).num(this.ptr(x), this.ptr(g), this.ptr(u), this.ptr(mean), this.ptr(variance), this.ptr(gamma), eps, n, c, s, gx.ptr, gg.ptr, dgamma.ptr, blocks, mask ? this.ptr(mask) : 0);
    this.addon.batchNormDoubleBackward();
    return { gx, gg, dgamma };
  }

  // ---- softmax family ----

  private rowsCols(x: TensorRef): [number, number] {
    const cols = x.shape[x.shape.length - 1] ?? 1;
    return [cols === 0 ? 0 : x.storage.length / cols, cols];
  }
  private softmaxKind(x: TensorRef, log: boolean): Storage {
    const [rows, cols] = this.rowsCols(x);
    const out = this.alloc(x.dtype, x.storage.length);
    this.P.reset().dtype(x.dtype).num(this.ptr(x), out.ptr, rows, cols).flag(log);
    this.addon.softmax();
    return out;
  }
  softmax(x: TensorRef): Storage {
    return this.softmaxKind(x, false);
  }
  logSoftmax(x: TensorRef): Storage {
    return this.softmaxKind(x, true);
  }
  softmaxHvp(p: TensorRef, v: TensorRef): Storage {
    const [rows, cols] = this.rowsCols(p);
    const out = this.alloc(p.dtype, p.storage.length);
    this.P.reset().dtype(p.dtype).num(this.ptr(p), this.ptr(v), out.ptr, rows, cols);
    this.addon.softmaxHvp();
    return out;
  }
  crossEntropy(logits: TensorRef, labels: TensorRef): Storage {
    const [rows, cols] = this.rowsCols(logits);
    const out = this.alloc(logits.dtype, rows);
    this.P.reset().dtype(logits.dtype).num(this.ptr(logits), this.ptr(labels), out.ptr, rows, cols);
    this.addon.crossEntropy();
    return out;
  }
  softmaxCrossEntropyGrad(logits: TensorRef, labels: TensorRef): Storage {
    const [rows, cols] = this.rowsCols(logits);
    const out = this.alloc(logits.dtype, logits.storage.length);
    this.P.reset().dtype(logits.dtype).num(this.ptr(logits), this.ptr(labels), out.ptr, rows, cols);
    this.addon.softmaxCrossEntropyGrad();
    return out;
  }
  oneHot(labels: TensorRef, classes: number, dtype: DType): Storage {
    const n = labels.storage.length;
    const out = this.alloc(dtype, n * classes);
    this.P.reset().num(this.ptr(labels), n, classes).dtype(dtype).num(out.ptr);
    this.addon.oneHot();
    return out;
  }

  // ---- optimizers ----

  applyUpdate(rule: UpdateRule, param: Storage, grad: Storage, state: readonly Storage[], p: UpdateParams): void {
    if (param.dtype === 'int32') throw new DTypeError(`applyUpdate: parameters must be float, got int32`);
    for (const s of [param, ...state]) this.settleReaders(s as NativeStorage);
    this.P.reset().dtype(param.dtype).num(RULE[rule], this.ptr(param), this.ptr(grad), state[0] ? this.ptr(state[0]) : 0, state[1] ? this.ptr(state[1]) : 0, param.length, p.lr, p.momentum, p.beta1, p.beta2, p.eps, p.step, p.weightDecay, p.decoupledDecay);
    this.addon.applyUpdate();
  }
}
