/**
 * Numeric codes the addon's dispatchers expect (native/cuda/kernels/*.cuh). The order of each
 * list is the order of the matching C++ enum.
 */
import type { ArgReduceOp, BinaryOp, RandomKind, ReduceOp, UnaryOp, UpdateRule } from '../backend.js';
import type { DType } from '../../dtype.js';

export const DTYPE_CODE: Record<DType, number> = { float32: 0, float64: 1, int32: 2 };

const UNARY_OPS: readonly UnaryOp[] = [
  'neg', 'exp', 'log', 'sqrt', 'rsqrt', 'reciprocal', 'abs', 'square', 'relu', 'step', 'leakyRelu',
  'leakyReluGrad', 'sigmoid', 'tanh', 'softplus', 'sign', 'sin', 'cos',
];
const BINARY_OPS: readonly BinaryOp[] = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge'];
const REDUCE_OPS: readonly ReduceOp[] = ['sum', 'max', 'min'];
const ARG_OPS: readonly ArgReduceOp[] = ['argmax', 'argmin'];
const RANDOM_KINDS: readonly RandomKind[] = ['uniform', 'normal', 'bernoulli'];
const UPDATE_RULES: readonly UpdateRule[] = ['sgd', 'momentum', 'nesterov', 'adagrad', 'rmsprop', 'adam'];

function table<K extends string>(names: readonly K[]): Record<K, number> {
  return Object.fromEntries(names.map((n, i) => [n, i])) as Record<K, number>;
}

export const UNARY_CODE = table(UNARY_OPS);
export const BINARY_CODE = table(BINARY_OPS);
export const REDUCE_CODE = table(REDUCE_OPS);
export const ARG_CODE = table(ARG_OPS);
export const RANDOM_CODE = table(RANDOM_KINDS);
export const UPDATE_CODE = table(UPDATE_RULES);
/** State buffers each update rule takes (native/cuda/ops/optim.inl checks the same counts). */
export const UPDATE_STATES: Record<UpdateRule, number> = { sgd: 0, momentum: 1, nesterov: 1, adagrad: 1, rmsprop: 1, adam: 2 };
