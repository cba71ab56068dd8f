/**
 * CPU reference backend benchmarks (benny):
 *   - matmul 512x512x512 in float32 and float64, reported in GFLOP/s;
 *   - the thesis small CNN (conv3x3-32, conv3x3-64, conv3x3-64, dense 64, dense 10 on 28x28 input)
 *     at batch 50: forward, a first-order training step, and the double-backprop step of
 *     L + lambda ||dL/dx||^2 (thesis eq. 49);
 *   - the forward at batch 10 as well, to show the cost is linear in the batch (conv is im2col + GEMM).
 * Writes benny's JSON and a summary with derived numbers to bench/results/, and prints a table.
 *
 *   npx tsx bench/cpu.bench.ts
 */
import { add, complete, configure, cycle, save, suite } from 'benny';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as g from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { THESIS_SMALL_CNN, cnnLogits, doubleBackpropObjective, initCnn, makeBatch } from '../test/helpers/thesis-cnn.js';

const RESULTS = join(dirname(fileURLToPath(import.meta.url)), 'results');
const N = 512;
const MATMUL_FLOP = 2 * N * N * N;
const LAMBDA = 0.1;

function matmulCase(dtype: 'float32' | 'float64'): () => void {
  const a = g.randn([N, N], { dtype, seed: 1 });
  const b = g.randn([N, N], { dtype, seed: 2 });
  return () => g.tidy(() => void g.matmul(a, b).dataSync());
}

const params = initCnn(THESIS_SMALL_CNN, 'float32', 1);
const batch50 = makeBatch(THESIS_SMALL_CNN, 50, 'float32', 1);
const batch10 = makeBatch(THESIS_SMALL_CNN, 10, 'float32', 2);

function forward(b: { x: Tensor }): () => void {
  return () => g.tidy(() => void g.noGrad(() => cnnLogits(b.x, params)).dataSync());
}

function firstOrderStep(): void {
  g.tidy(() => {
    const loss = g.crossEntropy(cnnLogits(batch50.x, params), batch50.y);
    g.grad(loss, params)[0]!.dataSync();
  });
}

function doubleBackpropStep(): void {
  g.tidy(() => {
    const { total } = doubleBackpropObjective(batch50.x, batch50.y, params, LAMBDA);
    g.grad(total, params)[0]!.dataSync();
  });
}

const slow = { minSamples: 3, maxTime: 8, delay: 0.05 };

const summary = await suite(
  'cpu',
  configure({ cases: { minSamples: 5, maxTime: 5, delay: 0.05 } }),
  add('matmul 512x512x512 float32', matmulCase('float32')),
  add('matmul 512x512x512 float64', matmulCase('float64')),
  add('small CNN forward, batch 10', forward(batch10), slow),
  add('small CNN forward, batch 50', forward(batch50), slow),
  add('small CNN first-order step, batch 50', firstOrderStep, slow),
  add('small CNN double-backprop step, batch 50', doubleBackpropStep, slow),
  cycle(),
  complete(),
  save({ file: 'cpu', folder: RESULTS, format: 'json', details: false }),
);

// benny rounds ops/s for display; the mean seconds per op keeps full precision.
const rows = summary.results.map((r) => {
  const ms = r.details.mean * 1000;
  const gflops = r.name.startsWith('matmul') ? MATMUL_FLOP / r.details.mean / 1e9 : null;
  return { case: r.name, msPerOp: ms, margin: r.margin, samples: r.samples, gflops };
});
const byName = (s: string): number => rows.find((r) => r.case === s)!.msPerOp;
const batchScaling = byName('small CNN forward, batch 50') / byName('small CNN forward, batch 10');

mkdirSync(RESULTS, { recursive: true });
writeFileSync(
  join(RESULTS, 'cpu-summary.json'),
  JSON.stringify(
    {
      date: new Date().toISOString(),
      node: process.version,
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      backend: g.deviceInfo('cpu'),
      rows,
      forwardBatch50OverBatch10: batchScaling,
    },
    null,
    2,
  ),
);

console.log('\n| case | ms/op | ± % | samples | GFLOP/s |');
console.log('|---|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(`| ${r.case} | ${r.msPerOp.toFixed(1)} | ${r.margin.toFixed(1)} | ${r.samples} | ${r.gflops === null ? '' : r.gflops.toFixed(2)} |`);
}
console.log(`\nforward time batch 50 / batch 10 = ${batchScaling.toFixed(2)} (linear scaling gives 5)`);
console.log(`results: ${join(RESULTS, 'cpu.json')}, ${join(RESULTS, 'cpu-summary.json')}`);
