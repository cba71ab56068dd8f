/** Optimizers (thesis section 2.3.4), weight decay, learning-rate schedules, and the fused update op. */
export {
  Optimizer, SGD, Momentum, Nesterov, AdaGrad, RMSprop, Adam, createOptimizer, isOptimizerName, OPTIMIZER_NAMES,
  type OptimizerName, type OptimizerOptions, type OptimizerMeta,
} from './optimizers.js';
export { constantSchedule, stepSchedule, makeSchedule, SCHEDULE_NAMES, type LrSchedule, type ScheduleSpec } from './schedule.js';
export { applyUpdate, stateSlots } from './update.js';
