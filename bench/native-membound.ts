/**
 * The memory-bound kernels of the native CPU backend at the shapes of the exact-penalty steps
 * (batch-norm forward / backward / double backward, the binary add of residual blocks, relu's
 * backward `where`, max-pool gather and scatter, fill), called straight through the addon so
 * nothing but the kernel is timed. Each case reports best-of-reps milliseconds and GB/s of
 * compulsory traffic (every operand read once, every output written once).
 *
 * With GRADREG_NATIVE_ADDON_OLD=<path to another build's gradreg_cpu.node> both addons run in the
 * same process, alternating old and new call by call, on bit-identical inputs; the outputs are
 * compared bit for bit (`same` when equal, else the largest relative difference).
 *
 * `--cold` rotates each case through enough copies of its operands (128 MB, four times the L3) that
 * operands come from DRAM, as in a training step; by default the same operands are reused (L3-resident).
 *
 * `--isa portable|avx2|avx512` selects the kernels' ISA (the GEMM's setting, which batch norm follows).
 *
 *   GRADREG_NATIVE_THREADS=1 GRADREG_NATIVE_ADDON_OLD=/tmp/old/gradreg_cpu.node npx tsx bench/native-membound.ts [--cold] [--reps N] [--isa I] [filter]
 */
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { addonPath, type Isa, type NativeAddon } from '../src/backends/native/addon.js';
import { ParamBlock } from '../src/backends/params.js';
import { BINARY_CODE, RANDOM_CODE } from '../src/backends/opcodes.js';

const args = process.argv.slice(2);
const cold = args.includes('--cold');
const repsAt = args.indexOf('--reps');
const reps = repsAt >= 0 ? Number(args[repsAt + 1]) : 40;
const isaAt = args.indexOf('--isa');
const isa = isaAt >= 0 ? (args[isaAt + 1] as Isa) : null;
const filter = args.filter((a, i) => !a.startsWith('--') && (repsAt < 0 || i !== repsAt + 1) && (isaAt < 0 || i !== isaAt + 1))[0] ?? '';

const req = createRequire(import.meta.url);
const addons: { label: string; a: NativeAddon; P: ParamBlock }[] = [];
const oldPath = process.env.GRADREG_NATIVE_ADDON_OLD;
if (oldPath) {
  const a = req(resolve(oldPath)) as NativeAddon;
  addons.push({ label: 'old', a, P: new ParamBlock(a.params) });
}
{
  const a = req(addonPath()) as NativeAddon;
  addons.push({ label: 'new', a, P: new ParamBlock(a.params) });
}

if (isa) {
  for (const x of addons) {
    if (!x.a.setIsa(isa)) throw new Error(`${x.label}: this CPU cannot run ${isa}`);
  }
}

type DT = 'float32' | 'float64';
interface Buf {
  ptr: number;
  view: Float32Array | Float64Array | Int32Array;
}
function alloc(a: NativeAddon, dt: DT | 'int32', n: number): Buf {
  const buf = a.alloc(Math.max(1, n) * (dt === 'float64' ? 8 : 4));
  const ptr = a.params[0]!;
  const view = dt === 'float32' ? new Float32Array(buf, 0, n) : dt === 'float64' ? new Float64Array(buf, 0, n) : new Int32Array(buf, 0, n);
  return { ptr, view };
}
function randn(x: { a: NativeAddon; P: ParamBlock }, dt: DT, n: number, seed: number, mean = 0): Buf {
  const b = alloc(x.a, dt, n);
  x.P.reset().dtype(dt).num(b.ptr, n, RANDOM_CODE.normal, seed, 0, 0, 0, mean, 1);
  x.a.random();
  return b;
}

interface Case {
  name: string;
  /** Compulsory bytes moved per call. */
  bytes: number;
  /** Inputs and outputs of one operand set, made with the given addon. */
  make(x: { a: NativeAddon; P: ParamBlock }, seed: number): { call(): void; outs: Buf[] };
}

