/** Running one configuration to a result record: training through the training stack, then evaluation. */
import * as g from '../api.js';
import type { Tensor } from '../api.js';
import { evaluate, train, type Progress } from '../train/index.js';
import { createOptimizer } from '../optim/index.js';
import { makeObjective, parseRegularizer, type Objective } from '../regularizers/index.js';
import type { ImageRunConfig, ImageRunResult, RunConfig, RunResult, SinRunConfig, SinRunResult } from './config.js';
import { head, loadCached, splitPerClass } from './data.js';
import { robustness } from './metrics.js';
import { buildModel, sinMlp } from './models.js';
import { uniforms } from '../data/index.js';
import { deriveSeed } from '../nn/index.js';

export interface RunContext {
  dataDir?: string;
  /** Called after every training step (or every few steps for the sin runs). */
  onProgress?: (p: { step: number; totalSteps: number; epoch?: number; epochs?: number; loss: number }) => void;
  /** Called after every evaluation batch: the test set ('test'), then the robustness points ('robustness'). */
  onEvaluate?: (what: EvalPhase, done: number, total: number) => void;
}

export type EvalPhase = 'test' | 'robustness';

/**
 * The training objective of a regularizer name with modifiers (see parseRegularizer) at strength
 * lambda (the noise std for ni): the one used by sweeps and by `gradreg train --regularizer`.
 */
export function objectiveFor(regularizer: string, lambda: number, classes: number, seed: number): Objective {
  return makeObjective(parseRegularizer(regularizer, lambda), { classes, seed });
}

export async function runImage(cfg: ImageRunConfig, ctx: RunContext = {}): Promise<ImageRunResult> {
  const { data, norm } = loadCached(cfg.dataset, ctx.dataDir);
  const split = splitPerClass(data.train, cfg.perClass, cfg.validation, cfg.seed);
  const test = head(data.test, cfg.testPoints);
  const classes = data.train.classes;
  const model = buildModel(cfg.model, { inputShape: data.train.shape, classes, seed: cfg.seed, dropout: cfg.dropout ?? undefined });
  const objective = objectiveFor(cfg.regularizer, cfg.lambda, classes, cfg.seed);
  const onProgress = ctx.onProgress
    ? (p: Progress) => ctx.onProgress!({ step: p.step, totalSteps: p.totalSteps, epoch: p.epoch, epochs: p.epochs, loss: p.loss })
    : undefined;
  try {
    const r = await train(
      {
        model,
        train: split.train,
        test,
        normalization: norm,
        epochs: cfg.epochs,
        batchSize: cfg.batch,
        optimizer: { name: cfg.optimizer, lr: cfg.lr, weightDecay: cfg.weightDecay || undefined, schedule: { kind: cfg.schedule } },
        seed: cfg.seed,
        objective,
        augment: cfg.augment,
      },
      { onProgress, onEvalProgress: ctx.onEvaluate ? (d, t) => ctx.onEvaluate!('test', d, t) : undefined },
    );
    r.optimizer.dispose();
    const curve = r.curve.map((e) => ({ epoch: e.epoch, loss: e.loss, terms: e.terms, ...(e.testAccuracy !== undefined ? { testAccuracy: e.testAccuracy } : {}) }));
    const base = { curve, wallSeconds: r.wallSeconds, backend: r.backend, steps: r.steps };
    if (r.status !== 'completed' || !r.test) {
      return {
        ...base, status: 'diverged', message: r.message ?? `training ended with status ${r.status}`,
        testAccuracy: null, testLoss: null, valAccuracy: null, trainAccuracy: null, gradNorm: null, fgsm: [], robustPoints: 0,
      };
    }
    const val = split.validation ? await evaluate(model, split.validation, { normalization: norm }) : null;
    const rob = await robustness(model, test, {
      normalization: norm, eps: cfg.fgsmEps, points: cfg.robustPoints, onBatch: ctx.onEvaluate ? (d, t) => ctx.onEvaluate!('robustness', d, t) : undefined,
    });
    const last = r.curve[r.curve.length - 1];
    return {
      ...base,
      status: 'completed',
      testAccuracy: r.test.accuracy,
      testLoss: r.test.loss,
      valAccuracy: val ? val.accuracy : null,
      trainAccuracy: last?.accuracy ?? null,
      gradNorm: rob.gradNorm,
      fgsm: rob.fgsm,
      robustPoints: rob.points,
    };
  } finally {
    model.dispose();
  }
}

