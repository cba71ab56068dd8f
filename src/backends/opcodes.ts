/**
 * The one table of kernel op codes. Every backend sends these numbers, and every kernel source
 * reads them by name from a file generated from this table:
 *   native/opcodes.h       C++ enums for the native addon (native/cpu) and the CUDA addon (native/cuda)
 *   shaders/opcodes.wgsl   WGSL constants, pulled into a shader by `// #include opcodes`
 * Regenerate both with `npx tsx scripts/gen-opcodes.ts` after editing a list;
 * test/backends/opcodes.test.ts fails while either file differs from what this table generates.
 * A code is the position of its name in its list; the C++ and WGSL name of op `fooBar` is `kFooBar`.
 */
import type { DType } from '../dtype.js';

export const UNARY_OPS = [
  'neg',
  'exp',
  'log',
  'sqrt',
  'rsqrt',
  'reciprocal',
  'abs',
  'square',
  'relu',
  /** x > 0 ? x : alpha * x */
  'leakyRelu',
  /** x > 0 ? 1 : alpha: the derivative of leakyRelu. */
  'leakyReluGrad',
  'sigmoid',
  'tanh',
  /** log(1 + exp(x)), computed stably. */
  'softplus',
  'sign',
  'sin',
  'cos',
] as const;
export type UnaryOp = (typeof UNARY_OPS)[number];

export const BINARY_OPS = [
  'add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum',
  /** Comparisons return 1 or 0 in the input dtype. */
  'eq', 'ne', 'lt', 'le', 'gt', 'ge',
] as const;
export type BinaryOp = (typeof BINARY_OPS)[number];
export const COMPARISON_OPS = ['eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const satisfies readonly BinaryOp[];

export const REDUCE_OPS = ['sum', 'max', 'min'] as const;
export type ReduceOp = (typeof REDUCE_OPS)[number];

export const ARG_REDUCE_OPS = ['argmax', 'argmin'] as const;
export type ArgReduceOp = (typeof ARG_REDUCE_OPS)[number];

export const RANDOM_KINDS = ['uniform', 'normal', 'bernoulli'] as const;
export type RandomKind = (typeof RANDOM_KINDS)[number];

export const UPDATE_RULES = ['sgd', 'momentum', 'nesterov', 'adagrad', 'rmsprop', 'adam'] as const;
export type UpdateRule = (typeof UPDATE_RULES)[number];

/** Element types as the kernels number them (the order of `DTYPES` in src/dtype.ts is not relied on). */
export const DTYPE_CODES = ['float32', 'float64', 'int32'] as const satisfies readonly DType[];

function codes<K extends string>(names: readonly K[]): Readonly<Record<K, number>> {
  return Object.freeze(Object.fromEntries(names.map((n, i) => [n, i])) as Record<K, number>);
}

export const UNARY_CODE = codes(UNARY_OPS);
export const BINARY_CODE = codes(BINARY_OPS);
export const REDUCE_CODE = codes(REDUCE_OPS);
export const ARG_REDUCE_CODE = codes(ARG_REDUCE_OPS);
export const RANDOM_CODE = codes(RANDOM_KINDS);
export const UPDATE_CODE = codes(UPDATE_RULES);
export const DTYPE_CODE: Readonly<Record<DType, number>> = codes(DTYPE_CODES);

/** State buffers each update rule takes, in this order: momentum/velocity or accumulator; adam m, v. */
export const UPDATE_STATES: Readonly<Record<UpdateRule, number>> = { sgd: 0, momentum: 1, nesterov: 1, adagrad: 1, rmsprop: 1, adam: 2 };

/** The lists the kernel sources see, with the C++ enum / WGSL prefix naming each. */
const GROUPS: readonly { type: string; names: readonly string[] }[] = [
  { type: 'DType', names: DTYPE_CODES },
  { type: 'UnaryOp', names: UNARY_OPS },
  { type: 'BinaryOp', names: BINARY_OPS },
  { type: 'ReduceOp', names: REDUCE_OPS },
  { type: 'ArgReduceOp', names: ARG_REDUCE_OPS },
  { type: 'RandomKind', names: RANDOM_KINDS },
  { type: 'UpdateRule', names: UPDATE_RULES },
];

/** The kernel-side name of a table entry: `leakyReluGrad` -> `kLeakyReluGrad`. */
export function kernelName(name: string): string {
  return `k${name[0]!.toUpperCase()}${name.slice(1)}`;
}

const HEADER = 'Generated from src/backends/opcodes.ts by `npx tsx scripts/gen-opcodes.ts`: do not edit.';

/** native/opcodes.h: one C++ enum per list, in namespace gr, with a k...Count sentinel. */
export function cppOpcodes(): string {
  const lines = [`// ${HEADER}`, '#pragma once', '', 'namespace gr {', ''];
  for (const { type, names } of GROUPS) {
    const items = names.map((n, i) => `${kernelName(n)} = ${i}`);
    lines.push(`enum ${type} : int { ${items.join(', ')}, k${type}Count = ${names.length} };`);
  }
  lines.push('', '}  // namespace gr', '');
  return lines.join('\n');
}

/** shaders/opcodes.wgsl: one u32 constant per entry (WGSL has no enums). */
export function wgslOpcodes(): string {
  const lines = [`// ${HEADER}`];
  for (const { type, names } of GROUPS) {
    lines.push('', `// ${type}`);
    names.forEach((n, i) => lines.push(`const ${kernelName(n)}: u32 = ${i}u;`));
  }
  lines.push('');
  return lines.join('\n');
}
