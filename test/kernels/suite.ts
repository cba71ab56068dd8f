// The one kernel-level suite: every kernel of the contract on a backend against the cpu reference,
// run on every backend present (kernels/native.test.ts, kernels/webgpu.test.ts,
// kernels/cuda-host.test.ts, cuda/cuda-device.test.ts): odd sizes, broadcasting, every axis set,
// both reduction splits, tile edges of the GEMM, window geometries with padding and overlap, NaN and
// tie rules, Philox numbers, optimizer steps. The op lists come from the op-code table, so a new op
// is checked on every backend without touching this file. Backend-specific checks (algorithms,
// pools, error messages) stay next to each backend's call of defineKernelSuite.
import { describe, expect, it } from 'vitest';
import type { Backend, UnaryOp, UpdateParams, WindowGeom } from '../../src/backends/backend.js';
import {
  ARG_REDUCE_OPS, BINARY_OPS, RANDOM_KINDS, REDUCE_OPS, UNARY_OPS, UPDATE_RULES, UPDATE_STATES,
} from '../../src/backends/opcodes.js';
import type { DType } from '../../src/dtype.js';
import { DTypeError } from '../../src/errors.js';
import { both, expectClose, expectSame, size, vals } from './harness.js';

const F32 = 1e-5;
const F64 = 1e-12;

/** What a backend stores and computes exactly; the suite checks everything else it can run. */
export interface KernelProfile {
  /** The dtypes the backend supports (webgpu has no float64). */
  dtypes: readonly DType[];
  /**
   * Unary ops whose int32 results equal the reference's (computed in double, then ToInt32). A
   * backend that evaluates the rest in float32 (webgpu) rounds e.g. tanh(10) to 1 first.
   */
  int32Unary: readonly UnaryOp[];
  /**
   * float32 Philox draws: 0 where they equal the reference bit for bit; otherwise the tolerance of a
   * backend that maps to uniform and normal in float32 arithmetic (a few ulps).
   */
  randomTol: number;
  /**
   * Kernels this backend runs on floats only (the op layer never sends them int32): the suite checks
   * that an int32 call is refused with a DTypeError instead of comparing values.
   */
  floatOnly: readonly ('matmul' | 'random')[];
}

/** A backend that computes in double like the cpu reference (native, cuda). */
export const FULL: KernelProfile = { dtypes: ['float32', 'float64', 'int32'], int32Unary: UNARY_OPS, randomTol: 0, floatOnly: [] };

function geom(n: number, c: number, h: number, w: number, kh: number, kw: number, sh: number, sw: number, ph: number, pw: number): WindowGeom {
  return { n, c, h, w, kh, kw, sh, sw, ph, pw, oh: Math.floor((h + 2 * ph - kh) / sh) + 1, ow: Math.floor((w + 2 * pw - kw) / sw) + 1 };
}

const GEOMS: WindowGeom[] = [
  geom(2, 3, 7, 9, 3, 3, 2, 2, 1, 1),
  geom(1, 2, 5, 5, 2, 2, 1, 1, 0, 0),
  geom(2, 1, 8, 6, 3, 3, 3, 3, 2, 2),
  geom(1, 2, 9, 7, 5, 3, 2, 1, 2, 1),
  geom(3, 2, 6, 6, 2, 2, 2, 2, 0, 0),
];

