/**
 * Kernel-family throughput of the WebGPU backend against the cpu reference (benny): for each family
 * one representative kernel call on each backend, reported as GFLOP/s (matmul) or GB/s (bytes read
 * + written once; the memory-bound families). A WebGPU sample enqueues the kernel 4 times and waits
 * for the device, so it times the kernels, not just the enqueue; pipelines are compiled beforehand. Also the double-backprop CNN step at batch 50.
 * Writes benny's JSON to bench/results/webgpu.json and prints a table.
 *
 *   XDG_RUNTIME_DIR=/tmp/xdg-runtime-$(id -u) npx tsx bench/webgpu.bench.ts [--quick]
 */
import { add, complete, configure, cycle, save, suite } from 'benny';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as g from '../src/index.js';
import { registerDefaultBackends } from '../src/backends/registry.js';
import { engine } from '../src/engine.js';
import type { Backend, Storage, TensorRef, WindowGeom } from '../src/backends/backend.js';
import type { WebGPUBackend } from '../src/backends/webgpu/index.js';
import { cnnFromValues, cnnHostValues, trainStep } from '../test/webgpu/cnn.js';

const RESULTS = join(dirname(fileURLToPath(import.meta.url)), 'results');
const QUICK = process.argv.includes('--quick');

registerDefaultBackends();
await g.initBackend('webgpu');
const gpu = engine.backend('webgpu') as WebGPUBackend;
const cpu = engine.backend('cpu');

function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 4294967296 - 0.5;
  });
}

const ref = (be: Backend, data: Float32Array, shape: number[]): TensorRef => ({ storage: be.upload(data), shape, dtype: 'float32' });
const geom = (n: number, c: number, h: number, k: number, s: number): WindowGeom => {
  const o = Math.floor((h - k) / s) + 1;
  return { n, c, h, w: h, kh: k, kw: k, sh: s, sw: s, ph: 0, pw: 0, oh: o, ow: o };
};

interface Case {
  family: string;
  name: string;
  /** Work per call: FLOPs (unit 'GFLOP/s') or bytes moved (unit 'GB/s'). */
  work: number;
  unit: 'GFLOP/s' | 'GB/s';
  /** Build the inputs on a backend; returns the call (whose outputs it disposes). */
  make: (be: Backend) => () => Storage[] | void;
}

