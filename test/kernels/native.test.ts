/**
 * The kernel suite (./suite.ts) on the native backend, then the native-only checks against the cpu
 * reference at sizes the suite does not reach (multi-threaded paths, model shapes), every GEMM
 * micro-kernel x convolution algorithm, and the buffer pool's bookkeeping.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backends/cpu/index.js';
import type { Backend, RandomParams, Storage, TensorRef, WindowGeom } from '../../src/backends/backend.js';
import type { NativeBackend } from '../../src/backends/native/backend.js';
import type { DType, TypedArray } from '../../src/dtype.js';
import { sizeOf } from '../../src/shape.js';
import * as g from '../../src/index.js';
import { ARG_REDUCE_OPS, BINARY_OPS, RANDOM_KINDS, REDUCE_OPS, UNARY_OPS, UPDATE_RULES, UPDATE_STATES } from '../../src/backends/opcodes.js';
import { nativeBackend, runNative } from '../native/native.js';
import { FULL, defineKernelSuite } from './suite.js';

const cpu = new CpuBackend();

function values(n: number, seed: number, dtype: DType = 'float32'): TypedArray {
  const a = dtype === 'float64' ? new Float64Array(n) : dtype === 'int32' ? new Int32Array(n) : new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    a[i] = dtype === 'int32' ? (s % 21) - 10 : (s / 4294967296 - 0.5) * 4;
  }
  return a;
}

type Run = (be: Backend, ref: (shape: number[], seed: number, dtype?: DType) => TensorRef) => Storage | Storage[];

/** Run the same kernel call on both backends with identical inputs; return host copies of the outputs. */
function both(f: Run): [TypedArray[], TypedArray[]] {
  const one = (be: Backend): TypedArray[] => {
    const made: Storage[] = [];
    const ref = (shape: number[], seed: number, dtype: DType = 'float32'): TensorRef => {
      const s = be.upload(values(sizeOf(shape), seed, dtype));
      made.push(s);
      return { storage: s, shape, dtype };
    };
    const out = f(be, ref);
    const outs = Array.isArray(out) ? out : [out];
    const host = outs.map((s) => (be.readSync(s) as TypedArray).slice());
    for (const s of new Set([...made, ...outs])) be.dispose(s);
    return host;
  };
  return [one(nativeBackend_), one(cpu)];
}

let nativeBackend_: NativeBackend;

beforeAll(async () => {
  if (runNative) nativeBackend_ = await nativeBackend();
});

/** The native GEMM micro-kernels are float only; everything else computes like the reference. */
defineKernelSuite('native', runNative, () => nativeBackend_, { ...FULL, floatOnly: ['matmul'] });

/** One batch-norm kernel case: a backend (and native ISA), a dtype, K cotangent blocks of `shape`,
 * with x, gamma and the forward's statistics uploaded; `up`'d storages are freed after body. */
interface BnCase {
  be: Backend;
  dt: DType;
  k: number;
  shape: number[];
  c: number;
  size: number;
  what: string;
  up: (a: TypedArray) => Storage;
  read: (st: Storage) => TypedArray;
  x: TensorRef;
  gamma: TensorRef;
  mean: TensorRef;
  variance: TensorRef;
  y: Storage;
}

/** Runs body for every native ISA build and the cpu reference, float32 and float64, and each (K, shape). */
function eachBnCase(cases: [number, number[]][], body: (t: BnCase) => void): void {
  const isa = nativeBackend_.isaInfo();
  const runs: [Backend, string | null][] = [...isa.supported.map((k): [Backend, string] => [nativeBackend_, k]), [cpu, null]];
  try {
    for (const [be, kernel] of runs) {
      if (kernel) nativeBackend_.setIsa(kernel as typeof isa.isa);
      for (const dt of ['float32', 'float64'] as DType[]) {
        for (const [k, shape] of cases) {
          const c = shape[1]!;
          const made: Storage[] = [];
          const up = (a: TypedArray): Storage => {
            const st = be.upload(a);
            made.push(st);
            return st;
          };
          const read = (st: Storage): TypedArray => {
            const a = (be.readSync(st) as TypedArray).slice();
            be.dispose(st);
            return a;
          };
          const ref = (sh: number[], seed: number): TensorRef => ({ storage: up(values(sizeOf(sh), seed, dt)), shape: sh, dtype: dt });
          const x = ref(shape, 1), gamma = ref([c], 2);
          const f = be.batchNormForward(x, gamma, ref([c], 3), 1e-5);
          made.push(f.y, f.mean, f.variance);
          body({
            be, dt, k, shape, c, size: sizeOf(shape), what: `${be.name}${kernel ? ` ${kernel}` : ''} ${dt} K=${k} [${shape}]`, up, read, x, gamma,
            mean: { storage: f.mean, shape: [c], dtype: dt }, variance: { storage: f.variance, shape: [c], dtype: dt }, y: f.y,
          });
          for (const st of made) be.dispose(st);
        }
      }
    }
  } finally {
    nativeBackend_.setIsa(isa.isa);
  }
}


function expectClose(got: TypedArray[], want: TypedArray[], tol = 1e-5): void {
  expect(got.length).toBe(want.length);
  got.forEach((a, k) => {
    const b = want[k]!;
    expect(a.length).toBe(b.length);
    let scale = 1e-3;
    for (let i = 0; i < b.length; i++) if (Number.isFinite(b[i])) scale = Math.max(scale, Math.abs(b[i]!));
    for (let i = 0; i < b.length; i++) {
      const ok = Object.is(a[i], b[i]) || Math.abs(a[i]! - b[i]!) <= tol * scale;
      if (!ok) throw new Error(`output ${k} element ${i}: got ${a[i]} want ${b[i]}`);
    }
  });
}

const geom = (n: number, c: number, h: number, w: number, k: number, s: number, p: number): WindowGeom => ({
  n, c, h, w, kh: k, kw: k, sh: s, sw: s, ph: p, pw: p,
  oh: Math.floor((h + 2 * p - k) / s) + 1, ow: Math.floor((w + 2 * p - k) / s) + 1,
});

