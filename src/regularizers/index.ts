/** Gradient regularizers of the papers in shared/seeds, as penalties on a logits function and as training objectives. */
export * from './types.js';
export { pullback, classCotangent, allClasses, rowSquares, type Head, type Cotangent, type PullbackResult } from './pullback.js';
export { drawNormal, Streams } from './random.js';
export * from './penalties.js';
export * from './objective.js';
