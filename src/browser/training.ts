/** The `training` namespace of the browser entry: src/train/index.ts less the checkpoint files. */
export {
  train,
  type TrainConfig, type TrainHooks, type TrainResult, type TrainState, type EpochRecord, type Progress, type OptimizerSpec,
} from '../train/train.js';
export { crossEntropyObjective, type Objective, type ObjectiveContext, type ObjectiveResult } from '../train/objective.js';
export { evaluate, correctCount, type EvalOptions, type EvalResult } from '../train/evaluate.js';
