/**
 * The training loop: seeded batches, one tidy scope per step, a fused optimizer update, a check
 * that the loss, every objective term and the gradients are finite before any parameter changes,
 * per-epoch curves, periodic evaluation on the test set, and hooks for progress, checkpoints and
 * interruption. A run can stop after any step and resume from its state exactly.
 */
import type { DeviceName } from '../backends/backend.js';
import { batches, numBatches, type Dataset, type Normalization } from '../data/dataset.js';
import { checkFloatDType, type FloatDType } from '../dtype.js';
import { engine } from '../engine.js';
import { ArgumentError, ShapeError, UnusedInputError, fmtShape } from '../errors.js';
import { setRandomStep } from '../nn/layers.js';
import type { Module } from '../nn/module.js';
import { grad } from '../autograd/grad.js';
import { tensor } from '../ops/creation.js';
import { add, square } from '../ops/elementwise.js';
import { concat, reshape } from '../ops/layout.js';
import { sum } from '../ops/reduce.js';
import { Optimizer, createOptimizer, type OptimizerOptions } from '../optim/optimizers.js';
import { makeSchedule, type ScheduleSpec } from '../optim/schedule.js';
import { tidy } from '../scope.js';
import type { Tensor } from '../tensor.js';
import { correctCount, evaluate, type EvalResult } from './evaluate.js';
import { crossEntropyObjective, type Objective } from './objective.js';

export interface OptimizerSpec extends Omit<OptimizerOptions, 'schedule'> {
  name: string;
  schedule?: ScheduleSpec;
}

export interface TrainConfig {
  model: Module;
  train: Dataset;
  /** Evaluated at the end (and every `evalEvery` epochs). */
  test?: Dataset;
  normalization: Normalization;
  epochs: number;
  batchSize: number;
  /** An optimizer over the model's parameters, or a spec to build one (its schedule spans the whole run). */
  optimizer: Optimizer | OptimizerSpec;
  /** Fixes the batch order, augmentation and dropout masks (model init has its own seed). */
  seed: number;
  objective?: Objective;
  /** CIFAR pad-and-crop plus flip augmentation of training batches. */
  augment?: boolean;
  evalBatchSize?: number;
  /** Evaluate on the test set every this many epochs (0: only at the end). */
  evalEvery?: number;
  dtype?: FloatDType;
  /** Defaults to the engine's default device. */
  device?: DeviceName;
  /** Continue from a saved state (the model and optimizer must already hold the checkpoint's values). */
  resume?: TrainState;
}

export interface EpochRecord {
  epoch: number;
  /** Mean objective over the epoch's batches (weighted by batch size). */
  loss: number;
  /** Running training accuracy (from the objective's logits; null when it returns none). */
  accuracy: number | null;
  /** Mean of each objective term. */
  terms: Record<string, number>;
  /** Learning rate of the epoch's last update. */
  lr: number;
  seconds: number;
  samplesPerSecond: number;
  testAccuracy?: number;
  testLoss?: number;
}

/** Everything needed to continue a run after its last completed step. */
export interface TrainState {
  /** Epoch in progress (0-based). */
  epoch: number;
  /** Batches of that epoch already done. */
  batch: number;
  /** Updates applied. */
  step: number;
  curve: EpochRecord[];
  /** Sums for the epoch in progress. */
  partial: { samples: number; lossSum: number; correct: number; withLogits: number; terms: Record<string, number>; seconds: number };
  /** Training seconds before this process (resumed runs). */
  elapsed: number;
}

export interface Progress {
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  step: number;
  totalSteps: number;
  loss: number;
  accuracy: number | null;
  lr: number;
  samplesPerSecond: number;
  etaSeconds: number;
}

export interface TrainHooks {
  /** After every step. */
  onProgress?: (p: Progress) => void;
  /** After every epoch (after its evaluation, if any): save a checkpoint here. */
  onEpochEnd?: (record: EpochRecord, state: TrainState, optimizer: Optimizer) => void | Promise<void>;
  /** Polled after every step; true stops the run (status 'interrupted') with a resumable state. */
  shouldStop?: () => boolean;
  /** During every test-set evaluation, after each batch: images evaluated so far and the total. */
  onEvalProgress?: (done: number, total: number) => void;
}

export interface TrainResult {
  status: 'completed' | 'interrupted' | 'diverged';
  /** For 'diverged': which step and which term went non-finite. */
  message?: string;
  curve: EpochRecord[];
  test: EvalResult | null;
  wallSeconds: number;
  backend: DeviceName;
  steps: number;
  state: TrainState;
  optimizer: Optimizer;
}

