/** The training loop, objectives, evaluation and checkpoints. */
export {
  train,
  type TrainConfig, type TrainHooks, type TrainResult, type TrainState, type EpochRecord, type Progress, type OptimizerSpec,
} from './train.js';
export { crossEntropyObjective, type Objective, type ObjectiveContext, type ObjectiveResult } from './objective.js';
export { evaluate, correctCount, type EvalOptions, type EvalResult } from './evaluate.js';
export { saveCheckpoint, loadCheckpoint, readCheckpointMeta, CHECKPOINT_FORMAT, type CheckpointContents } from './checkpoint.js';
