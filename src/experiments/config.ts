/**
 * A run of the protocol: (model, dataset, per-class size, regularizer, lambda, seed, epochs, batch,
 * optimizer, lr) plus what the evaluation measures. The whole object is hashed into the run's key,
 * except nothing about where it ran (backend), which is recorded in the result instead.
 */

/** FGSM step sizes (fractions of the pixel range) recorded for a dataset: MNIST's digits take larger steps than CIFAR's photos. */
export function fgsmEpsFor(dataset: string): number[] {
  return dataset === 'mnist' || dataset === 'fashion-mnist' ? [0.05, 0.1, 0.2] : [1 / 255, 2 / 255, 4 / 255, 8 / 255];
}

export interface ImageRunConfig {
  kind: 'image';
  dataset: string;
  /** 'small' | 'resnet' | 'lenet5' | 'lenet5-bn'. */
  model: string;
  /** Training images per class (0 = the whole training set). */
  perClass: number;
  /** Regularizer with modifiers, e.g. 'jac' or 'hsfob/k=1' (see parseRegularizer). */
  regularizer: string;
  /** 0 for baseline. */
  lambda: number;
  seed: number;
  epochs: number;
  batch: number;
  optimizer: string;
  lr: number;
  schedule: 'constant' | 'step';
  /** Coupled L2 weight decay in the optimizer (0 = none). */
  weightDecay: number;
  /** lenet5 / lenet5-bn: dropout after the dense hidden layer (null = the model's default). */
  dropout: number | null;
  augment: boolean;
  /** Held-out validation images per class, drawn from the training set outside the subset (0 = none). */
  validation: number;
  /** The first `testPoints` test images (0 = all of them). */
  testPoints: number;
  /** Test images for the gradient norm and FGSM (the first ones; 0 = all). */
  robustPoints: number;
  fgsmEps: number[];
}

/** The 1-D regression of Varga et al.'s smoothness figure: f(x) = sin(5x) from a few points, a small MLP. */
export interface SinRunConfig {
  kind: 'sin';
  regularizer: string;
  lambda: number;
  seed: number;
  /** Training points x ~ U[-1, 1]. */
  points: number;
  hidden: number[];
  steps: number;
  optimizer: string;
  lr: number;
}

export type RunConfig = ImageRunConfig | SinRunConfig;

export interface CurvePoint {
  epoch: number;
  loss: number;
  terms: Record<string, number>;
  testAccuracy?: number;
}

export interface ImageRunResult {
  status: 'completed' | 'diverged';
  /** Why a diverged run stopped (step and term). */
  message?: string;
  /** Fractions in [0, 1]; null when diverged. */
  testAccuracy: number | null;
  testLoss: number | null;
  valAccuracy: number | null;
  trainAccuracy: number | null;
  curve: CurvePoint[];
  wallSeconds: number;
  backend: string;
  steps: number;
  /** Mean ||d CE / d x|| at the first robustPoints test images (pixel / 255 units). */
  gradNorm: number | null;
  fgsm: { eps: number; accuracy: number }[];
  robustPoints: number;
}

export interface SinRunResult {
  status: 'completed' | 'diverged';
  message?: string;
  /** MSE against sin(5x) on a grid over [-1, 1]. */
  testMse: number | null;
  /** Mean |g'(x)| on the grid, and at the training points. */
  slopeGrid: number | null;
  slopeTrain: number | null;
  /** The learned function on the plotting grid over [-1.5, 1.5]. */
  curveX: number[];
  curveY: number[];
  trainX: number[];
  trainY: number[];
  loss: { step: number; loss: number }[];
  wallSeconds: number;
  backend: string;
  steps: number;
}

export type RunResult = ImageRunResult | SinRunResult;