/** setImmediate in Node; a zero-delay timer where there is none (a browser). */
function yieldToEventLoop(): Promise<void> {
  return new Promise<void>((r) => (typeof globalThis.setImmediate === 'function' ? globalThis.setImmediate(r) : setTimeout(r, 0)));
}

function freshPartial(): TrainState['partial'] {
  return { samples: 0, lossSum: 0, correct: 0, withLogits: 0, terms: {}, seconds: 0 };
}

function scalarOf(name: string, t: Tensor): Tensor {
  if (t.size !== 1) throw new ShapeError(`objective: '${name}' must be a scalar, got shape ${fmtShape(t.shape)}`);
  return reshape(t, [1]);
}

/** The name of the first parameter whose gradient holds a NaN or infinity. */
/** grad of the loss in every parameter; a parameter the loss does not depend on is named in the error. */
function paramGrads(loss: Tensor, params: readonly Tensor[], names: readonly string[]): Tensor[] {
  try {
    return grad(loss, params);
  } catch (e) {
    if (e instanceof UnusedInputError) {
      throw new UnusedInputError(`train: the loss does not depend on parameter '${names[e.index]}' (${e.message})`, e.index);
    }
    throw e;
  }
}

async function nonFiniteParam(names: readonly string[], grads: readonly Tensor[]): Promise<string> {
  for (let i = 0; i < grads.length; i++) {
    const v = await grads[i]!.data();
    for (let k = 0; k < v.length; k++) if (!Number.isFinite(v[k]!)) return names[i]!;
  }
  return '?';
}