const E = QUICK ? 1 << 20 : 1 << 22;
const conv2 = geom(50, 32, 13, 3, 1);
const pool1 = geom(50, 32, 26, 2, 2);
const CASES: Case[] = [
  { family: 'elementwise', name: `exp, ${E} floats`, work: 8 * E, unit: 'GB/s', make: (be) => { const x = ref(be, values(E, 1), [E]); return () => [be.unary('exp', x, 0)]; } },
  { family: 'elementwise', name: `add, ${E} floats`, work: 12 * E, unit: 'GB/s', make: (be) => { const a = ref(be, values(E, 2), [E]); const b = ref(be, values(E, 3), [E]); return () => [be.binary('add', a, b, [E])]; } },
  {
    family: 'elementwise', name: 'bias add [50,32,676] + [1,32,1]', work: 8 * 50 * 32 * 676, unit: 'GB/s',
    make: (be) => { const a = ref(be, values(50 * 32 * 676, 4), [50, 32, 676]); const b = ref(be, values(32, 5), [1, 32, 1]); return () => [be.binary('add', a, b, [50, 32, 676])]; },
  },
  { family: 'reduce', name: 'sum rows [1024, 4096]', work: 4 * 1024 * 4096, unit: 'GB/s', make: (be) => { const x = ref(be, values(1 << 22, 6), [1024, 4096]); return () => [be.reduce('sum', x, [1])]; } },
  { family: 'reduce', name: 'sum over batch [50, 18432]', work: 4 * 50 * 18432, unit: 'GB/s', make: (be) => { const x = ref(be, values(50 * 18432, 7), [50, 18432]); return () => [be.reduce('sum', x, [0])]; } },
  { family: 'matmul', name: '512 x 512 x 512', work: 2 * 512 ** 3, unit: 'GFLOP/s', make: (be) => { const a = ref(be, values(512 * 512, 8), [512, 512]); const b = ref(be, values(512 * 512, 9), [512, 512]); return () => [be.matmul(a, b, false, false, [512, 512])]; } },
  {
    family: 'matmul', name: 'conv2 forward W[64,288] @ cols[50,288,121]', work: 2 * 64 * 288 * 121 * 50, unit: 'GFLOP/s',
    make: (be) => { const a = ref(be, values(64 * 288, 10), [64, 288]); const b = ref(be, values(50 * 288 * 121, 11), [50, 288, 121]); return () => [be.matmul(a, b, false, false, [50, 64, 121])]; },
  },
  {
    family: 'matmul', name: 'conv2 dW g[50,64,121] @ cols^T', work: 2 * 64 * 288 * 121 * 50, unit: 'GFLOP/s',
    make: (be) => { const a = ref(be, values(50 * 64 * 121, 12), [50, 64, 121]); const b = ref(be, values(50 * 288 * 121, 13), [50, 288, 121]); return () => [be.matmul(a, b, false, true, [50, 64, 288])]; },
  },
  { family: 'conv', name: 'im2col [50,32,13,13] 3x3', work: 4 * (50 * 32 * 169 + 50 * 288 * 121), unit: 'GB/s', make: (be) => { const x = ref(be, values(50 * 32 * 169, 14), [50, 32, 13, 13]); return () => [be.im2col(x, conv2)]; } },
  { family: 'conv', name: 'col2im to [50,32,13,13] 3x3', work: 4 * (50 * 32 * 169 + 50 * 288 * 121), unit: 'GB/s', make: (be) => { const c = ref(be, values(50 * 288 * 121, 15), [50, 288, 121]); return () => [be.col2im(c, conv2)]; } },
  {
    family: 'pool', name: 'maxPool2d 2x2 [50,32,26,26]', work: 4 * 50 * 32 * 676 + 8 * 50 * 32 * 169, unit: 'GB/s',
    make: (be) => { const x = ref(be, values(50 * 32 * 676, 16), [50, 32, 26, 26]); return () => { const r = be.maxPool2d(x, pool1); return [r.out, r.idx]; }; },
  },
  {
    family: 'batchnorm', name: 'forward [50,32,26,26]', work: 4 * 4 * 50 * 32 * 676, unit: 'GB/s',
    make: (be) => {
      const x = ref(be, values(50 * 32 * 676, 17), [50, 32, 26, 26]);
      const ga = ref(be, values(32, 18), [32]);
      const bt = ref(be, values(32, 19), [32]);
      return () => { const r = be.batchNormForward(x, ga, bt, 1e-5); return [r.y, r.mean, r.variance]; };
    },
  },
  { family: 'softmax', name: 'softmax [4096, 1000]', work: 8 * 4096 * 1000, unit: 'GB/s', make: (be) => { const x = ref(be, values(4096 * 1000, 20), [4096, 1000]); return () => [be.softmax(x)]; } },
  { family: 'random', name: `normal, ${E} floats`, work: 4 * E, unit: 'GB/s', make: (be) => () => [be.random(E, 'float32', { kind: 'normal', a: 0, b: 1, seedLo: 1, seedHi: 0, stream: 0, offset: 0 })] },
  {
    family: 'optim', name: `adam, ${E} params`, work: 28 * E, unit: 'GB/s',
    make: (be) => {
      const w = be.upload(values(E, 21));
      const gr = be.upload(values(E, 22));
      const s = [be.upload(new Float32Array(E)), be.upload(new Float32Array(E))];
      let step = 1;
      return () => be.applyUpdate('adam', w, gr, s, { lr: 1e-3, momentum: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: step++, weightDecay: 0, decoupledDecay: 0 });
    },
  },
  { family: 'layout', name: 'permute [64,64,64] -> [2,0,1]', work: 8 * 64 ** 3, unit: 'GB/s', make: (be) => { const x = ref(be, values(64 ** 3, 23), [64, 64, 64]); return () => [be.permute(x, [2, 0, 1])]; } },
  { family: 'fill/cast', name: `cast f32 -> i32, ${E}`, work: 8 * E, unit: 'GB/s', make: (be) => { const x = ref(be, values(E, 24), [E]); return () => [be.cast(x, 'int32')]; } },
];