const bnCases = (dt: DT, n: number, c: number, s: number): Case[] => {
  const e = dt === 'float64' ? 8 : 4;
  const N = n * c * s;
  const tag = `${dt === 'float64' ? 'f64 ' : ''}[${n},${c},${s}]`;
  const params = (x: { a: NativeAddon; P: ParamBlock }, seed: number) => {
    const xb = randn(x, dt, N, seed, 0.5), g = randn(x, dt, N, seed + 1), u = randn(x, dt, N, seed + 2);
    const gamma = randn(x, dt, c, seed + 3, 1), beta = randn(x, dt, c, seed + 4);
    const mean = alloc(x.a, dt, c), vr = alloc(x.a, dt, c), y = alloc(x.a, dt, N);
    x.P.reset().dtype(dt).num(xb.ptr, gamma.ptr, beta.ptr, 1e-5, n, c, s, y.ptr, mean.ptr, vr.ptr);
    x.a.batchNormForward();
    return { xb, g, u, gamma, beta, mean, vr, y };
  };
  return [
    {
      name: `batchNormForward ${tag}`, bytes: 2 * N * e,
      make(x, seed) {
        const p = params(x, seed);
        return { outs: [p.y, p.mean, p.vr], call: () => { x.P.reset().dtype(dt).num(p.xb.ptr, p.gamma.ptr, p.beta.ptr, 1e-5, n, c, s, p.y.ptr, p.mean.ptr, p.vr.ptr); x.a.batchNormForward(); } };
      },
    },
    {
      name: `batchNormBackward ${tag}`, bytes: 3 * N * e,
      make(x, seed) {
        const p = params(x, seed);
        const dx = alloc(x.a, dt, N), dg = alloc(x.a, dt, c), db = alloc(x.a, dt, c);
        return { outs: [dx, dg, db], call: () => { x.P.reset().dtype(dt).num(p.xb.ptr, p.g.ptr, p.mean.ptr, p.vr.ptr, p.gamma.ptr, 1e-5, n, c, s, dx.ptr, dg.ptr, db.ptr, 1); x.a.batchNormBackward(); } };
      },
    },
    {
      name: `batchNormDoubleBackward ${tag}`, bytes: 5 * N * e,
      make(x, seed) {
        const p = params(x, seed);
        const gx = alloc(x.a, dt, N), gg = alloc(x.a, dt, N), dgm = alloc(x.a, dt, c);
        return { outs: [gx, gg, dgm], call: () => { x.P.reset().dtype(dt).num(p.xb.ptr, p.g.ptr, p.u.ptr, p.mean.ptr, p.vr.ptr, p.gamma.ptr, 1e-5, n, c, s, gx.ptr, gg.ptr, dgm.ptr, 1); x.a.batchNormDoubleBackward(); } };
      },
    },
  ];
};

const addCase = (dt: DT, shape: number[]): Case => {
  const N = shape.reduce((p, d) => p * d, 1), e = dt === 'float64' ? 8 : 4;
  return {
    name: `binary add ${dt === 'float64' ? 'f64 ' : ''}[${shape}]`, bytes: 3 * N * e,
    make(x, seed) {
      const a = randn(x, dt, N, seed), b = randn(x, dt, N, seed + 1), o = alloc(x.a, dt, N);
      const r = shape.length;
      return { outs: [o], call: () => { x.P.reset().dtype(dt).num(BINARY_CODE.add, a.ptr, b.ptr, o.ptr, r, r, r).dims(shape).dims(shape).dims(shape); x.a.binary(); } };
    },
  };
};

// relu's backward: where(y, g, 0) with y = relu(x) and a scalar zero.
const whereCase = (dt: DT, shape: number[]): Case => {
  const N = shape.reduce((p, d) => p * d, 1), e = dt === 'float64' ? 8 : 4;
  return {
    name: `where(relu(x), g, 0) ${dt === 'float64' ? 'f64 ' : ''}[${shape}]`, bytes: 3 * N * e,
    make(x, seed) {
      const y = randn(x, dt, N, seed), g = randn(x, dt, N, seed + 1), z = alloc(x.a, dt, 1), o = alloc(x.a, dt, N);
      for (let i = 0; i < N; i++) if (y.view[i]! < 0) y.view[i] = 0;
      z.view[0] = 0;
      const r = shape.length;
      return { outs: [o], call: () => { x.P.reset().dtype(dt).dtype(dt).num(y.ptr, g.ptr, z.ptr, o.ptr, r, r, r, 0).dims(shape).dims(shape).dims(shape); x.a.where(); } };
    },
  };
};

const poolCases = (dt: DT, n: number, c: number, h: number, w: number): Case[] => {
  const oh = Math.floor(h / 2), ow = Math.floor(w / 2);
  const N = n * c * h * w, M = n * c * oh * ow, e = dt === 'float64' ? 8 : 4;
  const geom = [n, c, h, w, 2, 2, 2, 2, 0, 0, oh, ow];
  const make = (x: { a: NativeAddon; P: ParamBlock }, seed: number) => {
    const xb = randn(x, dt, N, seed), out = alloc(x.a, dt, M), idx = alloc(x.a, 'int32', M);
    x.P.reset().dtype(dt).num(xb.ptr, out.ptr, idx.ptr, ...geom);
    x.a.maxPool2d();
    return { xb, out, idx };
  };
  return [
    {
      name: `maxPoolGather [${n},${c},${h},${w}]`, bytes: (M * e + M * 4 + M * e),
      make(x, seed) {
        const p = make(x, seed), o = alloc(x.a, dt, M);
        return { outs: [o], call: () => { x.P.reset().dtype(dt).num(p.xb.ptr, p.idx.ptr, o.ptr, ...geom, 1); x.a.maxPoolGather(); } };
      },
    },
    {
      name: `maxPoolScatter [${n},${c},${h},${w}]`, bytes: M * e + M * 4 + N * e,
      make(x, seed) {
        const p = make(x, seed), gy = randn(x, dt, M, seed + 5), o = alloc(x.a, dt, N);
        return { outs: [o], call: () => { x.P.reset().dtype(dt).num(gy.ptr, p.idx.ptr, o.ptr, ...geom, 1); x.a.maxPoolScatter(); } };
      },
    },
  ];
};

