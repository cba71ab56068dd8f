/**
 * One training step per (model, regularizer, backend), for the step suite. Two families:
 * - `plain`: the small CNN written with plain ops (conv2d, relu, maxPool2d, matmulT), baseline
 *   cross-entropy and double backprop (CE + lambda * sum_i ||dL_i/dx_i||^2), Adam — independent of
 *   the nn/regularizers modules.
 * - `nn`: the models of src/nn trained with the objectives of src/regularizers and the Adam of
 *   src/optim, the way src/train runs a step.
 * Inputs are synthetic (uniform pixels, fixed labels), batch 50, lambda 0.01, Adam lr 1e-3.
 */
import * as g from '../src/index.js';
import type { DeviceName, Tensor } from '../src/index.js';
import { createModel } from '../src/nn/index.js';
import { makeObjective, parseRegularizer, type RegularizerSpec } from '../src/regularizers/index.js';
import { createOptimizer } from '../src/optim/index.js';

export const BATCH = 50;
export const LAMBDA = 0.01;
export const LR = 1e-3;
export const CLASSES = 10;

export type StepModel = 'small' | 'lenet5' | 'resnet';
export const INPUT_SHAPE: Record<StepModel, [number, number, number]> = {
  small: [1, 28, 28],
  lenet5: [1, 28, 28],
  resnet: [3, 32, 32],
};

export interface Step {
  run(): void;
  /** Wait until the device has finished the steps run so far (reads one parameter back). */
  sync?(): Promise<void>;
  dispose(): void;
}

function batch(model: StepModel, device: DeviceName): { x: Tensor; y: Tensor } {
  const shape = [BATCH, ...INPUT_SHAPE[model]];
  const x = g.rand(shape, { device, seed: 1234 });
  const labels = Array.from({ length: BATCH }, (_, i) => (i * 7) % CLASSES);
  const y = g.tensor(labels, [BATCH], { dtype: 'int32', device });
  return { x, y };
}

// ---- plain ops ----

interface PlainParams {
  w1: Tensor; b1: Tensor; w2: Tensor; b2: Tensor; w3: Tensor; b3: Tensor;
  f1: Tensor; c1: Tensor; f2: Tensor; c2: Tensor;
}

function plainParams(device: DeviceName): PlainParams {
  let seed = 10;
  const p = (shape: number[], fanIn: number): Tensor =>
    g.randn(shape, { device, seed: seed++, std: Math.sqrt(2 / fanIn), requiresGrad: true });
  const z = (n: number): Tensor => g.zeros([n], { device, requiresGrad: true });
  return {
    w1: p([32, 1, 3, 3], 9), b1: z(32),
    w2: p([64, 32, 3, 3], 288), b2: z(64),
    w3: p([64, 64, 3, 3], 576), b3: z(64),
    f1: p([64, 576], 576), c1: z(64),
    f2: p([10, 64], 64), c2: z(10),
  };
}

function plainForward(p: PlainParams, x: Tensor): Tensor {
  // ReLU after the pool, as the small model does (src/nn/models.ts, 'Pool before ReLU'): the same function.
  let h = g.relu(g.maxPool2d(g.conv2d(x, p.w1, p.b1), { kernel: 2 }));
  h = g.relu(g.maxPool2d(g.conv2d(h, p.w2, p.b2), { kernel: 2 }));
  h = g.relu(g.conv2d(h, p.w3, p.b3));
  h = g.reshape(h, [h.shape[0]!, -1]);
  h = g.relu(g.add(g.matmulT(h, p.f1, false, true), p.c1));
  return g.add(g.matmulT(h, p.f2, false, true), p.c2);
}

/** A minimal Adam over plain tensors with the fused update kernel through the optimizer module. */
export function plainStep(reg: 'baseline' | 'db', device: DeviceName): Step {
  const p = plainParams(device);
  const names = Object.keys(p) as (keyof PlainParams)[];
  const params = names.map((n) => p[n]);
  const opt = createOptimizer('adam', names.map((n) => [n, p[n]] as const), { lr: LR });
  const { x, y } = batch('small', device);
  return {
    run(): void {
      const grads = g.tidy(() => {
        let loss: Tensor;
        if (reg === 'baseline') {
          loss = g.crossEntropy(plainForward(p, x), y);
        } else {
          const xi = g.detach(x);
          xi.requiresGrad = true;
          const rows = g.crossEntropy(plainForward(p, xi), y, 'none');
          const [gx] = g.grad(g.sum(rows), [xi], { createGraph: true });
          loss = g.add(g.mean(rows), g.mul(g.sum(g.square(gx!)), LAMBDA));
        }
        return g.grad(loss, params);
      });
      opt.step(grads);
      for (const t of grads) t.dispose();
    },
    dispose(): void {
      for (const t of [...params, x, y]) t.dispose();
      opt.dispose();
    },
  };
}