configure({ cases: { minSamples: QUICK ? 2 : 4, maxTime: QUICK ? 0.5 : 2, initCount: 1 } });

interface Row { family: string; name: string; unit: string; cpu: number; webgpu: number }
const rows: Row[] = [];

/** WebGPU calls per benny sample: several kernels per device round trip, as in real use. */
const REPS = 4;

async function benchCase(c: Case, be: Backend, label: 'cpu' | 'webgpu'): Promise<ReturnType<typeof add>> {
  const call = c.make(be);
  if (label === 'cpu') return add(`${c.family}: ${c.name} [cpu]`, () => { const out = call(); out?.forEach((s) => be.dispose(s)); });
  // Compile the pipelines before timing (a first compile takes seconds on lavapipe).
  call()?.forEach((s) => be.dispose(s));
  await gpu.finish();
  return add(`${c.family}: ${c.name} [webgpu]`, async () => {
    const outs: Storage[] = [];
    for (let r = 0; r < REPS; r++) outs.push(...(call() ?? []));
    await gpu.finish();
    outs.forEach((s) => be.dispose(s));
  });
}

const stepCase = async (): Promise<ReturnType<typeof add>> => {
  const m = cnnFromValues('webgpu', cnnHostValues());
  const x = g.rand([50, 1, 28, 28], { device: 'webgpu', seed: 3 });
  const y = g.tensor(Array.from({ length: 50 }, (_, i) => i % 10), [50], { dtype: 'int32', device: 'webgpu' });
  const warm = trainStep(m, gpu, x, y);
  await warm.item();
  warm.dispose();
  return add('cnn: double-backprop step, batch 50 [webgpu]', async () => {
    const l = trainStep(m, gpu, x, y);
    await l.item();
    l.dispose();
  });
};

mkdirSync(RESULTS, { recursive: true });
const summary = await suite(
  'WebGPU kernel families vs cpu',
  ...(await Promise.all(CASES.flatMap((c) => [benchCase(c, cpu, 'cpu'), benchCase(c, gpu, 'webgpu')]))),
  await stepCase(),
  cycle(),
  complete(),
  save({ file: 'webgpu', folder: RESULTS, format: 'json' }),
);

const ops = new Map(summary.results.map((r) => [r.name, r.ops]));
for (const c of CASES) {
  const rate = (label: string): number => ((ops.get(`${c.family}: ${c.name} [${label}]`) ?? NaN) * c.work * (label === 'webgpu' ? REPS : 1)) / 1e9;
  rows.push({ family: c.family, name: c.name, unit: c.unit, cpu: rate('cpu'), webgpu: rate('webgpu') });
}
console.log(`\nwebgpu device: ${gpu.description}`);
console.log('family       | case                                          | unit     |    cpu | webgpu');
for (const r of rows) {
  console.log(`${r.family.padEnd(12)} | ${r.name.padEnd(45)} | ${r.unit.padEnd(8)} | ${r.cpu.toFixed(2).padStart(6)} | ${r.webgpu.toFixed(2).padStart(6)}`);
}
const stepOps = ops.get('cnn: double-backprop step, batch 50 [webgpu]');
if (stepOps) console.log(`cnn double-backprop step, batch 50, webgpu: ${(1000 / stepOps).toFixed(1)} ms`);
process.exit(0);