describe.runIf(runNative)('native kernels vs the cpu reference', () => {
  it('elementwise: every unary op, float32 and float64, large enough to thread', () => {
    for (const dtype of ['float32', 'float64'] as DType[]) {
      for (const op of UNARY_OPS) {
        const [a, b] = both((be, ref) => be.unary(op, ref([70000], 3, dtype), 0.1));
        expectClose(a, b, dtype === 'float32' ? 1e-6 : 1e-14);
      }
    }
  });

  it('elementwise: NaN, -0 and +0 through relu, where and the comparisons exactly as the reference', () => {
    const special = [NaN, -0, 0, 1.5, -2, Infinity, -Infinity, NaN];
    for (const dtype of ['float32', 'float64'] as DType[]) {
      const make = (be: Backend): TensorRef => ({ storage: be.upload(dtype === 'float32' ? new Float32Array(special) : new Float64Array(special)), shape: [special.length], dtype });
      const [a, b] = both((be) => {
        const x = make(be), gr = make(be);
        const zero: TensorRef = { storage: be.upload(dtype === 'float32' ? new Float32Array([0]) : new Float64Array([0])), shape: [], dtype };
        const y = be.unary('relu', x, 0);
        const yRef: TensorRef = { storage: y, shape: x.shape, dtype };
        const outs = [y, be.where(yRef, gr, zero, x.shape), be.binary('gt', x, gr, x.shape), be.binary('maximum', x, gr, x.shape)];
        for (const t of [x, gr, zero]) be.dispose(t.storage);
        return outs;
      });
      expectClose(a, b, 0);
    }
  });

  it('elementwise: binary ops under broadcasting patterns, and scalar forms', () => {
    const shapes: [number[], number[], number[]][] = [
      [[10, 32, 26, 26], [10, 32, 26, 26], [10, 32, 26, 26]],
      [[10, 32, 26, 26], [1, 32, 1, 1], [10, 32, 26, 26]],
      [[3, 1, 5], [4, 1], [3, 4, 5]],
      [[7], [6, 7], [6, 7]],
      [[], [2, 3], [2, 3]],
    ];
    for (const op of BINARY_OPS) {
      for (const [sa, sb, so] of shapes) {
        const [a, b] = both((be, ref) => be.binary(op, ref(sa, 1), ref(sb, 2), so));
        expectClose(a, b, 1e-6);
      }
      for (const left of [false, true]) {
        const [a, b] = both((be, ref) => be.binaryScalar(op, ref([1000], 5), 0.37, left));
        expectClose(a, b, 1e-6);
      }
    }
  });

  it('int32 elementwise, where, cast and fill follow JavaScript conversions', () => {
    for (const op of ['add', 'mul', 'div', 'eq', 'maximum'] as const) {
      const [a, b] = both((be, ref) => be.binary(op, ref([4, 5], 1, 'int32'), ref([5], 2, 'int32'), [4, 5]));
      expectClose(a, b, 0);
    }
    expectClose(...both((be, ref) => be.where(ref([3, 1], 4), ref([3, 4], 5), ref([4], 6), [3, 4])), 0);
    for (const [from, to] of [['float32', 'int32'], ['float64', 'float32'], ['int32', 'float64'], ['float32', 'float64']] as [DType, DType][]) {
      expectClose(...both((be, ref) => be.cast(ref([999], 7, from), to)), 0);
    }
    for (const dtype of ['float32', 'float64', 'int32'] as DType[]) {
      expectClose(...both((be) => be.fill(77777, -2.7, dtype)), 0);
    }
  });

  it('reductions over every axis pattern of a rank-4 tensor, sum/max/min', () => {
    const shape = [6, 5, 7, 9];
    for (const op of REDUCE_OPS) {
      for (let mask = 1; mask < 16; mask++) {
        const axes = [0, 1, 2, 3].filter((d) => mask & (1 << d));
        expectClose(...both((be, ref) => be.reduce(op, ref(shape, mask), axes)), 1e-6);
      }
    }
    // Large, threaded: the conv bias gradient and a batch-sum of weight gradients.
    expectClose(...both((be, ref) => be.reduce('sum', ref([50, 32, 26, 26], 9), [0, 2, 3])), 1e-6);
    expectClose(...both((be, ref) => be.reduce('sum', ref([50, 64, 288], 9), [0])), 1e-6);
    expectClose(...both((be, ref) => be.reduce('sum', ref([300000], 9), [0])), 1e-6);
    for (const axis of [0, 1, 2]) {
      for (const op of ARG_REDUCE_OPS) expectClose(...both((be, ref) => be.argReduce(op, ref([4, 6, 5], 11), axis)), 0);
    }
  });

  it('layout: permute, broadcastTo, slice, pad, concat in float32, float64 and int32', () => {
    for (const dtype of ['float32', 'float64', 'int32'] as DType[]) {
      expectClose(...both((be, ref) => be.permute(ref([3, 4, 5, 6], 1, dtype), [2, 0, 3, 1])), 0);
      expectClose(...both((be, ref) => be.permute(ref([64, 300], 1, dtype), [1, 0])), 0);
      expectClose(...both((be, ref) => be.broadcastTo(ref([3, 1, 5], 2, dtype), [2, 3, 4, 5])), 0);
      expectClose(...both((be, ref) => be.slice(ref([5, 6, 7], 3, dtype), [1, 2, 3], [3, 2, 4])), 0);
      expectClose(...both((be, ref) => be.pad(ref([2, 3, 4], 4, dtype), [0, 1, 2], [1, 0, 3], 1.5)), 0);
      expectClose(...both((be, ref) => be.concat([ref([2, 3, 4], 5, dtype), ref([2, 1, 4], 6, dtype), ref([2, 0, 4], 6, dtype)], 1)), 0);
    }
  });

  it('im2col/col2im, pooling and its gather/scatter at model shapes with stride and padding', () => {
    // The models' pooling (the ResNet's global average over 30 planes: not a multiple of 8), odd sizes, padding,
    // overlapping windows, windows with gaps between them (stride 3 > kernel 2).
    const geoms = [geom(50, 1, 28, 28, 3, 1, 0), geom(4, 3, 11, 9, 3, 2, 1), geom(2, 2, 8, 8, 5, 1, 2), geom(3, 4, 7, 7, 2, 2, 0), geom(50, 32, 26, 26, 2, 2, 0), geom(2, 3, 11, 10, 2, 3, 0), geom(6, 5, 8, 8, 8, 8, 0)];
    for (const gm of geoms) {
      const L = gm.oh * gm.ow;
      expectClose(...both((be, ref) => be.im2col(ref([gm.n, gm.c, gm.h, gm.w], 1), gm)), 0);
      expectClose(...both((be, ref) => be.col2im(ref([gm.n, gm.c * gm.kh * gm.kw, L], 2), gm)), 1e-6);
      expectClose(...both((be, ref) => be.avgPool2d(ref([gm.n, gm.c, gm.h, gm.w], 3), gm)), 1e-6);
      expectClose(...both((be, ref) => be.avgPool2dBackward(ref([gm.n, gm.c, gm.oh, gm.ow], 4), gm)), 1e-6);
      if (gm.ph * 2 < gm.kh + 1) {
        const [a, b] = both((be, ref) => {
          const r = be.maxPool2d(ref([gm.n, gm.c, gm.h, gm.w], 5), gm);
          const idx: TensorRef = { storage: r.idx, shape: [gm.n, gm.c, gm.oh, gm.ow], dtype: 'int32' };
          const gath = be.maxPoolGather(ref([gm.n, gm.c, gm.h, gm.w], 6), idx, gm);
          const scat = be.maxPoolScatter(ref([gm.n, gm.c, gm.oh, gm.ow], 7), idx, gm);
          return [r.out, r.idx, gath, scat];
        });
        expectClose(a, b, 1e-6);
      }
    }
  });

  // [n, c, h, w], [o, c, kh, kw], stride, padding: model layers, odd and non-square shapes, 1x1,
  // one input channel, one output pixel, batches below and above the thread count; each under
  // every algorithm. 'winograd' runs the 3x3 stride-1 ones through Winograd F(2x2, 3x3) (AVX-512
  // only; auto elsewhere), 'winograd4' through F(4x4, 3x3); 'flat' runs everywhere; 'direct' takes
  // the row kernels for few input channels at stride 1 (AVX-512); 'polyphase' the input gradient
  // of every strided layer (float32).
  const fusedConvCases: [number[], number[], [number, number], [number, number]][] = [
    [[50, 16, 32, 32], [16, 16, 3, 3], [1, 1], [1, 1]],
    [[50, 1, 28, 28], [32, 1, 3, 3], [1, 1], [0, 0]],
    [[50, 16, 5, 5], [120, 16, 5, 5], [1, 1], [0, 0]],
    [[9, 32, 16, 16], [64, 32, 3, 3], [2, 2], [1, 1]],
    [[7, 6, 14, 13], [16, 6, 5, 5], [1, 1], [2, 1]],
    [[5, 3, 9, 11], [5, 3, 2, 3], [2, 1], [1, 0]],
    [[4, 8, 6, 6], [10, 8, 1, 1], [1, 1], [0, 0]],
    // 1x1 stride-1 layers on their identity columns in auto (from 49 pixels: the forward and input
    // gradient, and the weight gradient from 4096 weights; everything from 16384 weights).
    [[3, 24, 8, 8], [40, 24, 1, 1], [1, 1], [0, 0]],
    [[2, 130, 7, 7], [130, 130, 1, 1], [1, 1], [0, 0]],
    // A strided 1x1 layer of 40 channels with 36 output pixels (off the pixel-major GEMM in auto).
    [[2, 40, 12, 12], [24, 40, 1, 1], [2, 2], [0, 0]],
    // A 5x5 layer of 32 channels on a 12x12 map: its weight gradient on the pixel-major GEMM in auto.
    [[2, 32, 12, 12], [8, 32, 5, 5], [1, 1], [2, 2]],
    [[4, 8, 7, 7], [3, 8, 1, 1], [2, 2], [0, 0]],
    [[1, 3, 10, 10], [4, 3, 3, 3], [1, 1], [1, 1]],
    [[3, 2, 4, 4], [2, 2, 3, 3], [1, 1], [2, 2]],
    // Small maps of many channels (the pixel-major batch GEMM's in auto mode): 3x3 output with a
    // batch below the thread count, strided odd maps, padding past the kernel, a 1x1 output.
    [[1, 64, 5, 5], [64, 64, 3, 3], [1, 1], [0, 0]],
    [[6, 32, 7, 9], [24, 32, 3, 3], [2, 2], [1, 1]],
    [[5, 8, 6, 6], [10, 8, 3, 3], [1, 1], [3, 3]],
    [[1, 16, 5, 5], [7, 16, 5, 5], [1, 1], [0, 0]],
    // One to three input channels (the direct row kernels' gradients): rows wider than their 32
    // lanes, odd output channel counts, kernel heights 2, 5, 7 and 6 (instances or not: other
    // paths), padding past the kernel, N = 1.
    [[2, 1, 9, 37], [5, 1, 3, 3], [1, 1], [1, 1]],
    [[2, 2, 6, 6], [3, 2, 2, 2], [1, 1], [3, 3]],
    [[3, 3, 11, 7], [4, 3, 5, 5], [1, 1], [4, 2]],
    [[2, 1, 12, 10], [3, 1, 7, 7], [1, 1], [3, 3]],
    [[2, 1, 9, 9], [2, 1, 6, 6], [1, 1], [0, 0]],
    [[1, 1, 28, 28], [32, 1, 3, 3], [1, 1], [0, 0]],
    [[3, 1, 9, 8], [3, 1, 5, 5], [1, 1], [2, 2]],
    [[2, 2, 5, 6], [3, 2, 3, 3], [1, 1], [3, 2]],
    [[2, 1, 6, 7], [4, 1, 5, 5], [1, 1], [5, 4]],
    // 3x3 stride-1 layers for the Winograd path: odd and even output sizes, padding 0 and 1,
    // channels not multiples of 16 (or of its 8-row and 32-column micro-tiles), batches of 1 and
    // below the thread count, and rows of more than 16 tiles (its wide variant, two steps a row).
    [[2, 20, 13, 11], [24, 20, 3, 3], [1, 1], [0, 0]],
    [[1, 17, 12, 9], [35, 17, 3, 3], [1, 1], [1, 1]],
    [[3, 33, 8, 8], [19, 33, 3, 3], [1, 1], [0, 0]],
    [[5, 24, 20, 40], [16, 24, 3, 3], [1, 1], [1, 1]],
    [[1, 64, 3, 3], [64, 64, 3, 3], [1, 1], [0, 0]],
    // F(4x4, 3x3)'s rows of more than 16 tiles (two steps of its wide variant, 70 = 17 tiles and a
    // clipped one) and of exactly 8 (32 wide: the tile-row transforms' narrow variant).
    [[2, 18, 9, 70], [20, 18, 3, 3], [1, 1], [1, 1]],
    [[3, 16, 14, 32], [8, 16, 3, 3], [1, 1], [1, 1]],
    // The input gradient as the forward's adjoint (GRADREG_NATIVE_WINOGRAD_DX, below): padding 0
    // with odd and even outputs (12x13: F(4x4)'s last tile row and column clipped), N = 1 and 40
    // input channels (not a multiple of its 8-row strips).
    [[2, 18, 14, 15], [20, 18, 3, 3], [1, 1], [0, 0]],
    [[1, 40, 11, 10], [12, 40, 3, 3], [1, 1], [0, 0]],
    // Wider layers, where auto also runs Winograd: F(4x4) forward up to 96 channels on maps of 11
    // or more, F(2x2) past that; F(4x4) weight gradient up to 128 channels on maps of 12 or more;
    // F(2x2) up to 256 (channel counts off the micro-tiles); F(4x4) on 8x8 from 100 images on.
    [[2, 80, 13, 13], [96, 80, 3, 3], [1, 1], [1, 1]],
    [[2, 100, 12, 12], [120, 100, 3, 3], [1, 1], [1, 1]],
    [[2, 130, 8, 7], [72, 130, 3, 3], [1, 1], [1, 1]],
    [[1, 200, 6, 6], [256, 200, 3, 3], [1, 1], [0, 0]],
    [[100, 16, 8, 8], [24, 16, 3, 3], [1, 1], [1, 1]],
    // Strided layers for the polyphase input gradient: 3x3 stride 2 with padding 0 and 1 on odd and
    // even maps, N = 1 and below the thread count, channels not multiples of 16 (C alone under a
    // micro-tile's columns: the column phases share one product; C of 33: one product each); 2x2,
    // 4x4, 5x5 and 1x1 kernels (phases of no tap), stride 3, unequal strides, padding past the kernel.
    [[50, 16, 32, 32], [32, 16, 3, 3], [2, 2], [1, 1]],
    [[1, 5, 9, 9], [7, 5, 3, 3], [2, 2], [1, 1]],
    [[3, 6, 10, 11], [9, 6, 3, 3], [2, 2], [0, 0]],
    [[2, 33, 7, 8], [12, 33, 3, 3], [2, 2], [1, 1]],
    [[2, 4, 9, 8], [6, 4, 2, 2], [2, 2], [0, 0]],
    [[2, 17, 6, 7], [33, 17, 4, 4], [2, 2], [1, 1]],
    [[1, 3, 11, 10], [4, 3, 5, 5], [2, 2], [2, 2]],
    [[2, 3, 10, 11], [4, 3, 3, 3], [3, 3], [1, 1]],
    [[2, 5, 9, 8], [3, 5, 3, 3], [2, 1], [1, 1]],
    [[3, 4, 7, 6], [5, 4, 1, 1], [2, 2], [0, 0]],
    [[2, 3, 5, 5], [2, 3, 3, 3], [2, 2], [3, 3]],
  ];
  // One test per geometry and dtype, yielding to the event loop between algorithms, so that no test
  // holds the worker long enough for vitest's calls to it to time out on a busy machine.
  const fusedConvRuns = fusedConvCases.flatMap((c) => (['float32', 'float64'] as const).map((dt) => [...c, dt] as const));
  it.each(fusedConvRuns)('fused convolution (forward, input and weight gradients) with every algorithm: x %j w %j stride %j padding %j %s', async (xs, ws, [sh, sw], [ph, pw], dt) => {
    const prev = nativeBackend_.setConvAlgorithm('auto');
    const prevDx = process.env.GRADREG_NATIVE_WINOGRAD_DX;
    const isa = nativeBackend_.isaInfo();
    const runOn = (be: Backend, xs: number[], ws: number[], gm: WindowGeom, dt: DType): TypedArray[] => {
      const made: Storage[] = [];
      const ref = (shape: number[], seed: number): TensorRef => {
        const st = be.upload(values(sizeOf(shape), seed, dt));
        made.push(st);
        return { storage: st, shape, dtype: dt };
      };
      const ys = [gm.n, ws[0]!, gm.oh, gm.ow];
      const outs = [
        be.conv2d(ref(xs, 1), ref(ws, 2), gm),
        be.conv2dBackwardInput(ref(ys, 3), ref(ws, 2), gm),
        be.conv2dBackwardWeight(ref(xs, 1), ref(ys, 3), gm),
      ];
      const host = outs.map((st) => (be.readSync(st) as TypedArray).slice());
      for (const st of [...made, ...outs]) be.dispose(st);
      return host;
    };
    try {
      const [n, c, h, w] = xs as [number, number, number, number];
      const [, , kh, kw] = ws as [number, number, number, number];
      const gm: WindowGeom = { n, c, h, w, kh, kw, sh, sw, ph, pw, oh: Math.floor((h + 2 * ph - kh) / sh) + 1, ow: Math.floor((w + 2 * pw - kw) / sw) + 1 };
      const want = runOn(cpu, xs, ws, gm, dt);
      // Every micro-kernel this CPU runs (the padded-image paths have AVX-512 and AVX2 variants) x every algorithm.
      for (const kernel of isa.supported) {
        expect(nativeBackend_.setIsa(kernel)).toBe(true);
        for (const algo of ['im2col', 'implicit', 'direct', 'winograd', 'winograd4', 'flat', 'polyphase', 'auto'] as const) {
          await new Promise((r) => setImmediate(r));
          // The Winograd input gradient both ways: the forward's adjoint and the convolution of gy
          // padded by 2 - p (GRADREG_NATIVE_WINOGRAD_DX, read by the kernel at every call).
          for (const dxPath of algo.startsWith('winograd') || algo === 'auto' ? ['adjoint', 'conv'] : ['']) {
            process.env.GRADREG_NATIVE_WINOGRAD_DX = dxPath;
            nativeBackend_.setConvAlgorithm(algo);
            try {
              // float32: 2e-5 of the output's scale. Winograd F(2x2, 3x3) adds rounding in its
              // transforms (coefficients 0, +-1, +-1/2; each transformed value a sum of at most 4 +
              // 4 terms per side, Lavin & Gray 2016 section 4.1), a small constant times the direct
              // sum's error over C*9 products; measured at most 6e-7 of the scale at these shapes.
              // F(4x4, 3x3)'s coefficients reach 5 in B^T and 8 in A^T (section 4, points 0, +-1,
              // +-2, infinity): several times that, at most 8e-6 of the scale at the models'
              // layer shapes (bench/native-winograd-error.ts), still inside the same bound.
              const got = runOn(nativeBackend_, xs, ws, gm, dt);
              expectClose(got, want, dt === 'float64' ? 1e-12 : 2e-5);
              // Bit-reproducible at a fixed thread count: a second call gives the same bits.
              if (algo === 'auto' || dxPath === 'adjoint') runOn(nativeBackend_, xs, ws, gm, dt).forEach((a, k) => expect(Array.from(a)).toEqual(Array.from(got[k]!)));
            } catch (e) {
              const what = `${kernel} ${algo} ${dxPath} ${dt} x [${xs}] w [${ws}] stride ${sh},${sw} padding ${ph},${pw}`;
              throw new Error(`${what}: ${e instanceof Error ? e.message : String(e)}`);
            }
          }
        }
      }
    } finally {
      nativeBackend_.setConvAlgorithm(prev);
      nativeBackend_.setIsa(isa.isa);
      if (prevDx === undefined) delete process.env.GRADREG_NATIVE_WINOGRAD_DX;
      else process.env.GRADREG_NATIVE_WINOGRAD_DX = prevDx;
    }
  });

  it('the Winograd input gradient as the forward adjoint: the same bits at 1, 2 and 3 threads', () => {
    // Its blocks are whole images and each dx value is the same sum in the same order whatever the
    // blocks, so it does not depend on the thread count (F(2x2) and F(4x4); valid and padded; N = 1,
    // below and above the thread count; the small CNN's conv2 at batch 5; without AVX-512 these
    // layers take conv.cc's paths, held to the same).
    const be = nativeBackend_;
    const isa = be.isaInfo();
    const prevDx = process.env.GRADREG_NATIVE_WINOGRAD_DX;
    const prev = be.setConvAlgorithm('auto');
    process.env.GRADREG_NATIVE_WINOGRAD_DX = 'adjoint';
    const cases: [number[], number[], number][] = [
      [[5, 32, 13, 13], [64, 32, 3, 3], 0],
      [[1, 17, 12, 9], [35, 17, 3, 3], 1],
      [[2, 20, 13, 11], [24, 20, 3, 3], 0],
    ];
    try {
      for (const algo of ['winograd', 'winograd4'] as const) {
        be.setConvAlgorithm(algo);
        for (const [xs, ws, p] of cases) {
          const [n, c, h, w] = xs as [number, number, number, number];
          const gm: WindowGeom = { n, c, h, w, kh: 3, kw: 3, sh: 1, sw: 1, ph: p, pw: p, oh: h + 2 * p - 2, ow: w + 2 * p - 2 };
          const gy = be.upload(values(n * ws[0]! * gm.oh * gm.ow, 3, 'float32'));
          const wt = be.upload(values(sizeOf(ws), 2, 'float32'));
          let first: Buffer | null = null;
          for (const threads of [1, 2, 3]) {
            be.setThreads(threads);
            const dx = be.conv2dBackwardInput({ storage: gy, shape: [n, ws[0]!, gm.oh, gm.ow], dtype: 'float32' }, { storage: wt, shape: ws, dtype: 'float32' }, gm);
            const got = Buffer.from((be.readSync(dx) as Float32Array).slice().buffer);
            be.dispose(dx);
            if (!first) first = got;
            else expect(got.equals(first), `${algo} x [${xs}] padding ${p} at ${threads} threads`).toBe(true);
          }
          be.dispose(gy);
          be.dispose(wt);
        }
      }
    } finally {
      be.setConvAlgorithm(prev);
      be.setThreads(isa.threads);
      if (prevDx === undefined) delete process.env.GRADREG_NATIVE_WINOGRAD_DX;
      else process.env.GRADREG_NATIVE_WINOGRAD_DX = prevDx;
    }
  });

  it('batch norm: every ISA build and thread count gives the same bits, close to the reference (odd sizes, tiny, float64)', () => {
    // [N, C, S]: S below one 16-float step, not a multiple of it, above a 512-value block and split
    // across blocks with a tail, short runs grouped into a block; C below, above and not a multiple
    // of the thread count; one value; a model shape.
    const shapes = [[3, 5, 7], [2, 3, 1000], [1, 1, 1], [4, 7, 33], [9, 2, 100], [6, 3, 4, 4], [50, 16, 32, 32]];
    const be = nativeBackend_;
    const isa = be.isaInfo();
    const runBn = (b: Backend, shape: number[], dt: DType): TypedArray[] => {
      const c = shape[1]!;
      const made: Storage[] = [];
      const ref = (sh: number[], seed: number): TensorRef => {
        const st = b.upload(values(sizeOf(sh), seed, dt));
        made.push(st);
        return { storage: st, shape: sh, dtype: dt };
      };
      const x = ref(shape, 1), gamma = ref([c], 2);
      const f = b.batchNormForward(x, gamma, ref([c], 3), 1e-5);
      const m: TensorRef = { storage: f.mean, shape: [c], dtype: dt };
      const v: TensorRef = { storage: f.variance, shape: [c], dtype: dt };
      const r = b.batchNormBackward(x, ref(shape, 4), m, v, gamma, 1e-5);
      const d = b.batchNormDoubleBackward!(x, ref(shape, 4), ref(shape, 5), m, v, gamma, 1e-5);
      const outs = [f.y, f.mean, f.variance, r.dx, r.dgamma, r.dbeta, d.gx, d.gg, d.dgamma];
      const host = outs.map((st) => (b.readSync(st) as TypedArray).slice());
      for (const st of [...made, ...outs]) b.dispose(st);
      return host;
    };
    try {
      for (const shape of shapes) {
        for (const dt of ['float32', 'float64'] as DType[]) {
          const want = runBn(cpu, shape, dt);
          let first: TypedArray[] | null = null;
          for (const kernel of isa.supported) {
            be.setIsa(kernel);
            for (const threads of [1, 2, 3]) {
              be.setThreads(threads);
              const got = runBn(be, shape, dt);
              const what = `${kernel} ${threads} thread(s) [${shape}] ${dt}`;
              if (!first) {
                try {
                  expectClose(got, want, dt === 'float64' ? 1e-12 : 1e-5);
                } catch (e) {
                  throw new Error(`${what}: ${e instanceof Error ? e.message : String(e)}`);
                }
                first = got;
              } else {
                got.forEach((a, k) => expect(Buffer.from(a.buffer).equals(Buffer.from(first![k]!.buffer)), `${what} output ${k}`).toBe(true));
              }
            }
          }
        }
      }
    } finally {
      be.setIsa(isa.isa);
      be.setThreads(isa.threads);
    }
  });

  it('max-pool gather and scatter on a stack of K inputs: one call gives the bits of one call per block (native and cpu)', () => {
    for (const be of [nativeBackend_ as Backend, cpu as Backend]) {
      for (const dt of ['float32', 'float64'] as DType[]) {
        for (const [k, shape, kernel] of [[4, [3, 5, 8, 8], 2], [10, [2, 3, 7, 9], 3], [1, [1, 2, 4, 4], 2]] as [number, number[], number][]) {
          const made: Storage[] = [];
          const up = (a: TypedArray): Storage => {
            const st = be.upload(a);
            made.push(st);
            return st;
          };
          const read = (st: Storage): TypedArray => {
            const a = (be.readSync(st) as TypedArray).slice();
            be.dispose(st);
            return a;
          };
          const [n, c, h, w] = shape as [number, number, number, number];
          const oh = Math.floor(h / kernel), ow = Math.floor(w / kernel);
          const geo: WindowGeom = { n, c, h, w, kh: kernel, kw: kernel, sh: kernel, sw: kernel, ph: 0, pw: 0, oh, ow };
          const x: TensorRef = { storage: up(values(sizeOf(shape), 1, dt)), shape, dtype: dt };
          const mp = be.maxPool2d(x, geo);
          made.push(mp.out, mp.idx);
          const idx: TensorRef = { storage: mp.idx, shape: [n, c, oh, ow], dtype: 'int32' };
          const inB = n * c * h * w, outB = n * c * oh * ow;
          const xs = values(k * inB, 2, dt), gs = values(k * outB, 3, dt);
          const gathered = read(be.maxPoolGather({ storage: up(xs), shape: [k, n, c, h, w], dtype: dt }, idx, geo));
          const scattered = read(be.maxPoolScatter({ storage: up(gs), shape: [k, n, c, oh, ow], dtype: dt }, idx, geo));
          expect(gathered.length).toBe(k * outB);
          expect(scattered.length).toBe(k * inB);
          for (let j = 0; j < k; j++) {
            const gj = read(be.maxPoolGather({ storage: up(xs.slice(j * inB, (j + 1) * inB)), shape, dtype: dt }, idx, geo));
            const sj = read(be.maxPoolScatter({ storage: up(gs.slice(j * outB, (j + 1) * outB)), shape: [n, c, oh, ow], dtype: dt }, idx, geo));
            expect(Array.from(gathered.subarray(j * outB, (j + 1) * outB)), `${be.name} ${dt} K=${k} gather block ${j}`).toEqual(Array.from(gj));
            expect(Array.from(scattered.subarray(j * inB, (j + 1) * inB)), `${be.name} ${dt} K=${k} scatter block ${j}`).toEqual(Array.from(sj));
          }
          expect(Math.max(...Array.from(scattered, Math.abs))).toBeGreaterThan(0);
          for (const st of made) be.dispose(st);
        }
      }
      // neither a block nor a stack of them: a typed error naming the op and both shapes
      const geo: WindowGeom = { n: 1, c: 2, h: 4, w: 4, kh: 2, kw: 2, sh: 2, sw: 2, ph: 0, pw: 0, oh: 2, ow: 2 };
      const bad: TensorRef = { storage: be.upload(values(32, 1)), shape: [2, 2, 4, 2], dtype: 'float32' };
      const idx: TensorRef = { storage: be.upload(new Int32Array(8)), shape: [1, 2, 2, 2], dtype: 'int32' };
      expect(() => be.maxPoolGather(bad, idx, geo)).toThrow(/maxPoolGather: the input must have shape \[1, 2, 4, 4\] or \[K, 1, 2, 4, 4\], got \[2, 2, 4, 2\]/);
      be.dispose(bad.storage);
      be.dispose(idx.storage);
    }
  });

  it('batch norm on a stack of K cotangents: one call gives the bits of one call per block (native and cpu, float32 and float64)', () => {
    // [K, N, C, S] stacks: per block its own statistics; gx and dgamma of the double backward summed
    // over the blocks in block order, as the per-block oracle (src/ops/batchnorm.ts) adds them. The
    // native backend under each of its ISA builds (the AVX2 and AVX-512 builds must not contract the
    // accumulation into a fused multiply-add).
    eachBnCase([[3, [4, 5, 6, 6]], [1, [2, 3, 7]], [10, [5, 16, 8, 8]]], ({ be, dt, k, shape, c, size, what, up, read, x, gamma, mean: m, variance: v }) => {
      const gHost = values(k * size, 4, dt), uHost = values(k * size, 5, dt);
      const gK: TensorRef = { storage: up(gHost), shape: [k, ...shape], dtype: dt };
      const uK: TensorRef = { storage: up(uHost), shape: [k, ...shape], dtype: dt };
      const r = be.batchNormBackward(x, gK, m, v, gamma, 1e-5);
      const d = be.batchNormDoubleBackward!(x, gK, uK, m, v, gamma, 1e-5);
      const [dx, dgamma, dbeta, gx, gg, ddg] = [r.dx, r.dgamma, r.dbeta, d.gx, d.gg, d.dgamma].map(read);
      expect(dx!.length).toBe(k * size);
      expect(dgamma!.length).toBe(k * c);
      expect(gg!.length).toBe(k * size);
      expect(gx!.length).toBe(size);
      expect(ddg!.length).toBe(c);
      const gxWant = new (dt === 'float64' ? Float64Array : Float32Array)(size);
      const dgWant = new (dt === 'float64' ? Float64Array : Float32Array)(c);
      for (let j = 0; j < k; j++) {
        const gj: TensorRef = { storage: up(gHost.slice(j * size, (j + 1) * size)), shape, dtype: dt };
        const uj: TensorRef = { storage: up(uHost.slice(j * size, (j + 1) * size)), shape, dtype: dt };
        const rj = be.batchNormBackward(x, gj, m, v, gamma, 1e-5);
        const dj = be.batchNormDoubleBackward!(x, gj, uj, m, v, gamma, 1e-5);
        const same = (a: TypedArray, b: TypedArray, out: string): void =>
          expect(Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength)), `${what} block ${j} ${out}`).toBe(true);
        same(dx!.subarray(j * size, (j + 1) * size), read(rj.dx), 'dx');
        same(dgamma!.subarray(j * c, (j + 1) * c), read(rj.dgamma), 'dgamma');
        same(dbeta!.subarray(j * c, (j + 1) * c), read(rj.dbeta), 'dbeta');
        same(gg!.subarray(j * size, (j + 1) * size), read(dj.gg), 'gg');
        const gxj = read(dj.gx), dgj = read(dj.dgamma);
        // the oracle's running sum, rounded to the dtype at every step (a Float32Array stores rounded)
        for (let i = 0; i < size; i++) gxWant[i] = j === 0 ? gxj[i]! : gxWant[i]! + gxj[i]!;
        for (let i = 0; i < c; i++) dgWant[i] = j === 0 ? dgj[i]! : dgWant[i]! + dgj[i]!;
      }
      expect(Buffer.from(gx!.buffer).equals(Buffer.from(gxWant.buffer)), `${what} gx`).toBe(true);
      expect(Buffer.from(ddg!.buffer).equals(Buffer.from(dgWant.buffer)), `${what} dgamma sum`).toBe(true);
      // not vacuous
      expect(Math.max(...Array.from(gx!, Math.abs))).toBeGreaterThan(1e-6);
    });
    // a gradient shaped like neither x nor [K, ...x]: a typed error naming the op
    const bad = (be: Backend): void => {
      const st = be.upload(values(24, 1));
      const x: TensorRef = { storage: st, shape: [2, 3, 4], dtype: 'float32' };
      const gy: TensorRef = { storage: be.upload(values(24, 2)), shape: [3, 2, 4], dtype: 'float32' };
      const cst = be.upload(values(3, 3));
      const c3: TensorRef = { storage: cst, shape: [3], dtype: 'float32' };
      expect(() => be.batchNormBackward(x, gy, c3, c3, c3, 1e-5)).toThrow(/batchNormBackward: the gradient must have the input's shape \[2, 3, 4\] or \[K, 2, 3, 4\], got \[3, 2, 4\]/);
      for (const s of [st, gy.storage, cst]) be.dispose(s);
    };
    bad(nativeBackend_);
    bad(cpu);
  });

  it("batch norm with relu's mask (batchNormRelu): the bits of where(mask, g, 0) before the unmasked kernels and where(mask, gg, 0) after (native every ISA and cpu, float32 and float64, one block and stacks)", () => {
    eachBnCase([[1, [4, 5, 6, 6]], [3, [2, 3, 37]], [10, [5, 16, 8, 8]]], ({ be, dt, k, shape, size, what, up, read, x, gamma, mean: m, variance: v, y }) => {
      // relu of the batch norm's output, with a NaN (kept, as where() keeps it) and a -0 (masked)
      const maskHost = (be.readSync(y) as TypedArray).map((a) => (a < 0 ? 0 : a));
      maskHost[0] = NaN;
      maskHost[1] = -0;
      const mask: TensorRef = { storage: up(maskHost), shape, dtype: dt };
      const gHost = values(k * size, 4, dt), uHost = values(k * size, 5, dt);
      const shapeK = k === 1 ? shape : [k, ...shape];
      // where(mask, g, 0) on the host, the mask broadcast over the blocks
      const gmHost = gHost.map((a, i) => (maskHost[i % size] !== 0 ? a : 0));
      const gK: TensorRef = { storage: up(gHost), shape: shapeK, dtype: dt };
      const gmK: TensorRef = { storage: up(gmHost), shape: shapeK, dtype: dt };
      const uK: TensorRef = { storage: up(uHost), shape: shapeK, dtype: dt };
      const r = be.batchNormBackward(x, gK, m, v, gamma, 1e-5, mask);
      const d = be.batchNormDoubleBackward!(x, gK, uK, m, v, gamma, 1e-5, mask);
      const rw = be.batchNormBackward(x, gmK, m, v, gamma, 1e-5);
      const dw = be.batchNormDoubleBackward!(x, gmK, uK, m, v, gamma, 1e-5);
      const got = [r.dx, r.dgamma, r.dbeta, d.gx, d.gg, d.dgamma].map(read);
      const want = [rw.dx, rw.dgamma, rw.dbeta, dw.gx, dw.gg, dw.dgamma].map(read);
      // gg of the unmasked g: where(mask, gg, 0)
      want[4] = want[4]!.map((a, i) => (maskHost[i % size] !== 0 ? a : 0));
      const names = ['dx', 'dgamma', 'dbeta', 'gx', 'gg', 'dgamma (double)'];
      got.forEach((a, i) => expect(Buffer.from(a.buffer).equals(Buffer.from(want[i]!.buffer)), `${what} ${names[i]}`).toBe(true));
      // not vacuous: the mask zeroes some gradients and keeps others
      const gg = got[4]!;
      expect(gg.some((a, i) => a === 0 && maskHost[i % size] === 0 && uHost[i] !== 0), `${what} masked`).toBe(true);
      expect(gg.some((a) => a !== 0 && Number.isFinite(a)), `${what} kept`).toBe(true);
    });
    // a mask shaped unlike x, or of another dtype: a typed error naming the op
    for (const be of [nativeBackend_, cpu] as Backend[]) {
      const made: Storage[] = [];
      const ref = (sh: number[], dt: DType = 'float32'): TensorRef => {
        const st = be.upload(values(sizeOf(sh), 1, dt));
        made.push(st);
        return { storage: st, shape: sh, dtype: dt };
      };
      const x = ref([2, 3, 4]), c3 = ref([3]);
      expect(() => be.batchNormBackward(x, ref([2, 3, 4]), c3, c3, c3, 1e-5, ref([2, 3, 5]))).toThrow(
        /batchNormBackward: the mask must be a float32 tensor shaped like the input \[2, 3, 4\], got float32 \[2, 3, 5\]/,
      );
      expect(() => be.batchNormDoubleBackward!(x, ref([2, 3, 4]), ref([2, 3, 4]), c3, c3, c3, 1e-5, ref([2, 3, 4], 'float64'))).toThrow(
        /batchNormDoubleBackward: the mask must be a float32 tensor shaped like the input \[2, 3, 4\], got float64 \[2, 3, 4\]/,
      );
      for (const st of made) be.dispose(st);
    }
  });

  it('batch norm forward/backward/double backward and the softmax family', () => {
    for (const shape of [[50, 16, 32, 32], [7, 3, 5], [20, 10]]) {
      const c = shape[1]!;
      const [a, b] = both((be, ref) => {
        const x = ref(shape, 1);
        const f = be.batchNormForward(x, ref([c], 2), ref([c], 3), 1e-5);
        const m: TensorRef = { storage: f.mean, shape: [c], dtype: 'float32' };
        const v: TensorRef = { storage: f.variance, shape: [c], dtype: 'float32' };
        const r = be.batchNormBackward(x, ref(shape, 4), m, v, ref([c], 2), 1e-5);
        const d = be.batchNormDoubleBackward!(x, ref(shape, 4), ref(shape, 5), m, v, ref([c], 2), 1e-5);
        return [f.y, f.mean, f.variance, r.dx, r.dgamma, r.dbeta, d.gx, d.gg, d.dgamma];
      });
      expectClose(a, b, 1e-5);
    }
    for (const [rows, cols] of [[50, 10], [3000, 7], [2, 5000]]) {
      const labels = (be: Backend): TensorRef => {
        const y = new Int32Array(rows).map((_, i) => (i * 7) % cols);
        return { storage: be.upload(y), shape: [rows], dtype: 'int32' };
      };
      expectClose(...both((be, ref) => [be.softmax(ref([rows, cols], 1)), be.logSoftmax(ref([rows, cols], 1))]), 1e-6);
      expectClose(...both((be, ref) => be.softmaxHvp(ref([rows, cols], 1), ref([rows, cols], 2))), 1e-6);
      expectClose(...both((be, ref) => [be.crossEntropy(ref([rows, cols], 3), labels(be)), be.softmaxCrossEntropyGrad(ref([rows, cols], 3), labels(be))]), 1e-6);
      expectClose(...both((be) => be.oneHot(labels(be), cols, 'float32')), 0);
    }
  });

  it('Philox random numbers equal the cpu backend (float32 exactly), offsets past 2^32 included', () => {
    const params: RandomParams[] = [];
    for (const kind of RANDOM_KINDS) {
      for (const offset of [0, 12345, 2 ** 32 - 100, 3 * 2 ** 32 + 17]) {
        params.push({ kind, seedLo: 0xdeadbeef, seedHi: 42, stream: 7, offset, a: kind === 'bernoulli' ? 0.3 : -1, b: 2 });
      }
    }
    for (const p of params) {
      expectClose(...both((be) => be.random(50000, 'float32', p)), 0);
      expectClose(...both((be) => be.random(1000, 'float64', p)), 1e-15);
    }
  });

  it('fused optimizer updates match the cpu reference over several steps, every rule', () => {
    for (const rule of UPDATE_RULES) {
      for (const dtype of ['float32', 'float64'] as DType[]) {
        const n = 70001;
        const [a, b] = both((be, ref) => {
          const w = ref([n], 1, dtype).storage;
          const st = [be.fill(n, 0, dtype), be.fill(n, 0, dtype)];
          for (let step = 1; step <= 3; step++) {
            const grad = ref([n], 10 + step, dtype).storage;
            be.applyUpdate(rule, w, grad, st.slice(0, UPDATE_STATES[rule]), {
              lr: 0.01, momentum: 0.9, beta1: 0.9, beta2: 0.999, eps: 1e-8, step, weightDecay: 1e-4, decoupledDecay: 0.01,
            });
          }
          return [w, ...st];
        });
        expectClose(a, b, dtype === 'float32' ? 1e-6 : 1e-13);
      }
    }
  });

  it('fused optimizer updates: every ISA build and thread count gives the same bits (odd lengths, float64)', () => {
    const be = nativeBackend_;
    const isa = be.isaInfo();
    const run = (rule: (typeof UPDATE_RULES)[number], n: number, dt: DType): TypedArray[] => {
      const w = be.upload(values(n, 1, dt));
      const st = [be.fill(n, 0, dt), be.fill(n, 0, dt)];
      const grads: Storage[] = [];
      for (let step = 1; step <= 3; step++) {
        const grad = be.upload(values(n, 10 + step, dt));
        grads.push(grad);
        be.applyUpdate(rule, w, grad, st.slice(0, UPDATE_STATES[rule]), {
          lr: 0.01, momentum: 0.9, beta1: 0.9, beta2: 0.999, eps: 1e-8, step, weightDecay: 1e-4, decoupledDecay: 0.01,
        });
      }
      const out = [w, ...st].map((x) => (be.readSync(x) as TypedArray).slice());
      for (const x of [w, ...st, ...grads]) be.dispose(x);
      return out;
    };
    try {
      for (const rule of UPDATE_RULES) {
        for (const dt of ['float32', 'float64'] as DType[]) {
          // below one vector, not a multiple of one, and long enough to be split across threads
          for (const n of [1, 7, 33, 70001]) {
            let first: TypedArray[] | null = null;
            for (const kernel of isa.supported) {
              be.setIsa(kernel);
              for (const threads of [1, 2, 3]) {
                be.setThreads(threads);
                const got = run(rule, n, dt);
                if (!first) first = got;
                else got.forEach((a, k) => expect(Buffer.from(a.buffer).equals(Buffer.from(first![k]!.buffer)), `${rule} ${kernel} ${threads} thread(s) n=${n} ${dt} output ${k}`).toBe(true));
              }
            }
          }
        }
      }
    } finally {
      be.setIsa(isa.isa);
      be.setThreads(isa.threads);
    }
  });

  it('the buffer pool returns every byte and reuses blocks across identical steps', () => {
    const be = nativeBackend_;
    const before = be.liveBytes();
    const x = g.randn([50, 1, 28, 28], { device: 'native', seed: 1 });
    const w = g.randn([32, 1, 3, 3], { device: 'native', seed: 2, requiresGrad: true });
    const step = (): void => {
      g.tidy(() => {
        const y = g.sum(g.relu(g.conv2d(x, w)));
        g.grad(y, [w]);
      });
    };
    step();
    const s1 = be.poolStats();
    step();
    step();
    const s2 = be.poolStats();
    expect(s2.allocations).toBe(s1.allocations);
    expect(s2.reuses).toBeGreaterThan(s1.reuses);
    x.dispose();
    w.dispose();
    expect(be.liveBytes()).toBe(before);
  });
});