// ---- nn models x regularizers ----

/** The regularizers of the step table; 'hsfob-est' is hsfob with one random projection (the estimator). */
export const STEP_REGS = ['baseline', 'db', 'spectreg', 'fob', 'jac', 'hsfob', 'hsfob-est', 'ni'] as const;
/** The exact penalties with their pull mode spelled out: 'fob' alone is the backend's default mode. */
export const MODE_REGS = ['fob/loop', 'fob/batched', 'jac/loop', 'jac/batched', 'hsfob/loop', 'hsfob/batched'] as const;
export type StepReg = (typeof STEP_REGS)[number] | (typeof MODE_REGS)[number];

function specOf(reg: StepReg): RegularizerSpec {
  if (reg === 'hsfob-est') return { name: 'hsfob', lambda: LAMBDA, projections: 1 };
  if (reg.includes('/')) return parseRegularizer(reg, LAMBDA);
  return { name: reg as RegularizerSpec['name'], lambda: reg === 'ni' ? 0.1 : LAMBDA };
}

export function nnStep(model: StepModel, reg: StepReg, device: DeviceName): Step {
  const m = createModel(model, { inputShape: INPUT_SHAPE[model], classes: CLASSES, seed: 1, device });
  const named = m.namedParameters();
  const params = named.map(([, t]) => t);
  const opt = createOptimizer('adam', named, { lr: LR });
  const objective = makeObjective(specOf(reg), { classes: CLASSES, seed: 1 });
  const { x, y } = batch(model, device);
  let step = 0;
  return {
    run(): void {
      const grads = g.tidy(() => {
        const r = objective({ model: m, x, y, step: step++, training: true });
        return g.grad(r.loss, params);
      });
      opt.step(grads);
      for (const t of grads) t.dispose();
    },
    async sync(): Promise<void> {
      await params[params.length - 1]!.data();
    },
    dispose(): void {
      for (const t of [x, y]) t.dispose();
      opt.dispose();
    },
  };
}

/**
 * timeStep for devices that run asynchronously (cuda, webgpu): each timed step ends when the device
 * has finished it (a parameter read back), as PyTorch's step ends with float(loss).
 */
export async function timeStepSynced(s: Step, warmup: number, reps: number, maxSeconds = Infinity): Promise<{ medianMs: number; minMs: number; times: number[] }> {
  for (let i = 0; i < warmup; i++) s.run();
  await s.sync?.();
  const times: number[] = [];
  const end = performance.now() + maxSeconds * 1000;
  for (let i = 0; i < reps && (i < 3 || performance.now() < end); i++) {
    const t0 = performance.now();
    s.run();
    await s.sync?.();
    times.push(performance.now() - t0);
  }
  const sorted = [...times].sort((a, b) => a - b);
  return { medianMs: sorted[Math.floor(sorted.length / 2)]!, minMs: sorted[0]!, times };
}

/**
 * Median wall time of up to `reps` runs after `warmup` runs, in ms; stops early (after at least 3
 * runs) once `maxSeconds` have passed.
 */
export function timeStep(s: Step, warmup: number, reps: number, maxSeconds = Infinity): { medianMs: number; minMs: number; times: number[] } {
  for (let i = 0; i < warmup; i++) s.run();
  const times: number[] = [];
  const end = performance.now() + maxSeconds * 1000;
  for (let i = 0; i < reps && (i < 3 || performance.now() < end); i++) {
    const t0 = performance.now();
    s.run();
    times.push(performance.now() - t0);
  }
  const sorted = [...times].sort((a, b) => a - b);
  return { medianMs: sorted[Math.floor(sorted.length / 2)]!, minMs: sorted[0]!, times };
}