const SIN_GRID = 201;
const PLOT_GRID = 301;

function sinData(n: number, seed: number): { x: number[]; y: number[] } {
  const u = uniforms(deriveSeed(seed, 0x51a), 0, 0, n);
  const x = Array.from(u, (v) => 2 * v - 1);
  return { x, y: x.map((v) => Math.sin(5 * v)) };
}

const mseRows = (z: Tensor, y: Tensor): Tensor => g.sum(g.square(g.sub(z, y)), 1);

/** g(x) and g'(x) of the scalar model at the points xs (d/dx by reverse mode, one sample per row). */
async function valueAndSlope(model: { forward(x: Tensor): Tensor }, xs: number[]): Promise<{ y: number[]; dy: number[] }> {
  const out = g.tidy(() => {
    const x = g.tensor(xs, [xs.length, 1], { requiresGrad: true });
    const y = model.forward(x);
    const [dx] = g.grad(g.sum(y), [x]);
    return g.concat([g.reshape(y, [-1]), g.reshape(dx!, [-1])]);
  });
  const v = Array.from(await out.data());
  out.dispose();
  return { y: v.slice(0, xs.length), dy: v.slice(xs.length) };
}

export async function runSin(cfg: SinRunConfig, ctx: RunContext = {}): Promise<SinRunResult> {
  const t0 = performance.now();
  const { x: xs, y: ys } = sinData(cfg.points, cfg.seed);
  const model = sinMlp(cfg.hidden, cfg.seed);
  const objective = makeObjective(parseRegularizer(cfg.regularizer, cfg.lambda), { classes: 1, seed: cfg.seed, lossRows: mseRows, lossName: 'mse' });
  const opt = createOptimizer(cfg.optimizer, model.namedParameters(), { lr: cfg.lr });
  const params = model.parameters();
  const x = g.keep(g.tensor(xs, [xs.length, 1]));
  const y = g.keep(g.tensor(ys, [ys.length, 1]));
  const loss: { step: number; loss: number }[] = [];
  const every = Math.max(1, Math.floor(cfg.steps / 100));
  let status: SinRunResult['status'] = 'completed';
  let message: string | undefined;
  try {
    for (let step = 0; step < cfg.steps; step++) {
      const { grads, value } = g.tidy(() => {
        const r = objective({ model, x, y, step, training: true });
        return { grads: g.grad(r.loss, params), value: r.loss };
      });
      if (step % every === 0 || step === cfg.steps - 1) {
        const v = await value.item();
        if (!Number.isFinite(v)) {
          status = 'diverged';
          message = `step ${step}: the loss is ${v}`;
          value.dispose();
          grads.forEach((t) => t.dispose());
          break;
        }
        loss.push({ step, loss: v });
        ctx.onProgress?.({ step: step + 1, totalSteps: cfg.steps, loss: v });
      }
      value.dispose();
      opt.step(grads);
      grads.forEach((t) => t.dispose());
    }
    const grid = Array.from({ length: SIN_GRID }, (_, i) => -1 + (2 * i) / (SIN_GRID - 1));
    const plot = Array.from({ length: PLOT_GRID }, (_, i) => -1.5 + (3 * i) / (PLOT_GRID - 1));
    const onGrid = await valueAndSlope(model, grid);
    const onTrain = await valueAndSlope(model, xs);
    const curve = await valueAndSlope(model, plot);
    const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;
    const ok = status === 'completed';
    return {
      status,
      ...(message ? { message } : {}),
      testMse: ok ? mean(onGrid.y.map((v, i) => (v - Math.sin(5 * grid[i]!)) ** 2)) : null,
      slopeGrid: ok ? mean(onGrid.dy.map(Math.abs)) : null,
      slopeTrain: ok ? mean(onTrain.dy.map(Math.abs)) : null,
      curveX: plot,
      curveY: curve.y,
      trainX: xs,
      trainY: ys,
      loss,
      wallSeconds: (performance.now() - t0) / 1000,
      backend: g.getBackend(),
      steps: cfg.steps,
    };
  } finally {
    x.dispose();
    y.dispose();
    opt.dispose();
    model.dispose();
  }
}

export function runConfig(cfg: RunConfig, ctx: RunContext = {}): Promise<RunResult> {
  return cfg.kind === 'image' ? runImage(cfg, ctx) : runSin(cfg, ctx);
}