/** Define the suite for the backend `get()` returns (called inside tests only, after skip checks). */
export function defineKernelSuite(label: string, enabled: boolean, get: () => Backend, profile: KernelProfile = FULL): void {
  let cached: Backend | null = null;
  const devOf = (): Backend => (cached ??= get());
  const has = (d: DType): boolean => profile.dtypes.includes(d);
  const FLOATS = ([['float32', F32], ['float64', F64]] as [DType, number][]).filter(([d]) => has(d));
  const ALL = [...FLOATS, ['int32', 0] as [DType, number]];
  const DTYPES = profile.dtypes;
  /** The widest float the backend has, for checks of special values. */
  const WIDE: [DType, number] = FLOATS[FLOATS.length - 1]!;
  describe.skipIf(!enabled)(`${label}: elementwise`, () => {
    it('unary: every op, every dtype, odd size, including NaN-producing inputs', async () => {
      const x = [...vals(103, 1), 0, -0, 40, -40, 100, Infinity, -Infinity, NaN];
      for (const op of UNARY_OPS) {
        for (const [dt, tol] of ALL) {
          if (dt === 'int32' && !profile.int32Unary.includes(op)) continue;
          const input = dt === 'int32' ? vals(111, 2, 'int') : x;
          await expectSame(devOf(), (b, put) => b.unary(op, put(input, [input.length], dt), 0.1), tol, `${op} ${dt}`);
        }
      }
    });

    it('binary: every op under broadcasting of several shape pairs and dtypes', async () => {
      const cases: [number[], number[], number[]][] = [
        [[3, 1, 5], [4, 1], [3, 4, 5]],
        [[2, 3, 4], [2, 3, 4], [2, 3, 4]],
        [[1], [6, 7], [6, 7]],
        [[], [2, 3], [2, 3]],
        [[2, 1, 3, 1, 2, 1], [1, 4, 1, 3, 1, 5], [2, 4, 3, 3, 2, 5]],
        [[5, 1], [1, 1, 3], [1, 5, 3]],
      ];
      for (const op of BINARY_OPS) {
        for (const [sa, sb, so] of cases) {
          for (const [dt, tol] of ALL) {
            const kind = dt === 'int32' ? 'int' : op === 'pow' ? 'positive' : 'coarse';
            const a = vals(size(sa), 3, kind);
            const bv = op === 'pow' && dt === 'int32' ? vals(size(sb), 4, 'int').map((v) => Math.abs(v) % 4) : vals(size(sb), 4, kind === 'positive' ? 'normal' : kind);
            await expectSame(devOf(), (b, put) => b.binary(op, put(a, sa, dt), put(bv, sb, dt), so), tol, `${op} ${dt} ${JSON.stringify([sa, sb])}`);
          }
        }
      }
    });

    it('binary pow follows Math.pow on NaN exponents and (+-1)^(+-inf)', async () => {
      const a = [1, -1, 1, -1, 2, NaN, 0, 0];
      const e = [NaN, Infinity, -Infinity, NaN, NaN, 0, -1, 0];
      await expectSame(devOf(), (b, put) => b.binary('pow', put(a, [8], WIDE[0]), put(e, [8], WIDE[0]), [8]), WIDE[1], 'pow');
    });

    it('maximum / minimum follow Math.max / Math.min: NaN wins, +0 ranks above -0', async () => {
      const a = [NaN, 1, -0, 0, -0, 2, -Infinity, 3, 0];
      const c = [1, NaN, 0, -0, -0, 2, NaN, -1, 0];
      for (const [dt] of FLOATS) {
        for (const op of ['maximum', 'minimum'] as const) {
          await expectSame(devOf(), (b, put) => b.binary(op, put(a, [9], dt), put(c, [9], dt), [9]), 0, `${op} ${dt}`);
          for (const s of [-0, 0, NaN]) {
            for (const left of [false, true]) {
              await expectSame(devOf(), (b, put) => b.binaryScalar(op, put(a, [9], dt), s, left), 0, `${op} scalar ${s} ${left}`);
            }
          }
        }
      }
    });

    it('binaryScalar: every op, scalar on either side', async () => {
      for (const op of BINARY_OPS) {
        for (const left of [false, true]) {
          for (const [dt, tol] of ALL) {
            const x = dt === 'int32' ? vals(37, 5, 'int') : vals(37, 5, op === 'pow' && left ? 'normal' : 'positive');
            await expectSame(devOf(), (b, put) => b.binaryScalar(op, put(x, [37], dt), 1.5, left), tol, `${op} ${dt} left=${left}`);
          }
        }
      }
    });

    it('where: broadcast condition of any dtype', async () => {
      for (const cdt of DTYPES) {
        for (const [dt, tol] of ALL) {
          const c = vals(4, 6, 'int').map((v) => (v > 0 ? 1 : 0));
          await expectSame(devOf(), (b, put) => b.where(put(c, [4, 1], cdt), put(vals(15, 7), [3, 1, 5], dt), put(vals(5, 8), [5], dt), [3, 4, 5]), tol, `${cdt}->${dt}`);
        }
      }
    });

    it('cast between every pair of dtypes, int32 following Math.trunc and ToInt32', async () => {
      const x = [0, -0, 1.5, -1.5, 2.5, -2.7, 1e10, -3e9, 2147483647, 2147483648, NaN, Infinity, -Infinity, 123456.789];
      for (const from of DTYPES) for (const to of DTYPES) await expectSame(devOf(), (b, put) => b.cast(put(x, [x.length], from), to), 0, `${from}->${to}`);
    });

    it('fill in every dtype', async () => {
      for (const dt of DTYPES) {
        for (const v of [0, -2.5, 7, 1e-3]) await expectSame(devOf(), (b) => b.fill(13, v, dt), 0, `fill ${dt} ${v}`);
      }
    });
  });

  describe.skipIf(!enabled)(`${label}: Philox random numbers equal the cpu backend`, () => {
    const draws = [
      { seedLo: 1234, seedHi: 0, stream: 0, offset: 0 },
      { seedLo: 0xdeadbeef, seedHi: 0x9e3779b9, stream: 7, offset: 1000 },
      // The counter's low word wraps inside this draw.
      { seedLo: 42, seedHi: 1, stream: 3, offset: 2 ** 32 - 5 },
      { seedLo: 5, seedHi: 6, stream: 0xffffffff, offset: 3 * 2 ** 32 + 17 },
    ];
    it('every kind: float32 bit for bit (or within the profile\'s tolerance), float64 to rounding, int32 exactly', async () => {
      const range = { uniform: [-2, 3], normal: [0.5, 2], bernoulli: [0.3, 0] } as const;
      expect(Object.keys(range)).toEqual([...RANDOM_KINDS]);
      for (const d of draws) {
        for (const kind of RANDOM_KINDS) {
          const [a, b] = range[kind];
          const p = { ...d, kind, a, b };
          await expectSame(devOf(), (be) => be.random(1031, 'float32', p), kind === 'bernoulli' ? 0 : profile.randomTol, `${kind} f32 ${JSON.stringify(d)}`);
          if (has('float64')) await expectSame(devOf(), (be) => be.random(1031, 'float64', p), kind === 'normal' ? 1e-14 : 0, `${kind} f64`);
          const p32 = { ...p, a: kind === 'bernoulli' ? 0.5 : -50, b: 50 };
          if (profile.floatOnly.includes('random')) expect(() => devOf().random(257, 'int32', p32)).toThrow(DTypeError);
          else await expectSame(devOf(), (be) => be.random(257, 'int32', p32), 0, `${kind} i32`);
        }
      }
    });
    it('a draw long enough to be split across threads, its counters wrapping inside a thread\'s part', async () => {
      // 20,011 values in parts that start at counters that are no multiple of the SIMD width.
      const p = { seedLo: 99, seedHi: 3, stream: 11, offset: 2 ** 32 - 9_001, kind: 'normal' as const, a: -1, b: 3 };
      await expectSame(devOf(), (be) => be.random(20_011, 'float32', p), profile.randomTol, 'normal f32 long');
      if (has('float64')) await expectSame(devOf(), (be) => be.random(20_011, 'float64', p), 1e-14, 'normal f64 long');
    });
  });

  describe.skipIf(!enabled)(`${label}: reductions`, () => {
    it('sum / max / min over every axis subset of a rank-4 tensor', async () => {
      const shape = [4, 5, 6, 7];
      const x = vals(size(shape), 9);
      const subsets: number[][] = [];
      for (let m = 0; m < 16; m++) subsets.push([0, 1, 2, 3].filter((d) => m & (1 << d)));
      for (const op of REDUCE_OPS) {
        for (const axes of subsets) {
          for (const [dt, tol] of ALL) {
            const input = dt === 'int32' ? vals(size(shape), 9, 'int') : x;
            await expectSame(devOf(), (b, put) => b.reduce(op, put(input, shape, dt), axes), tol, `${op} ${dt} axes ${axes}`);
          }
        }
      }
    });

    it('both GPU splits: block per segment (long rows) and thread per segment (many columns)', async () => {
      const cases: [number[], number[]][] = [
        [[3, 2049], [1]], // contiguous reduction, block per segment, several strides per thread
        [[2049, 3], [0]], // few segments, strided
        [[5, 1500], [0]], // many contiguous segments: thread per segment
        [[300, 2, 5], [0, 2]],
        [[7, 1, 1, 9], [1, 2]],
        [[1], [0]],
        [[], []],
      ];
      for (const op of REDUCE_OPS) {
        for (const [shape, axes] of cases) {
          await expectSame(devOf(), (b, put) => b.reduce(op, put(vals(size(shape), 10), shape), axes), F32, `${op} ${shape} ${axes}`);
        }
      }
    });

    it('few long segments are split into chunks across blocks (full sums, long rows)', async () => {
      const long = vals(3 * 100_000, 41);
      long[250_000] = NaN;
      for (const op of REDUCE_OPS) {
        await expectSame(devOf(), (b, put) => b.reduce(op, put(long.slice(0, 70_001), [70_001]), [0]), F32, `${op} full`);
        await expectSame(devOf(), (b, put) => b.reduce(op, put(long, [3, 100_000]), [1]), F32, `${op} rows with a NaN`);
        await expectSame(devOf(), (b, put) => b.reduce(op, put(long, [2, 3, 50_000]), [0, 2]), F32, `${op} axes 0,2`);
        if (has('float64')) await expectSame(devOf(), (b, put) => b.reduce(op, put(long, [3, 100_000], 'float64'), [1]), F64, `${op} float64`);
      }
      const coarse = vals(2 * 50_000, 42, 'coarse');
      coarse[70_000] = NaN;
      coarse[60_000] = NaN;
      for (const op of ARG_REDUCE_OPS) {
        await expectSame(devOf(), (b, put) => b.argReduce(op, put(coarse, [2, 50_000]), 1), 0, `${op} long`);
      }
    });

    it('max / min propagate NaN; empty reductions give 0, -inf, +inf', async () => {
      const x = [1, NaN, 3, 4, 5, 6, NaN, 8, 9, 10, 11, 12];
      for (const op of REDUCE_OPS) {
        await expectSame(devOf(), (b, put) => b.reduce(op, put(x, [3, 4]), [1]), F32, `${op} NaN rows`);
        await expectSame(devOf(), (b, put) => b.reduce(op, put(x, [3, 4]), [0]), F32, `${op} NaN cols`);
        await expectSame(devOf(), (b, put) => b.reduce(op, put([], [0, 3]), [0]), F32, `${op} empty`);
      }
    });

    it('argmax / argmin along every axis, with ties (first wins) and NaN (wins only at position 0)', async () => {
      const shape = [4, 5, 6];
      for (const op of ARG_REDUCE_OPS) {
        for (const axis of [0, 1, 2]) {
          for (const dt of DTYPES) {
            const x = vals(size(shape), 11, dt === 'int32' ? 'int' : 'coarse');
            await expectSame(devOf(), (b, put) => b.argReduce(op, put(x, shape, dt), axis), 0, `${op} axis ${axis} ${dt}`);
          }
        }
        const nan = [NaN, 1, 2, 3, 5, NaN, 5, 1, -Infinity, -Infinity, NaN, NaN, 2, NaN, NaN, 2];
        await expectSame(devOf(), (b, put) => b.argReduce(op, put(nan, [4, 4]), 1), 0, `${op} NaN rows`);
        await expectSame(devOf(), (b, put) => b.argReduce(op, put(nan, [4, 4]), 0), 0, `${op} NaN cols`);
        const long = vals(3 * 1000, 12, 'coarse');
        await expectSame(devOf(), (b, put) => b.argReduce(op, put(long, [3, 1000]), 1), 0, `${op} long rows`);
        await expectSame(devOf(), (b, put) => b.argReduce(op, put(long, [1000, 3]), 0), 0, `${op} long strided`);
      }
    });
  });

  describe.skipIf(!enabled)(`${label}: layout`, () => {
    it('permute, broadcastTo, slice in every dtype (4- and 8-byte words)', async () => {
      for (const [dt, tol] of ALL) {
        const shape = [2, 3, 4, 5, 3];
        const x = vals(size(shape), 13, 'int');
        for (const perm of [[4, 3, 2, 1, 0], [0, 2, 1, 4, 3], [1, 0, 2, 3, 4], [0, 1, 2, 3, 4]]) {
          await expectSame(devOf(), (b, put) => b.permute(put(x, shape, dt), perm), tol, `permute ${perm}`);
        }
        await expectSame(devOf(), (b, put) => b.broadcastTo(put(vals(6, 14), [3, 1, 2], dt), [4, 3, 5, 2]), tol, 'broadcastTo');
        await expectSame(devOf(), (b, put) => b.broadcastTo(put([7], [], dt), [2, 3]), tol, 'broadcastTo scalar');
        await expectSame(devOf(), (b, put) => b.slice(put(x, shape, dt), [1, 0, 1, 2, 0], [1, 3, 2, 3, 2]), tol, 'slice');
        await expectSame(devOf(), (b, put) => b.slice(put(x, shape, dt), [0, 1, 0, 0, 0], [2, 0, 4, 5, 3]), tol, 'slice empty');
      }
    });

    it('pad with a value and concat along each axis', async () => {
      for (const [dt, tol] of ALL) {
        const x = vals(24, 15, 'int');
        await expectSame(devOf(), (b, put) => b.pad(put(x, [2, 3, 4], dt), [1, 0, 2], [0, 2, 1], -1.5), tol, `pad ${dt}`);
        await expectSame(devOf(), (b, put) => b.pad(put(x, [24], dt), [0], [0], 0), tol, `pad nothing ${dt}`);
        for (const axis of [0, 1, 2]) {
          const shapes = [[2, 3, 4], [2, 3, 4], [2, 3, 4]].map((s, k) => s.map((d, i) => (i === axis ? d + k : d)));
          await expectSame(devOf(), (b, put) => b.concat(shapes.map((s, k) => put(vals(size(s), 16 + k), s, dt)), axis), tol, `concat axis ${axis} ${dt}`);
        }
      }
    });
  });

  describe.skipIf(!enabled)(`${label}: matmul (the tiled GEMM)`, () => {
    it('transposes, tile edges, broadcast batches, K = 0, every dtype', async () => {
      const cases: [number[], number[], number[], boolean, boolean][] = [
        [[5, 7], [7, 3], [5, 3], false, false],
        [[37, 45], [45, 29], [37, 29], false, false],
        [[45, 37], [45, 29], [37, 29], true, false],
        [[37, 45], [29, 45], [37, 29], false, true],
        [[45, 37], [29, 45], [37, 29], true, true],
        [[2, 1, 3, 4], [5, 4, 6], [2, 5, 3, 6], false, false],
        [[3, 17, 16], [16, 18], [3, 17, 18], false, false],
        [[4, 16], [2, 3, 16, 5], [2, 3, 4, 5], false, false],
        [[1, 1], [1, 1], [1, 1], false, false],
        [[3, 0], [0, 4], [3, 4], false, false],
        [[2, 1, 33], [2, 33, 1], [2, 1, 1], false, false],
      ];
      for (const [sa, sb, so, ta, tb] of cases) {
        for (const [dt, tol] of ALL.map(([d, t]): [DType, number] => [d, d === 'float32' ? 3e-6 : t])) {
          const kind = dt === 'int32' ? 'int' : 'normal';
          if (dt === 'int32' && profile.floatOnly.includes('matmul')) {
            await expect(both(devOf(), (b, put) => b.matmul(put(vals(size(sa), 17, kind), sa, dt), put(vals(size(sb), 18, kind), sb, dt), ta, tb, so))).rejects.toThrow(DTypeError);
            continue;
          }
          await expectSame(devOf(), (b, put) => b.matmul(put(vals(size(sa), 17, kind), sa, dt), put(vals(size(sb), 18, kind), sb, dt), ta, tb, so), tol, `${sa}x${sb} ${ta} ${tb} ${dt}`);
        }
      }
    });
  });

  describe.skipIf(!enabled)(`${label}: convolution and pooling`, () => {
    it('im2col and col2im (as a gather) over several window geometries', async () => {
      for (const g of GEOMS) {
        for (const [dt, tol] of FLOATS) {
          await expectSame(devOf(), (b, put) => b.im2col(put(vals(g.n * g.c * g.h * g.w, 19), [g.n, g.c, g.h, g.w], dt), g), 0, `im2col ${JSON.stringify(g)}`);
          const cols = [g.n, g.c * g.kh * g.kw, g.oh * g.ow];
          await expectSame(devOf(), (b, put) => b.col2im(put(vals(size(cols), 20), cols, dt), g), tol, `col2im ${JSON.stringify(g)}`);
        }
      }
    });

    it('fused convolution (forward, input and weight gradients) over the window geometries and small maps of many channels', async () => {
      // The window geometries with four output channels, then maps of 3x3, 2x3 (strided) and 1x1
      // output pixels over 40 input channels: backends with per-geometry algorithms (native's
      // pixel-major batch GEMM for small maps, its direct row kernel for few input channels) take
      // their automatic choice on each.
      const cases: [WindowGeom, number][] = [
        ...GEOMS.map((g) => [g, 4] as [WindowGeom, number]),
        [geom(3, 40, 5, 5, 3, 3, 1, 1, 0, 0), 12],
        [geom(1, 40, 5, 7, 3, 3, 2, 2, 1, 1), 9],
        [geom(2, 40, 4, 4, 4, 4, 1, 1, 0, 0), 5],
      ];
      for (const [g, o] of cases) {
        const xs = [g.n, g.c, g.h, g.w], ws = [o, g.c, g.kh, g.kw], ys = [g.n, o, g.oh, g.ow];
        const x = vals(size(xs), 44), w = vals(size(ws), 45), gy = vals(size(ys), 46);
        for (const [dt, tol] of FLOATS) {
          const what = `${dt} ${JSON.stringify(g)} O ${o}`;
          await expectSame(devOf(), (b, put) => b.conv2d(put(x, xs, dt), put(w, ws, dt), g), tol, `conv2d ${what}`);
          await expectSame(devOf(), (b, put) => b.conv2dBackwardInput(put(gy, ys, dt), put(w, ws, dt), g), tol, `conv2dBackwardInput ${what}`);
          await expectSame(devOf(), (b, put) => b.conv2dBackwardWeight(put(x, xs, dt), put(gy, ys, dt), g), tol, `conv2dBackwardWeight ${what}`);
        }
      }
    });

    it('maxPool2d indices (first max wins), gather, and scatter over overlapping windows', async () => {
      for (const g of GEOMS) {
        for (const [dt, tol] of FLOATS) {
          for (const kind of ['normal', 'coarse'] as const) {
            const shape = [g.n, g.c, g.h, g.w];
            const x = vals(size(shape), 21, kind);
            await expectSame(devOf(), (b, put) => { const r = b.maxPool2d(put(x, shape, dt), g); return [r.out, r.idx]; }, 0, `maxPool2d ${kind}`);
            const gy = vals(g.n * g.c * g.oh * g.ow, 22);
            // Indices from the cpu reference's maxPool2d, so both backends scatter the same choices.
            const [[, idx]] = await both(devOf(), (b, put) => { const r = b.maxPool2d(put(x, shape, dt), g); return [r.out, r.idx]; });
            const oshape = [g.n, g.c, g.oh, g.ow];
            await expectSame(devOf(), (b, put) => b.maxPoolGather(put(x, shape, dt), put(idx!, oshape, 'int32'), g), 0, 'maxPoolGather');
            await expectSame(devOf(), (b, put) => b.maxPoolScatter(put(gy, oshape, dt), put(idx!, oshape, 'int32'), g), tol, 'maxPoolScatter');
          }
        }
      }
    });

    it('maxPool2d: the first NaN in a window wins', async () => {
      const g = GEOMS[0]!;
      const shape = [g.n, g.c, g.h, g.w];
      const x = vals(size(shape), 43);
      for (const i of [0, 5, 17, 18, 40, 41, 200]) x[i] = NaN;
      for (const [dt] of FLOATS) {
        await expectSame(devOf(), (b, put) => { const r = b.maxPool2d(put(x, shape, dt), g); return [r.out, r.idx]; }, 0, `maxPool2d NaN ${dt}`);
      }
    });

    it('avgPool2d and its adjoint', async () => {
      for (const g of GEOMS) {
        for (const [dt, tol] of FLOATS) {
          await expectSame(devOf(), (b, put) => b.avgPool2d(put(vals(g.n * g.c * g.h * g.w, 23), [g.n, g.c, g.h, g.w], dt), g), tol, 'avgPool2d');
          await expectSame(devOf(), (b, put) => b.avgPool2dBackward(put(vals(g.n * g.c * g.oh * g.ow, 24), [g.n, g.c, g.oh, g.ow], dt), g), tol, 'avgPool2dBackward');
        }
      }
    });
  });

  describe.skipIf(!enabled)(`${label}: batch norm`, () => {
    it('forward and fused backward over [N, C, *] with channels longer than a block', async () => {
      // [2, 3, 100, 100]: few channels of 20000 values each, split across blocks.
      for (const shape of [[4, 3, 5, 6], [2, 5], [8, 2, 40], [1, 1, 1], [2, 3, 100, 100]]) {
        for (const [dt, tol] of FLOATS) {
          const c = shape[1]!;
          const x = vals(size(shape), 25).map((v) => v * 3 + 1);
          const gamma = vals(c, 26);
          const beta = vals(c, 27);
          await expectSame(devOf(), (b, put) => {
            const r = b.batchNormForward(put(x, shape, dt), put(gamma, [c], dt), put(beta, [c], dt), 1e-5);
            return [r.y, r.mean, r.variance];
          }, tol * 10, `bn forward ${shape} ${dt}`);
          const mean = vals(c, 28);
          const variance = vals(c, 29, 'positive');
          await expectSame(devOf(), (b, put) => {
            const r = b.batchNormBackward(put(x, shape, dt), put(vals(size(shape), 30), shape, dt), put(mean, [c], dt), put(variance, [c], dt), put(gamma, [c], dt), 1e-5);
            return [r.dx, r.dgamma, r.dbeta];
          }, tol * 10, `bn backward ${shape} ${dt}`);
        }
      }
    });
  });

  describe.skipIf(!enabled)(`${label}: softmax family`, () => {
    it('softmax, logSoftmax, softmaxHvp over short and long rows', async () => {
      // [2, 20000]: few long rows, split across blocks.
      for (const shape of [[5, 7], [3, 1000], [1, 1], [2, 3, 4], [4, 300], [2, 20_000]]) {
        for (const [dt, tol] of FLOATS) {
          const x = vals(size(shape), 31).map((v) => v * 4);
          await expectSame(devOf(), (b, put) => b.softmax(put(x, shape, dt)), tol, `softmax ${shape}`);
          await expectSame(devOf(), (b, put) => b.logSoftmax(put(x, shape, dt)), tol, `logSoftmax ${shape}`);
          await expectSame(devOf(), (b, put) => b.softmaxHvp(put(x.map(Math.abs), shape, dt), put(vals(size(shape), 32), shape, dt)), tol, `hvp ${shape}`);
        }
      }
    });

    it('crossEntropy, the fused softmax-CE gradient and oneHot', async () => {
      for (const [n, c] of [[6, 5], [3, 700], [1, 1], [2, 9000]]) {
        const labels = vals(n, 33, 'positive').map((v) => Math.floor((v - 0.5) / 1.5 * c));
        const z = vals(n * c, 34).map((v) => v * 5);
        for (const [dt, tol] of FLOATS) {
          await expectSame(devOf(), (b, put) => b.crossEntropy(put(z, [n, c], dt), put(labels, [n], 'int32')), tol, `ce ${n}x${c}`);
          await expectSame(devOf(), (b, put) => b.softmaxCrossEntropyGrad(put(z, [n, c], dt), put(labels, [n], 'int32')), tol, `ce grad ${n}x${c}`);
        }
      }
      for (const dt of DTYPES) {
        await expectSame(devOf(), (b, put) => b.oneHot(put([0, 4, 2, -1, 5, 3], [6], 'int32'), 5, dt), 0, `oneHot ${dt}`);
      }
    });
  });

  describe.skipIf(!enabled)(`${label}: fused optimizer updates`, () => {
    it('every rule, several steps, coupled and decoupled decay, float32 and float64', async () => {
      const n = 1031;
      for (const rule of UPDATE_RULES) {
        const states = UPDATE_STATES[rule];
        for (const [dt, tol] of FLOATS) {
          await expectSame(devOf(), (b, put) => {
            const w = put(vals(n, 35), [n], dt).storage;
            const st = Array.from({ length: states }, (_, k) => put(vals(n, 36 + k, 'positive'), [n], dt).storage);
            for (let step = 1; step <= 3; step++) {
              const p: UpdateParams = { lr: 0.05, momentum: 0.9, beta1: 0.9, beta2: 0.99, eps: 1e-8, step, weightDecay: 1e-2, decoupledDecay: step === 2 ? 0.1 : 0 };
              b.applyUpdate(rule, w, put(vals(n, 40 + step), [n], dt).storage, st, p);
            }
            return [w, ...st];
          }, tol * 10, `${rule} ${dt}`);
        }
      }
    });
  });

  describe.skipIf(!enabled)(`${label}: the kernel harness compares for real`, () => {
    it('catches a wrong answer', async () => {
      const [want, got] = await both(devOf(), (b, put) => b.unary('exp', put([1, 2], [2]), 0));
      expect(() => expectClose(got[0]!, Float32Array.from(want[0]!, (v) => v * 1.001), 1e-5)).toThrow();
    });
  });
}
