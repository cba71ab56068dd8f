/**
 * The native fused convolution's algorithms side by side at the three models' layer shapes:
 * GFLOP/s of the forward, input-gradient and weight-gradient kernels with im2col chunks, implicit
 * GEMM, direct convolution (both: the input gradient of strided layers falls back to im2col; the
 * weight gradient has no direct form; with few input channels, stride 1 and AVX-512 'direct' is
 * the row kernels), Winograd F(2x2, 3x3) (3x3 stride-1 layers; the others show what auto runs for
 * them; 'winograd4' F(4x4, 3x3) likewise), the pixel-major batch GEMM ('flat') and the automatic
 * choice; Winograd and auto twice, their input gradient as the forward's adjoint ('/adjoint') and as
 * the convolution of the padded gy ('/conv'; GRADREG_NATIVE_WINOGRAD_DX). `--layer TEXT` keeps the
 * layers whose name contains TEXT. Each figure is the best of `--reps` timed pairs of calls, the
 * algorithms taking turns within every repetition, so a busy or drifting machine shows as lower
 * numbers, not as noise between columns.
 *
 * `--wide` times 3x3 layers wider than the models' instead (64 to 384 channels: where auto's
 * Winograd rules for wide layers were measured).
 *
 *   npx tsx bench/native-conv.ts [--reps 15] [--layer conv2] [--wide]
 *
 * (GRADREG_NATIVE_THREADS=1 for one thread.)
 */
import * as g from '../src/index.js';
import { registerDefaultBackends } from '../src/backends/registry.js';
import { engine } from '../src/engine.js';
import type { NativeBackend } from '../src/backends/native/backend.js';
import { windowGeom } from '../src/ops/conv.js';
import { CONV_LAYERS } from './native-kernels.js';

/** 3x3 stride-1 layers wider than the models' (wider ResNets, VGG-style nets). */
const WIDE_LAYERS: typeof CONV_LAYERS = [
  ['wide 128 on 8x8', [50, 128, 8, 8], [128, 128, 3, 3], 1, 1],
  ['wide 128 on 16x16', [50, 128, 16, 16], [128, 128, 3, 3], 1, 1],
  ['wide 64 to 128 on 32x32', [20, 64, 32, 32], [128, 64, 3, 3], 1, 1],
  ['wide 96 on 12x12', [50, 96, 12, 12], [96, 96, 3, 3], 1, 1],
  ['wide 256 on 8x8', [50, 256, 8, 8], [256, 256, 3, 3], 1, 1],
  ['wide 384 on 8x8', [20, 384, 8, 8], [384, 384, 3, 3], 1, 1],
];

const i = process.argv.indexOf('--reps');
const reps = i >= 0 ? Number(process.argv[i + 1]) : 15;
const li = process.argv.indexOf('--layer');
const only = li >= 0 ? process.argv[li + 1]! : '';
registerDefaultBackends();
await g.initBackend('native');
const be = engine.backend('native') as NativeBackend;
const modes = ['im2col', 'implicit', 'direct', 'winograd', 'winograd4', 'flat', 'polyphase', 'auto'] as const;
const algos = modes.flatMap((m) => (m === 'im2col' || m === 'implicit' || m === 'direct' || m === 'flat' || m === 'polyphase' ? [m] : [`${m}/adjoint`, `${m}/conv`]));
console.log(`native fused convolution, batch 50, float32, ${be.isaInfo().threads} threads, ${be.isaInfo().isa}; GFLOP/s (best of ${reps})`);
console.log(`| layer | ${algos.map((a) => `${a} fwd | ${a} dx | ${a} dw`).join(' | ')} |`);
console.log(`| --- |${' ---: |'.repeat(3 * algos.length)}`);
for (const [name, xs, ws, stride, padding] of process.argv.includes('--wide') ? WIDE_LAYERS : CONV_LAYERS) {
  if (!name.includes(only)) continue;
  const x = g.randn(xs, { device: 'native', seed: 1 }), w = g.randn(ws, { device: 'native', seed: 2 });
  const geo = windowGeom(name, x, { kernel: [ws[2]!, ws[3]!], stride, padding });
  const gy = g.randn([geo.n, ws[0]!, geo.oh, geo.ow], { device: 'native', seed: 3 });
  const flops = 2 * geo.n * ws[0]! * geo.c * geo.kh * geo.kw * geo.oh * geo.ow;
  // The algorithms take turns within every repetition, so a drift in the machine's speed hits all alike.
  const kernels = [
    () => be.conv2d(x, w, geo),
    () => be.conv2dBackwardInput(gy, w, geo),
    () => be.conv2dBackwardWeight(x, gy, geo),
  ];
  const best = algos.map(() => kernels.map(() => Infinity));
  const prev = be.setConvAlgorithm('auto');
  for (let r = 0; r < reps; r++) {
    algos.forEach((a, ai) => {
      const [mode, dx] = a.split('/') as [(typeof modes)[number], string | undefined];
      be.setConvAlgorithm(mode);
      process.env.GRADREG_NATIVE_WINOGRAD_DX = dx ?? '';
      kernels.forEach((f, ki) => {
        const t0 = performance.now();
        be.dispose(f());
        be.dispose(f());
        best[ai]![ki] = Math.min(best[ai]![ki]!, (performance.now() - t0) / 2);
      });
    });
  }
  be.setConvAlgorithm(prev);
  delete process.env.GRADREG_NATIVE_WINOGRAD_DX;
  const cells = best.flatMap((row) => row.map((ms) => (flops / (ms / 1000) / 1e9).toFixed(0)));
  console.log(`| ${name} [${xs}] * [${ws}] s${stride} p${padding} | ${cells.join(' | ')} |`);
  for (const t of [x, w, gy]) t.dispose();
}
