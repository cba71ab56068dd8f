/**
 * The shapes a regularizer works with. A penalty is built on a logits function f: x -> logits, so it
 * can be tested on any function (a linear model, a tiny MLP) and plugged into training as an
 * Objective, the trainer's type.
 */
import type { Tensor } from '../api.js';
import type {
  ModelLike, Objective as TrainObjective, ObjectiveContext as TrainObjectiveContext, ObjectiveResult,
} from '../train/objective.js';

/** x [N, ...] -> logits [N, C]. Must treat the rows of x independently for the per-sample penalties to be exact. */
export type LogitsFn = (x: Tensor) => Tensor;

/** Per-sample data loss of logits [N, C] against targets: a tensor [N]. */
export type LossRows = (logits: Tensor, y: Tensor) => Tensor;

/** The trainer's plug-in contract (src/train/objective.ts), for objectives that only run the model. */
export type ObjectiveContext = TrainObjectiveContext<ModelLike>;
export type Objective = TrainObjective<ModelLike>;
export type { ModelLike, ObjectiveResult };

/** How the C (or k) cotangents of an exact (or estimated) Jacobian penalty are pushed back to the input. */
export type PullMode = 'loop' | 'batched';

/** Where randomness comes from: a Philox key (seed, stream), with the offset advanced by the training step. */
export interface DrawSource {
  seed: number;
  step: number;
}
