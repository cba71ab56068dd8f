/**
 * What the demo page computes, kept apart from the page so that the browser test can run the same
 * code in Node on the cpu backend and compare: the thesis's small CNN (src/nn/models.ts), the
 * objective of a chosen regularizer (src/regularizers/objective.ts), one training step, input
 * gradients (saliency) and FGSM examples.
 *
 * In the browser bundle `../src/index.js` resolves to the browser entry (scripts/build-browser.ts).
 */
import * as g from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { makeObjective, type RegularizerSpec } from '../src/regularizers/index.js';

export const IMAGE: readonly [number, number, number] = [1, 28, 28];
export const CLASSES = 10;
/** The regularizers the page offers (names of src/regularizers/objective.ts). */
export const DEMO_REGULARIZERS = ['baseline', 'db', 'hsfob', 'ni'] as const;
export type DemoRegularizer = (typeof DEMO_REGULARIZERS)[number];

export interface DemoSettings {
  regularizer: DemoRegularizer;
  /** Penalty strength; for 'ni' the standard deviation of the input noise. */
  lambda: number;
  /** hsfob: number of random projections k of the stochastic estimate. */
  projections: number;
  /** Seeds the model's initial weights, the batch order and the penalties' random draws. */
  seed: number;
}

export function specOf(s: DemoSettings): RegularizerSpec {
  if (!(DEMO_REGULARIZERS as readonly string[]).includes(s.regularizer)) {
    throw new g.ArgumentError(`demo: regularizer must be one of ${DEMO_REGULARIZERS.join(', ')}, got '${s.regularizer}'`);
  }
  const spec: RegularizerSpec = { name: s.regularizer, lambda: s.regularizer === 'baseline' ? 0 : s.lambda };
  if (s.regularizer === 'hsfob') spec.projections = s.projections;
  return spec;
}

/** The thesis's small CNN (three 3x3 convs 32-64-64, two max-pools, dense 64, dense 10) on `device`. */
export function createDemoModel(seed: number, device: g.DeviceName): g.nn.Module {
  return g.nn.createModel('small', { inputShape: IMAGE, classes: CLASSES, seed, device });
}

/** Pixels 0-255 [n, 28, 28] -> the model's input [n, 1, 28, 28] in [0, 1] (the CLI's MNIST normalization). */
export function toInput(pixels: Uint8Array, n: number, device: g.DeviceName): Tensor {
  const x = new Float32Array(n * 28 * 28);
  for (let i = 0; i < x.length; i++) x[i] = pixels[i]! / 255;
  return g.tensor(x, [n, ...IMAGE], { device });
}

export interface StepResult {
  /** The objective (data loss + lambda * penalty); a scalar tensor. */
  loss: Tensor;
  /** Gradients of the loss in the model's parameters, in namedParameters() order. */
  grads: Tensor[];
}

/** The objective and its parameter gradients for one batch: call inside g.tidy. */
export function lossAndGrads(model: g.nn.Module, s: DemoSettings, x: Tensor, y: Tensor, step: number): StepResult {
  const objective = makeObjective(specOf(s), { classes: CLASSES, seed: s.seed });
  model.train();
  const r = objective({ model, x, y, step, training: true });
  const grads = g.grad(r.loss, model.parameters());
  return { loss: r.loss, grads };
}

export interface Probe {
  /** |d CE / d x| per pixel [n, 28, 28], each image scaled to a maximum of 1. */
  saliency: Float32Array;
  /** ||d CE / d x||_2 per image. */
  gradNorm: Float32Array;
  /** Predictions on the clean images and on their FGSM versions. */
  clean: Int32Array;
  adversarial: Int32Array;
  /** The FGSM images, clip(x + eps * sign(d CE / d x), 0, 1) [n, 28, 28]. */
  fgsm: Float32Array;
}

/**
 * Input gradients of the current model on fixed digits, and the fast gradient sign method
 * (Goodfellow et al. 2015, x' = x + eps sign(grad_x L)) at `epsilon`.
 */
export async function probe(model: g.nn.Module, x: Tensor, y: Tensor, epsilon: number): Promise<Probe> {
  model.eval();
  const out = g.tidy(() => {
    const xl = g.detach(x);
    xl.requiresGrad = true;
    const logits = model.forward(xl);
    const [gx] = g.grad(g.crossEntropy(logits, y, 'sum'), [xl]);
    const adv = g.clamp(g.add(x, g.mul(g.sign(gx!), epsilon)), 0, 1);
    return {
      gx: g.detach(gx!),
      clean: g.argmax(g.detach(logits), 1),
      adversarial: g.argmax(model.forward(adv), 1),
      adv,
    };
  });
  model.train();
  const [gx, clean, adversarial, fgsm] = await Promise.all([out.gx.data(), out.clean.data(), out.adversarial.data(), out.adv.data()]);
  for (const t of Object.values(out)) t.dispose();
  const n = x.shape[0]!;
  const per = 28 * 28;
  const saliency = new Float32Array(n * per);
  const gradNorm = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let max = 0;
    let sq = 0;
    for (let p = 0; p < per; p++) {
      const v = Math.abs(gx[i * per + p]!);
      max = Math.max(max, v);
      sq += v * v;
    }
    gradNorm[i] = Math.sqrt(sq);
    for (let p = 0; p < per; p++) saliency[i * per + p] = max > 0 ? Math.abs(gx[i * per + p]!) / max : 0;
  }
  return { saliency, gradNorm, clean: Int32Array.from(clean), adversarial: Int32Array.from(adversarial), fgsm: Float32Array.from(fgsm) };
}