// The roofline: a plain copy (the layout kernel's memcpy per chunk) reads and writes N floats.
const copyCase = (N: number): Case => ({
  name: `copy (memcpy) [${N}]`, bytes: 8 * N,
  make(x, seed) {
    const a = randn(x, 'float32', N, seed), o = alloc(x.a, 'float32', N);
    return { outs: [o], call: () => { x.P.reset().num(4, a.ptr, o.ptr, 1, N, 1, 1); x.a.copy(); } };
  },
});

// The ResNet's global average pooling (8x8 windows over [50,64,8,8]) and its adjoint.
const avgCases = (n: number, c: number, h: number): Case[] => {
  const N = n * c * h * h, M = n * c, geom = [n, c, h, h, h, h, h, h, 0, 0, 1, 1];
  return [
    {
      name: `avgPool2d global [${n},${c},${h},${h}]`, bytes: 4 * (N + M),
      make(x, seed) {
        const a = randn(x, 'float32', N, seed), o = alloc(x.a, 'float32', M);
        return { outs: [o], call: () => { x.P.reset().dtype('float32').num(a.ptr, o.ptr, ...geom); x.a.avgPool2d(); } };
      },
    },
    {
      name: `avgPool2dBackward global [${n},${c},${h},${h}]`, bytes: 4 * (N + M),
      make(x, seed) {
        const gy = randn(x, 'float32', M, seed), o = alloc(x.a, 'float32', N);
        return { outs: [o], call: () => { x.P.reset().dtype('float32').num(gy.ptr, o.ptr, ...geom); x.a.avgPool2dBackward(); } };
      },
    },
  ];
};

const fillCase = (N: number): Case => ({
  name: `fill 1.0 [${N}]`, bytes: 4 * N,
  make(x) {
    const o = alloc(x.a, 'float32', N);
    return { outs: [o], call: () => { x.P.reset().dtype('float32').num(o.ptr, N, 1); x.a.fill(); } };
  },
});

const cases: Case[] = [
  copyCase(50 * 16 * 32 * 32),
  ...bnCases('float32', 50, 16, 1024),
  ...bnCases('float32', 50, 32, 256),
  ...bnCases('float32', 50, 64, 64),
  ...bnCases('float64', 50, 16, 1024),
  addCase('float32', [50, 16, 32, 32]),
  addCase('float32', [50, 32, 16, 16]),
  whereCase('float32', [50, 16, 32, 32]),
  whereCase('float32', [50, 32, 26, 26]),
  ...poolCases('float32', 50, 32, 26, 26),
  ...avgCases(50, 64, 8),
  fillCase(50 * 16 * 32 * 32),
].filter((c) => c.name.includes(filter));

const L3 = 128 * 2 ** 20;
console.log(`threads ${addons.map((x) => `${x.label}: ${x.a.info().threads}`).join(', ')}; ISA ${addons[0]!.a.info().isa}; ${cold ? 'cold (operands rotated past the L3)' : 'hot (operands reused)'}; best of ${reps}`);
console.log(`${'kernel'.padEnd(44)} ${addons.map((x) => `${x.label} ms`.padStart(9) + `${x.label} GB/s`.padStart(10)).join(' ')}${addons.length > 1 ? '   new/old  outputs' : ''}`);
for (const c of cases) {
  const sets = cold ? Math.max(2, Math.ceil(L3 / c.bytes)) : 1;
  const inst = addons.map((x) => Array.from({ length: sets }, (_, k) => c.make(x, 100 + 10 * k)));
  const best = addons.map(() => Infinity);
  for (const i of inst) i[0]!.call();
  for (let r = 0; r < reps; r++) {
    for (let k = 0; k < addons.length; k++) {
      const set = inst[k]![r % sets]!;
      const t0 = performance.now();
      set.call();
      best[k] = Math.min(best[k]!, performance.now() - t0);
    }
  }
  let cmp = '';
  if (addons.length > 1) {
    let maxRel = 0, same = true;
    inst[0]![0]!.call();
    inst[1]![0]!.call();
    inst[0]![0]!.outs.forEach((o, j) => {
      const p = inst[1]![0]!.outs[j]!.view;
      for (let i = 0; i < o.view.length; i++) {
        const a = o.view[i]!, b = p[i]!;
        if (!Object.is(a, b)) {
          same = false;
          maxRel = Math.max(maxRel, Math.abs(a - b) / Math.max(1e-30, Math.abs(a), Math.abs(b)));
        }
      }
    });
    cmp = `   ${(best[1]! / best[0]!).toFixed(2).padStart(7)}  ${same ? 'same' : `max rel diff ${maxRel.toExponential(1)}`}`;
  }
  console.log(`${c.name.padEnd(44)} ${best.map((b) => b.toFixed(3).padStart(9) + (c.bytes / b / 1e6).toFixed(1).padStart(10)).join(' ')}${cmp}`);
}