export async function train(config: TrainConfig, hooks: TrainHooks = {}): Promise<TrainResult> {
  const { model, train: ds } = config;
  if (!Number.isInteger(config.epochs) || config.epochs < 1) throw new ArgumentError(`train: epochs must be a positive integer, got ${config.epochs}`);
  if (!Number.isInteger(config.batchSize) || config.batchSize < 1) throw new ArgumentError(`train: batch size must be a positive integer, got ${config.batchSize}`);
  const device = config.device ?? engine.defaultDevice;
  const dtype = config.dtype ?? 'float32';
  checkFloatDType('train', dtype, 'option dtype');
  const objective = config.objective ?? crossEntropyObjective;
  const perEpoch = numBatches(ds.count, config.batchSize);
  const totalSteps = perEpoch * config.epochs;
  const named = model.namedParameters();
  const params = named.map(([, p]) => p);
  const names = named.map(([n]) => n);
  const optimizer =
    config.optimizer instanceof Optimizer
      ? config.optimizer
      : (() => {
          const { name, schedule, ...rest } = config.optimizer;
          return createOptimizer(name, named, { ...rest, schedule: makeSchedule(schedule ?? { kind: 'constant' }, rest.lr, totalSteps) });
        })();
  const state: TrainState = config.resume
    ? structuredClone(config.resume)
    : { epoch: 0, batch: 0, step: 0, curve: [], partial: freshPartial(), elapsed: 0 };
  const t0 = performance.now();
  let status: TrainResult['status'] = 'completed';
  let message: string | undefined;
  let stepsThisRun = 0;
  let lastLr = optimizer.lr;
  const elapsedNow = (): number => state.elapsed + (performance.now() - t0) / 1000;

  model.train();
  outer: while (state.epoch < config.epochs) {
    const epochStart = performance.now() - state.partial.seconds * 1000;
    const p = state.partial;
    for (const b of batches(ds, {
      batchSize: config.batchSize,
      shuffle: true,
      seed: config.seed,
      epoch: state.epoch,
      normalization: config.normalization,
      augment: config.augment,
      skip: state.batch,
    })) {
      setRandomStep(model, state.step);
      const lr = optimizer.lr;
      let termNames: string[] = [];
      let hasLogits = false;
      const out = tidy(() => {
        const x = tensor(b.x, [b.n, ...ds.shape], { dtype, device });
        const y = tensor(b.y, [b.n], { dtype: 'int32', device });
        const r = objective({ model, x, y, step: state.step, training: true });
        termNames = Object.keys(r.terms);
        hasLogits = r.logits !== undefined;
        const grads = paramGrads(r.loss, params, names);
        const gsq = grads.reduce<Tensor | null>((acc, gi) => {
          const s = sum(square(gi));
          return acc ? add(acc, s) : s;
        }, null);
        const parts = [scalarOf('loss', r.loss), ...termNames.map((n) => scalarOf(n, r.terms[n]!))];
        if (gsq) parts.push(reshape(gsq, [1]));
        if (r.logits) parts.push(correctCount(r.logits, y));
        return { grads, scalars: concat(parts) };
      });
      const v = await out.scalars.data();
      out.scalars.dispose();
      const loss = v[0]!;
      // a non-finite term is named before the total it makes non-finite
      const bad = [...termNames.map((n, i) => [n, v[1 + i]!] as const), ['loss', loss] as const].find(([, x]) => !Number.isFinite(x));
      const gsq = params.length > 0 ? v[1 + termNames.length]! : 0;
      if (bad || !Number.isFinite(gsq)) {
        const where = `step ${state.step} (epoch ${state.epoch + 1}, batch ${b.index + 1})`;
        message = bad
          ? `${where}: term '${bad[0]}' is ${bad[1]}; stopped before updating the parameters`
          : `${where}: the gradient of parameter '${await nonFiniteParam(names, out.grads)}' is not finite (loss ${loss}); stopped before updating the parameters`;
        for (const gi of out.grads) gi.dispose();
        status = 'diverged';
        break outer;
      }
      optimizer.step(out.grads);
      lastLr = lr;
      for (const gi of out.grads) gi.dispose();
      p.samples += b.n;
      p.lossSum += loss * b.n;
      termNames.forEach((n, i) => (p.terms[n] = (p.terms[n] ?? 0) + v[1 + i]! * b.n));
      if (hasLogits) {
        p.correct += v[v.length - 1]!;
        p.withLogits += b.n;
      }
      p.seconds = (performance.now() - epochStart) / 1000;
      state.batch = b.index + 1;
      state.step++;
      stepsThisRun++;
      if (hooks.onProgress) {
        const elapsed = (performance.now() - t0) / 1000;
        const rate = elapsed > 0 ? (stepsThisRun * config.batchSize) / elapsed : 0;
        const remainingSamples = (totalSteps - state.step) * config.batchSize;
        hooks.onProgress({
          epoch: state.epoch + 1,
          epochs: config.epochs,
          batch: state.batch,
          batches: perEpoch,
          step: state.step,
          totalSteps,
          loss: p.lossSum / p.samples,
          accuracy: p.withLogits === p.samples ? p.correct / p.samples : null,
          lr,
          samplesPerSecond: rate,
          etaSeconds: rate > 0 ? remainingSamples / rate : Infinity,
        });
      }
      // Awaiting device reads alone runs as microtasks; yield to the event loop so signals (Ctrl-C) get handled
      // (and, in a browser tab, the page repaints).
      await yieldToEventLoop();
      if (hooks.shouldStop?.() && state.step < totalSteps) {
        status = 'interrupted';
        break outer;
      }
    }
    const record: EpochRecord = {
      epoch: state.epoch + 1,
      loss: p.lossSum / Math.max(1, p.samples),
      accuracy: p.samples > 0 && p.withLogits === p.samples ? p.correct / p.samples : null,
      terms: Object.fromEntries(Object.entries(p.terms).map(([k, s]) => [k, s / Math.max(1, p.samples)])),
      lr: lastLr,
      seconds: p.seconds,
      samplesPerSecond: p.seconds > 0 ? p.samples / p.seconds : 0,
    };
    const last = state.epoch + 1 === config.epochs;
    const every = config.evalEvery ?? 0;
    if (config.test && !last && every > 0 && (state.epoch + 1) % every === 0) {
      const e = await evaluate(model, config.test, { normalization: config.normalization, batchSize: config.evalBatchSize, dtype, device, onBatch: hooks.onEvalProgress });
      record.testAccuracy = e.accuracy;
      record.testLoss = e.loss;
    }
    state.curve.push(record);
    state.epoch++;
    state.batch = 0;
    state.partial = freshPartial();
    // The last epoch's hook runs after the final evaluation, so its checkpoint carries the test result.
    if (!last) await hooks.onEpochEnd?.(record, { ...state, elapsed: elapsedNow() }, optimizer);
  }
  let test: EvalResult | null = null;
  if (status === 'completed' && config.test) {
    test = await evaluate(model, config.test, { normalization: config.normalization, batchSize: config.evalBatchSize, dtype, device, onBatch: hooks.onEvalProgress });
    const rec = state.curve[state.curve.length - 1];
    if (rec) {
      rec.testAccuracy = test.accuracy;
      rec.testLoss = test.loss;
    }
  }
  state.elapsed = elapsedNow();
  if (status === 'completed' && state.curve.length > 0) {
    await hooks.onEpochEnd?.(state.curve[state.curve.length - 1]!, state, optimizer);
  }
  return { status, message, curve: state.curve, test, wallSeconds: state.elapsed, backend: device, steps: state.step, state, optimizer };
}
