/**
 * `gradreg cost --model small|resnet|lenet5`: time and peak memory of one training step under each
 * regularizer, and the ratio to a baseline step, on the chosen backend.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { deviceInfo } from '../index.js';
import { costCsv, costMarkdown, defaultVariants, measureCost } from '../experiments/cost.js';
import { MODEL_NAMES } from '../nn/index.js';
import { parseRegularizer } from '../regularizers/index.js';
import { UsageError, checkOutputDir, choiceFlag, intFlag, parseFlags } from './args.js';
import { DEVICE_HELP, parseDevice, selectDevice } from './device.js';

export const COST_USAGE = `Usage: gradreg cost --model small|resnet|lenet5 [options]

Time and peak memory of one training step (objective, backward, Adam update) under each
regularizer, and the ratio to a baseline step, on one backend, as a table.

Options:
  --model NAME        small | resnet | lenet5 (required)
  --device NAME       ${DEVICE_HELP}
  --batch N           batch size (default 50)
  --reps N            timed steps per regularizer after one warm-up step; the median is reported (default 3)
  --input mnist|cifar input shape 1x28x28 or 3x32x32 (default: cifar for resnet, mnist otherwise)
  --only a,b,...      regularizers to measure (modifiers allowed: jac/loop, jac/batched, hsfob/k=1);
                      default: all of them, each exact Jacobian penalty as /loop, /batched and /k
  --out DIR           also write cost.md and cost.csv there

Peak memory is the backend's live-byte count sampled after every backend call during the step.
"step memory" is the peak minus what was live before the step (parameters, optimizer state, batch).`;

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${COST_USAGE}\n`);
    return 0;
  }
  const v = parseFlags('cost', argv, {
    model: { type: 'string' },
    device: { type: 'string' },
    batch: { type: 'string' },
    reps: { type: 'string' },
    input: { type: 'string' },
    only: { type: 'string' },
    out: { type: 'string' },
  });
  if (v.model === undefined) throw new UsageError("--model is required (small, resnet or lenet5; see 'gradreg cost --help')");
  const model = choiceFlag('model', v.model, MODEL_NAMES, 'small');
  const input = choiceFlag('input', v.input, ['mnist', 'cifar'] as const, model === 'resnet' ? 'cifar' : 'mnist');
  const batch = intFlag('batch', v.batch, 50);
  const reps = intFlag('reps', v.reps, 3);
  const variants = typeof v.only === 'string' ? v.only.split(',').map((s) => s.trim()).filter(Boolean) : defaultVariants();
  for (const s of variants) {
    try {
      parseRegularizer(s, 0.01);
    } catch (e) {
      throw new UsageError(`--only: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const device = parseDevice(v.device);
  const outDir = typeof v.out === 'string' ? checkOutputDir('--out', v.out) : null;
  const log = (s: string): void => void process.stderr.write(`${s}\n`);
  const { picked } = await selectDevice(device, log);
  const shape = input === 'cifar' ? ([3, 32, 32] as const) : ([1, 28, 28] as const);
  const rows = await measureCost({ model, batch, reps, variants, inputShape: shape, classes: 10, log });
  const md = costMarkdown(rows, `Cost of one training step: ${model} model, ${shape.join('x')} inputs, batch ${batch}, on ${picked}`, [
    `Device: ${picked} (${deviceInfo(picked)}). Median of ${reps} steps after one warm-up; lambda 0.01; Adam.`,
    'Exact Jacobian penalties: /loop = C separate vjps through one forward, /batched = one vjp through the batch replicated C times, /k=K = K random projections.',
    'Peak memory: the live-byte count sampled after every backend call; "step memory" excludes what was live before the step.',
  ]);
  process.stdout.write(md);
  if (outDir !== null) {
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(path.join(outDir, 'cost.md'), md);
    fs.writeFileSync(path.join(outDir, 'cost.csv'), costCsv(rows));
    log(`wrote ${path.join(outDir, 'cost.md')} and cost.csv`);
  }
  return rows.some((r) => r.error) ? 1 : 0;
}
