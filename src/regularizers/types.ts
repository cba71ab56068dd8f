/**
 * The shapes a regularizer works with. A penalty is built on a logits function f: x -> logits, so it
 * can be tested on any function (a linear model, a tiny MLP) and plugged into training as an
 * Objective. The Objective types restate the training stack's plug-in contract structurally, so this
 * layer does not import the trainer.
 */
import type { Tensor } from '../api.js';

/** x [N, ...] -> logits [N, C]. Must treat the rows of x independently for the per-sample penalties to be exact. */
export type LogitsFn = (x: Tensor) => Tensor;

/** Per-sample data loss of logits [N, C] against targets: a tensor [N]. */
export type LossRows = (logits: Tensor, y: Tensor) => Tensor;

export interface ModelLike {
  forward(x: Tensor): Tensor;
  parameters(): readonly Tensor[];
}

export interface ObjectiveContext {
  model: ModelLike;
  x: Tensor;
  y: Tensor;
  step: number;
  training: boolean;
}

export interface ObjectiveResult {
  /** Scalar total to minimize. */
  loss: Tensor;
  /** Named scalar parts, for logging. */
  terms: Record<string, Tensor>;
  /** Logits of the clean inputs, when the objective computed them (the trainer's running accuracy). */
  logits?: Tensor;
}

export type Objective = (ctx: ObjectiveContext) => ObjectiveResult;

/** How the C (or k) cotangents of an exact (or estimated) Jacobian penalty are pushed back to the input. */
export type PullMode = 'loop' | 'batched';

/** Where randomness comes from: a Philox key (seed, stream), with the offset advanced by the training step. */
export interface DrawSource {
  seed: number;
  step: number;
}
