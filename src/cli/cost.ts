/**
 * `gradreg cost --model small|resnet|lenet5`: time and peak memory of one training step under each
 * regularizer, and the ratio to a baseline step, on the chosen backend.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { deviceInfo } from '../index.js';
import { costCsv, costMarkdown, defaultVariants, measureCost } from '../experiments/cost.js';
import { MODEL_NAMES } from '../nn/index.js';
import { defaultPullMode, parseRegularizer } from '../regularizers/index.js';
import * as g from '../index.js';
import { ESTIMATOR_FAMILIES, accuracyCsv, accuracyMarkdown, accuracyPlot, estimatorVariant, measureAccuracy, type AccuracyRow, type VariantTime } from '../experiments/accuracy.js';
import { linePlot } from '../experiments/plot.js';
import { fontStatus, svgToPng } from '../experiments/png.js';
import { toSvg } from '../experiments/scene.js';
import { UsageError, checkOutputDir, choiceFlag, intFlag, parseFlags } from './args.js';
import { DEVICE_HELP, THREADS_HELP, applyThreads, parseDevice, selectDevice } from './device.js';

export const COST_USAGE = `Usage: gradreg cost --model small|resnet|lenet5 [options]

Time and peak memory of one training step (objective, backward, Adam update) under each
regularizer, and the ratio to a baseline step, on one backend, as a table.

Options:
  --model NAME        small | resnet | lenet5 (required)
  --device NAME       ${DEVICE_HELP}
  --threads N         ${THREADS_HELP}
  --batch N           batch size (default 50)
  --reps N            timed steps per regularizer after one warm-up step; the median is reported (default 3)
  --input mnist|cifar input shape 1x28x28 or 3x32x32 (default: cifar for resnet, mnist otherwise)
  --only a,b,...      regularizers to measure (modifiers allowed: jac/loop, jac/batched, hsfob/k=1);
                      default: all of them, each exact Jacobian penalty as /loop, /batched and /k
  --accuracy yes|no   also measure each stochastic estimator's penalty gradient against the exact
                      one (default: yes unless --only is given); its variants are timed too
  --ks 1,2,4,8        projections k of the estimators (default 1,2,4,8)
  --draws N           independent draws per estimator (default 8)
  --clock wall|cpu    the time the estimator table and plot use: wall (default) or the process CPU
                      time per step, robust on a busy machine (exact work with GRADREG_NATIVE_THREADS=1)
  --out DIR           also write cost.md, cost.csv, accuracy.csv and accuracy.svg/png there

Peak memory is the backend's live-byte count sampled after every backend call during the step.
"step memory" is the peak minus what was live before the step (parameters, optimizer state, batch).

Estimator accuracy: for jac, fob (= spectreg with Gaussian projections) and hsfob with k random
projections, and the spherical spectreg, the gradient of the estimated penalty with respect to all
weights against the gradient of the exact penalty (C vjps) on the same batch and weights: cosine
similarity and relative error ||g_est - g_exact|| / ||g_exact||, mean +- sd over --draws draws.`;

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${COST_USAGE}\n`);
    return 0;
  }
  const v = parseFlags('cost', argv, {
    model: { type: 'string' },
    device: { type: 'string' },
    threads: { type: 'string' },
    batch: { type: 'string' },
    reps: { type: 'string' },
    input: { type: 'string' },
    only: { type: 'string' },
    out: { type: 'string' },
    accuracy: { type: 'string' },
    ks: { type: 'string' },
    draws: { type: 'string' },
    clock: { type: 'string' },
  });
  if (v.model === undefined) throw new UsageError("--model is required (small, resnet or lenet5; see 'gradreg cost --help')");
  const model = choiceFlag('model', v.model, MODEL_NAMES, 'small');
  const input = choiceFlag('input', v.input, ['mnist', 'cifar'] as const, model === 'resnet' ? 'cifar' : 'mnist');
  const batch = intFlag('batch', v.batch, 50);
  const reps = intFlag('reps', v.reps, 3);
  const variants = typeof v.only === 'string' ? v.only.split(',').map((s) => s.trim()).filter(Boolean) : defaultVariants();
  const accuracy = choiceFlag('accuracy', v.accuracy, ['yes', 'no'] as const, typeof v.only === 'string' ? 'no' : 'yes') === 'yes';
  const draws = intFlag('draws', v.draws, 8, 2);
  const clock = choiceFlag('clock', v.clock, ['wall', 'cpu'] as const, 'wall');
  const ks = typeof v.ks === 'string' ? v.ks.split(',').map((s) => intFlag('ks', s.trim(), 1)) : [1, 2, 4, 8];
  for (const s of variants) {
    try {
      parseRegularizer(s, 0.01);
    } catch (e) {
      throw new UsageError(`--only: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const device = parseDevice(v.device);
  const threads = v.threads === undefined ? undefined : intFlag('threads', v.threads, 1, 1);
  const outDir = typeof v.out === 'string' ? checkOutputDir('--out', v.out) : null;
  const log = (s: string): void => void process.stderr.write(`${s}\n`);
  const { picked } = await selectDevice(device, log);
  applyThreads(threads, log);
  const shape = input === 'cifar' ? ([3, 32, 32] as const) : ([1, 28, 28] as const);
  const exactVariant = (f: 'jac' | 'fob' | 'hsfob'): string => `${f}/${defaultPullMode(picked)}`;
  const estimators = ESTIMATOR_FAMILIES.flatMap((f) => ks.map((k) => estimatorVariant(f, k)));
  const timed = accuracy ? [...new Set([...variants, ...(['jac', 'fob', 'hsfob'] as const).map(exactVariant), ...estimators])] : variants;
  const rows = await measureCost({ model, batch, reps, variants: timed, inputShape: shape, classes: 10, log });
  const md = costMarkdown(rows, `Cost of one training step: ${model} model, ${shape.join('x')} inputs, batch ${batch}, on ${picked}`, [
    `Device: ${picked} (${deviceInfo(picked)}). Median of ${reps} steps after one warm-up; lambda 0.01; Adam.`,
    'Exact Jacobian penalties: /loop = C separate vjps through one forward, /batched = one batched vjp (the C cotangents stacked, through the same one forward), /k=K = K random projections.',
    'Peak memory: the live-byte count sampled after every backend call; "step memory" excludes what was live before the step.',
  ]);
  process.stdout.write(md);
  let accMd = '';
  let acc: AccuracyRow[] = [];
  const baseCpu = rows.find((r) => r.variant === 'baseline')?.cpuMs ?? NaN;
  const times = new Map<string, VariantTime>(
    rows.map((r) => [r.variant, clock === 'wall' ? { ms: r.ms, timeRatio: r.timeRatio } : { ms: r.cpuMs, timeRatio: Number.isFinite(baseCpu) ? r.cpuMs / baseCpu : null }]),
  );
  const timeLabel = clock === 'wall' ? 'step (ms)' : 'step CPU (ms)';
  for (const f of ['jac', 'fob', 'hsfob'] as const) {
    const t = times.get(exactVariant(f));
    if (t) times.set(`exact:${f}`, t);
  }
  if (accuracy) {
    const x = g.keep(g.randn([batch, ...shape], { seed: 1 }));
    try {
      acc = await measureAccuracy({ model, inputShape: shape, classes: 10, x, families: ESTIMATOR_FAMILIES, ks, draws, log });
    } finally {
      x.dispose();
    }
    accMd = accuracyMarkdown(acc, times, exactVariant, `Estimator accuracy: ${model} model, batch ${batch}, on ${picked}`, [
      `Gradient of each estimated penalty with respect to all weights against the exact penalty's (C = 10 vjps) on the same batch and weights; mean +- sd over ${draws} draws. Step times from the table above (${clock === 'wall' ? 'wall' : 'process CPU'} time, median of ${reps}).`,
      'fob/k and spectreg (Gaussian projections) are one estimator (the same draws); spectreg/sph is compared with the exact fob penalty / C.',
    ], timeLabel);
    process.stdout.write(`\n${accMd}`);
  }
  if (outDir !== null) {
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(path.join(outDir, 'cost.md'), accMd ? `${md}\n${accMd}` : md);
    fs.writeFileSync(path.join(outDir, 'cost.csv'), costCsv(rows));
    if (accuracy) {
      fs.writeFileSync(path.join(outDir, 'accuracy.csv'), accuracyCsv(acc, times));
      const scene = linePlot(accuracyPlot(acc, times, `Estimator accuracy vs cost: ${model}, batch ${batch}, ${picked}`, clock === 'wall' ? 'step time (ms)' : 'CPU time per step (ms)'));
      const svg = toSvg(scene);
      fs.writeFileSync(path.join(outDir, 'accuracy.svg'), svg);
      const fonts = fontStatus();
      if (fonts.ok) fs.writeFileSync(path.join(outDir, 'accuracy.png'), svgToPng(svg));
      else log(`gradreg: accuracy.png not written (SVG only): ${fonts.reason}`);
    }
    log(`wrote ${path.join(outDir, 'cost.md')}, cost.csv${accuracy ? ', accuracy.csv and the accuracy plot' : ''}`);
  }
  return rows.some((r) => r.error) ? 1 : 0;
}
