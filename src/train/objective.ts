/**
 * What a training step minimizes. An objective runs the model itself, so a regularizer can run it
 * on perturbed inputs, differentiate through it (createGraph), or add penalties on the parameters.
 */
import { crossEntropy } from '../ops/loss.js';
import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor.js';

/** What a model must offer an objective that only runs it (the regularizers' objectives). */
export interface ModelLike {
  forward(x: Tensor): Tensor;
  parameters(): readonly Tensor[];
}

/** The trainer passes a Module; an objective that needs less declares M = ModelLike. */
export interface ObjectiveContext<M extends ModelLike = Module> {
  model: M;
  /** Normalized inputs [N, C, H, W] on the training device. */
  x: Tensor;
  /** int32 labels [N]. */
  y: Tensor;
  /** Global step (0-based update index). */
  step: number;
  /** True in the training loop; false when evaluating. */
  training: boolean;
}

export interface ObjectiveResult {
  /** Scalar total to minimize. */
  loss: Tensor;
  /** Named scalar parts for logging and non-finite checks (e.g. { ce, penalty }). */
  terms: Record<string, Tensor>;
  /** The clean logits, when the objective computed them: used for the running training accuracy. */
  logits?: Tensor;
}

export type Objective<M extends ModelLike = Module> = (ctx: ObjectiveContext<M>) => ObjectiveResult;

/** The default: mean softmax cross-entropy of the model's logits. */
export const crossEntropyObjective: Objective = ({ model, x, y }) => {
  const logits = model.forward(x);
  const ce = crossEntropy(logits, y);
  return { loss: ce, terms: { ce }, logits };
};
