/**
 * Float32 error of the native fused convolution's 3x3 stride-1 paths at the models' layer shapes:
 * the largest difference from the float64 result (the same inputs, computed by the native float64
 * path) divided by the largest magnitude of that result, for the forward, input gradient and weight
 * gradient, per algorithm ('im2col' as the direct sum's baseline, 'winograd' F(2x2, 3x3),
 * 'winograd4' F(4x4, 3x3)). Inputs are uniform in [-1, 1); the kernel tests allow 2e-5.
 *
 * `--wide` measures wider 3x3 layers than the models' (64 to 256 channels, where auto also runs
 * Winograd) instead.
 *
 *   npx tsx bench/native-winograd-error.ts [--layer TEXT] [--wide]
 */
import * as g from '../src/index.js';
import { registerDefaultBackends } from '../src/backends/registry.js';
import { engine } from '../src/engine.js';
import type { NativeBackend } from '../src/backends/native/backend.js';
import type { Storage, TensorRef, WindowGeom } from '../src/backends/backend.js';
import { CONV_LAYERS } from './native-kernels.js';

const li = process.argv.indexOf('--layer');
const only = li >= 0 ? process.argv[li + 1]! : '';
/** 3x3 stride-1 layers wider than the models' (the shapes of wider ResNets and VGG-style nets). */
const WIDE_LAYERS: [string, number[], number[], number, number][] = [
  ['wide 128 on 8x8', [50, 128, 8, 8], [128, 128, 3, 3], 1, 1],
  ['wide 128 on 16x16', [50, 128, 16, 16], [128, 128, 3, 3], 1, 1],
  ['wide 64 to 128 on 32x32', [20, 64, 32, 32], [128, 64, 3, 3], 1, 1],
  ['wide 256 on 8x8', [50, 256, 8, 8], [256, 256, 3, 3], 1, 1],
  ['wide 256 on 4x4', [50, 256, 4, 4], [256, 256, 3, 3], 1, 1],
];
const layers = process.argv.includes('--wide') ? WIDE_LAYERS : CONV_LAYERS;
registerDefaultBackends();
await g.initBackend('native');
const be = engine.backend('native') as NativeBackend;
const algos = ['im2col', 'winograd', 'winograd4'] as const;

/** n values uniform in [-1, 1) from a seeded linear congruential sequence, exact in float32. */
function values(n: number, seed: number): Float64Array {
  const out = new Float64Array(n);
  let s = (seed * 2654435761) >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = Math.fround((s >>> 8) / 8388608 - 1);
  }
  return out;
}

function run(xs: number[], ws: number[], gm: WindowGeom, dtype: 'float32' | 'float64'): Float64Array[] {
  const made: Storage[] = [];
  const ref = (shape: number[], seed: number): TensorRef => {
    const v = values(shape.reduce((a, b) => a * b, 1), seed);
    const st = be.upload(dtype === 'float32' ? Float32Array.from(v) : v);
    made.push(st);
    return { storage: st, shape, dtype };
  };
  const ys = [gm.n, ws[0]!, gm.oh, gm.ow];
  const outs = [
    be.conv2d(ref(xs, 1), ref(ws, 2), gm),
    be.conv2dBackwardInput(ref(ys, 3), ref(ws, 2), gm),
    be.conv2dBackwardWeight(ref(xs, 1), ref(ys, 3), gm),
  ];
  const host = outs.map((st) => Float64Array.from(be.readSync(st) as ArrayLike<number>));
  for (const st of [...made, ...outs]) be.dispose(st);
  return host;
}

console.log(`native fused convolution, float32 error / output scale against float64, ${be.isaInfo().threads} threads, ${be.isaInfo().isa}`);
console.log(`| layer | ${algos.map((a) => `${a} fwd | ${a} dx | ${a} dw`).join(' | ')} |`);
console.log(`| --- |${' ---: |'.repeat(3 * algos.length)}`);
const prev = be.setConvAlgorithm('auto');
try {
  for (const [name, xs, ws, stride, padding] of layers) {
    if (!name.includes(only) || ws[2] !== 3 || ws[3] !== 3 || stride !== 1) continue;
    const [n, c, h, w] = xs as [number, number, number, number];
    const gm: WindowGeom = { n, c, h, w, kh: 3, kw: 3, sh: 1, sw: 1, ph: padding, pw: padding, oh: h + 2 * padding - 2, ow: w + 2 * padding - 2 };
    const want = run(xs, ws, gm, 'float64');
    const cells: string[] = [];
    for (const a of algos) {
      be.setConvAlgorithm(a);
      const got = run(xs, ws, gm, 'float32');
      got.forEach((v, k) => {
        const r = want[k]!;
        let err = 0, scale = 0;
        for (let j = 0; j < r.length; j++) {
          err = Math.max(err, Math.abs(v[j]! - r[j]!));
          scale = Math.max(scale, Math.abs(r[j]!));
        }
        cells.push((err / scale).toExponential(1));
      });
    }
    console.log(`| ${name} [${xs}] * [${ws}] p${padding} | ${cells.join(' | ')} |`);
  }
} finally {
  be.setConvAlgorithm(prev);
}
