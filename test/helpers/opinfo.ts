/**
 * One table of sample inputs per op (in the spirit of PyTorch's OpInfo). It drives the gradcheck
 * tests (float64, cpu, orders 1 and 2) and the cross-backend parity tests (float32, every backend,
 * forward + first + second order against the cpu reference).
 */
import * as g from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import type { OpName } from '../../src/ops/names.js';

export type InputKind =
  /** standard normal */
  | 'normal'
  /** uniform in [0.5, 2]: for log, sqrt, pow bases, divisors */
  | 'positive'
  /** normal values kept at least 0.05 away from 0: for relu, abs, leakyRelu kinks */
  | 'awayFromZero'
  /** distinct values (a permutation of a grid, jittered): for max / max-pool ties */
  | 'distinct'
  /** uniform in [0.1, 0.9]: probabilities and targets of binary cross-entropy */
  | 'unit'
  /** int32 class labels in [0, classes) */
  | 'labels';

export interface InputSpec {
  shape: number[];
  kind?: InputKind;
  classes?: number;
  /** Not differentiated (constants such as running statistics). */
  constant?: boolean;
}

/** An op's samples, or the op whose samples' order-2 checks differentiate its node. */
export type SampleEntry = readonly OpSample[] | { readonly reachedBy: string };

/** Entries for nodes that only `op`'s backward rule records. */
function reachedBy<K extends OpName>(op: string, nodes: readonly K[]): Record<K, { reachedBy: string }> {
  return Object.fromEntries(nodes.map((n) => [n, { reachedBy: op }])) as Record<K, { reachedBy: string }>;
}

export interface OpSample {
  /** "<op>: <what the sample covers>" */
  name: string;
  inputs: InputSpec[];
  fn: (...xs: Tensor[]) => Tensor;
  /** Highest order to gradcheck (default 2). 0 = forward only (non-differentiable ops). */
  order?: number;
  /** Relative tolerance for float32 parity against the cpu reference (default 1e-4). */
  parityTol?: number;
  /** gradcheck settings for samples whose finite differences need them (default: gradcheck's). */
  gradcheck?: { eps?: number; atol?: number; rtol?: number };
}

/** xorshift32 from a hashed seed: a deterministic stream of values in [0, 1) for test inputs. */
export function xorshift(seed: number): () => number {
  let s = (seed * 2654435761) >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}

/** Deterministic host values for an input spec (the same on every backend). */
export function sampleValues(spec: InputSpec, seed: number): Float64Array | Int32Array {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const next = xorshift(seed);
  if (spec.kind === 'labels') {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = Math.floor(next() * (spec.classes ?? 10));
    return out;
  }
  const out = new Float64Array(n);
  if (spec.kind === 'distinct') {
    const perm = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [perm[i], perm[j]] = [perm[j]!, perm[i]!];
    }
    for (let i = 0; i < n; i++) out[i] = (perm[i]! - n / 2) / Math.max(1, n / 4) + 0.01 * next();
    return out;
  }
  for (let i = 0; i < n; i++) {
    const u1 = next() || 1e-9;
    const u2 = next();
    const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    if (spec.kind === 'positive') out[i] = 0.5 + 1.5 * next();
    else if (spec.kind === 'unit') out[i] = 0.1 + 0.8 * next();
    else if (spec.kind === 'awayFromZero') out[i] = Math.sign(z || 1) * (0.05 + Math.abs(z));
    else out[i] = z;
  }
  return out;
}

/** Materialize a sample's inputs on a device in a float dtype (labels stay int32). */
export function makeInputs(sample: OpSample, dtype: 'float32' | 'float64', device: g.DeviceName, seed = 7): Tensor[] {
  return sample.inputs.map((spec, i) => {
    const v = sampleValues(spec, seed * 31 + i);
    if (spec.kind === 'labels') return g.tensor(v, spec.shape, { dtype: 'int32', device });
    return g.tensor(v, spec.shape, { dtype, device });
  });
}


const N = (shape: number[]): InputSpec => ({ shape });
const P = (shape: number[]): InputSpec => ({ shape, kind: 'positive' });
const AZ = (shape: number[]): InputSpec => ({ shape, kind: 'awayFromZero' });
const D = (shape: number[]): InputSpec => ({ shape, kind: 'distinct' });
const U = (shape: number[]): InputSpec => ({ shape, kind: 'unit' });
const L = (n: number, classes: number): InputSpec => ({ shape: [n], kind: 'labels', classes });
const C = (spec: InputSpec): InputSpec => ({ ...spec, constant: true });

/**
 * Every op of the engine core with at least one sample, keyed by op. The keys must cover every
 * differentiable op (`OpName`, src/ops/names.ts): an op whose node only a backward rule records
 * names the op whose samples reach it at order 2. Composite ops (no node of their own) have
 * entries too. Shapes stay small (gradcheck costs two
 * evaluations per input element) but cover batch 1, odd spatial sizes, stride 2 and padding 1.
 * Inputs avoid kinks: relu/abs/leakyRelu/clamp see values away from their breakpoints and max/min
 * and max-pool see distinct values, so central differences are exact up to rounding.
 */
export const OP_SAMPLE_TABLE = {
  add: [
    { name: 'add: broadcast [3,1,4] + [2,4]', inputs: [N([3, 1, 4]), N([2, 4])], fn: (a, b) => g.add(a!, b!) },
    { name: 'add: tensor + scalar', inputs: [N([2, 3])], fn: (a) => g.add(a!, 1.5) },
  ],
  sub: [
    { name: 'sub: broadcast [2,3] - [2,1]', inputs: [N([2, 3]), N([2, 1])], fn: (a, b) => g.sub(a!, b!) },
    { name: 'sub: scalar - tensor', inputs: [N([4])], fn: (a) => g.sub(2, a!) },
  ],
  mul: [
    { name: 'mul: broadcast [2,3] * [3]', inputs: [N([2, 3]), N([3])], fn: (a, b) => g.mul(a!, b!) },
    { name: 'mul: same shape [3,4]', inputs: [N([3, 4]), N([3, 4])], fn: (a, b) => g.mul(a!, b!) },
    { name: 'mul: x * x (one tensor used twice)', inputs: [N([5])], fn: (a) => g.mul(a!, a!) },
  ],
  div: [
    { name: 'div: broadcast [2,3] / positive [3]', inputs: [N([2, 3]), P([3])], fn: (a, b) => g.div(a!, b!) },
    { name: 'div: scalar / positive tensor', inputs: [P([5])], fn: (a) => g.div(1.5, a!) },
  ],
  neg: [{ name: 'neg: [3,4]', inputs: [N([3, 4])], fn: (a) => g.neg(a!) }],
  exp: [{ name: 'exp: [5,3]', inputs: [N([5, 3])], fn: (a) => g.exp(a!) }],
  log: [{ name: 'log: positive [3,4]', inputs: [P([3, 4])], fn: (a) => g.log(a!) }],
  sqrt: [{ name: 'sqrt: positive [3,4]', inputs: [P([3, 4])], fn: (a) => g.sqrt(a!) }],
  rsqrt: [{ name: 'rsqrt: positive [3,4]', inputs: [P([3, 4])], fn: (a) => g.rsqrt(a!) }],
  reciprocal: [{ name: 'reciprocal: positive [3,4]', inputs: [P([3, 4])], fn: (a) => g.reciprocal(a!) }],
  pow: [
    { name: 'pow: positive base ^ tensor exponent', inputs: [P([3, 4]), N([3, 4])], fn: (a, b) => g.pow(a!, b!) },
    { name: 'pow: tensor ^ broadcast exponent [3]', inputs: [P([2, 3]), N([3])], fn: (a, b) => g.pow(a!, b!) },
    { name: 'pow: x ^ 3 (scalar exponent, any sign)', inputs: [N([6])], fn: (a) => g.pow(a!, 3) },
    { name: 'pow: positive ^ 2.5 (scalar exponent)', inputs: [P([6])], fn: (a) => g.pow(a!, 2.5) },
    { name: 'pow: 1.7 ^ x (scalar base)', inputs: [N([6])], fn: (a) => g.pow(1.7, a!) },
  ],
  abs: [{ name: 'abs: away from 0', inputs: [AZ([3, 4])], fn: (a) => g.abs(a!) }],
  square: [{ name: 'square: [3,4]', inputs: [N([3, 4])], fn: (a) => g.square(a!) }],
  relu: [{ name: 'relu: away from 0', inputs: [AZ([3, 4])], fn: (a) => g.relu(a!) }],
  leakyRelu: [{ name: 'leakyRelu: alpha 0.1, away from 0', inputs: [AZ([3, 4])], fn: (a) => g.leakyRelu(a!, 0.1) }],
  sigmoid: [{ name: 'sigmoid: [3,4]', inputs: [N([3, 4])], fn: (a) => g.sigmoid(a!) }],
  tanh: [{ name: 'tanh: [3,4]', inputs: [N([3, 4])], fn: (a) => g.tanh(a!) }],
  softplus: [{ name: 'softplus: [3,4]', inputs: [N([3, 4])], fn: (a) => g.softplus(a!) }],
  sin: [{ name: 'sin: [3,4]', inputs: [N([3, 4])], fn: (a) => g.sin(a!) }],
  cos: [{ name: 'cos: [3,4]', inputs: [N([3, 4])], fn: (a) => g.cos(a!) }],
  sign: [{ name: 'sign: forward only', inputs: [AZ([3, 4])], fn: (a) => g.sign(a!), order: 0 }],
  maximum: [
    { name: 'maximum: broadcast [3,4] vs [4]', inputs: [D([3, 4]), N([4])], fn: (a, b) => g.maximum(a!, b!) },
    { name: 'maximum: tensor vs scalar', inputs: [D([3, 4])], fn: (a) => g.maximum(a!, 0.05) },
  ],
  minimum: [
    { name: 'minimum: broadcast [3,4] vs [3,1]', inputs: [D([3, 4]), N([3, 1])], fn: (a, b) => g.minimum(a!, b!) },
    { name: 'minimum: scalar vs tensor', inputs: [D([3, 4])], fn: (a) => g.minimum(0.05, a!) },
  ],
  where: [
    {
      name: 'where: broadcast cond [3,1], a [3,4], b [4]',
      inputs: [C(AZ([3, 1])), N([3, 4]), N([4])],
      fn: (c, a, b) => g.where(g.gt(c!, 0), a!, b!),
    },
    { name: 'where: tensor vs scalar branch', inputs: [C(AZ([2, 3])), N([2, 3])], fn: (c, a) => g.where(g.lt(c!, 0), a!, 0.5) },
  ],
  clamp: [{ name: 'clamp: [-0.55, 0.45]', inputs: [D([4, 5])], fn: (a) => g.clamp(a!, -0.55, 0.45) }],
  comparisons: [{ name: 'comparisons: gt/le/eq/ne sum, forward only', inputs: [D([3, 4]), D([4])], fn: (a, b) => g.add(g.add(g.gt(a!, b!), g.le(a!, 0)), g.add(g.eq(a!, a!), g.ne(b!, 0))), order: 0 }],
  sum: [
    { name: 'sum: all axes [3,4]', inputs: [N([3, 4])], fn: (a) => g.sum(a!) },
    { name: 'sum: axis 1 of [2,3,4]', inputs: [N([2, 3, 4])], fn: (a) => g.sum(a!, [1]) },
    { name: 'sum: axes [0,2] keepDims', inputs: [N([2, 3, 4])], fn: (a) => g.sum(a!, [0, 2], true) },
    { name: 'sum: axis -1 keepDims', inputs: [N([3, 5])], fn: (a) => g.sum(a!, -1, true) },
  ],
  mean: [
    { name: 'mean: all axes', inputs: [N([3, 4])], fn: (a) => g.mean(a!) },
    { name: 'mean: axes [1,2] keepDims', inputs: [N([2, 3, 4])], fn: (a) => g.mean(a!, [1, 2], true) },
    { name: 'mean: axis 0', inputs: [N([4, 3])], fn: (a) => g.mean(a!, 0) },
  ],
  max: [
    { name: 'max: all axes (distinct)', inputs: [D([3, 4])], fn: (a) => g.max(a!) },
    { name: 'max: axis 1 of [2,3,4]', inputs: [D([2, 3, 4])], fn: (a) => g.max(a!, 1) },
    { name: 'max: axes [0,2] keepDims', inputs: [D([2, 3, 4])], fn: (a) => g.max(a!, [0, 2], true) },
  ],
  min: [
    { name: 'min: axis -1', inputs: [D([3, 5])], fn: (a) => g.min(a!, -1) },
    { name: 'min: axes [1,2] keepDims', inputs: [D([2, 3, 4])], fn: (a) => g.min(a!, [1, 2], true) },
  ],
  variance: [{ name: 'variance: axes [0,2]', inputs: [N([3, 2, 4])], fn: (a) => g.variance(a!, [0, 2]) }],
  sumTo: [{ name: 'sumTo: [2,3,4] -> [3,1]', inputs: [N([2, 3, 4])], fn: (a) => g.sumTo(a!, [3, 1]) }],
  argmax: [{ name: 'argmax: axis 1, forward only', inputs: [D([3, 5])], fn: (a) => g.argmax(a!, 1), order: 0 }],
  matmul: [
    { name: 'matmul: 2-D [3,4] @ [4,5]', inputs: [N([3, 4]), N([4, 5])], fn: (a, b) => g.matmul(a!, b!) },
    { name: 'matmul: [2,3,4] @ [4,5]', inputs: [N([2, 3, 4]), N([4, 5])], fn: (a, b) => g.matmul(a!, b!) },
    { name: 'matmul: batched [2,3,4] @ [2,4,2]', inputs: [N([2, 3, 4]), N([2, 4, 2])], fn: (a, b) => g.matmul(a!, b!) },
    { name: 'matmul: broadcast batch [2,1,3,4] @ [3,4,2]', inputs: [N([2, 1, 3, 4]), N([3, 4, 2])], fn: (a, b) => g.matmul(a!, b!) },
    { name: 'matmul: batch 1 [1,2,3] @ [3,4]', inputs: [N([1, 2, 3]), N([3, 4])], fn: (a, b) => g.matmul(a!, b!) },
  ],
  matmulT: [
    { name: 'matmulT: A B', inputs: [N([2, 3, 4]), N([2, 4, 5])], fn: (a, b) => g.matmulT(a!, b!, false, false) },
    { name: 'matmulT: A^T B', inputs: [N([2, 4, 3]), N([2, 4, 5])], fn: (a, b) => g.matmulT(a!, b!, true, false) },
    { name: 'matmulT: A B^T', inputs: [N([2, 3, 4]), N([5, 4])], fn: (a, b) => g.matmulT(a!, b!, false, true) },
    { name: 'matmulT: A^T B^T', inputs: [N([4, 3]), N([2, 5, 4])], fn: (a, b) => g.matmulT(a!, b!, true, true) },
  ],
  reshape: [{ name: 'reshape: [2,3,4] -> [4,-1]', inputs: [N([2, 3, 4])], fn: (a) => g.reshape(a!, [4, -1]) }],
  flatten: [{ name: 'flatten: [2,3,2,2] from dim 1', inputs: [N([2, 3, 2, 2])], fn: (a) => g.flatten(a!) }],
  transpose: [
    { name: 'transpose: 2-D', inputs: [N([3, 5])], fn: (a) => g.transpose(a!) },
    { name: 'transpose: 3-D reverses dims', inputs: [N([2, 3, 4])], fn: (a) => g.transpose(a!) },
  ],
  permute: [{ name: 'permute: [1,2,0]', inputs: [N([2, 3, 4])], fn: (a) => g.permute(a!, [1, 2, 0]) }],
  slice: [
    { name: 'slice: begin [1,2] size [2,-1]', inputs: [N([4, 5])], fn: (a) => g.slice(a!, [1, 2], [2, -1]) },
    { name: 'slice: 3-D middle window', inputs: [N([3, 4, 5])], fn: (a) => g.slice(a!, [1, 1, 2], [1, 2, 3]) },
  ],
  concat: [
    { name: 'concat: three tensors on axis 1', inputs: [N([2, 1, 3]), N([2, 2, 3]), N([2, 3, 3])], fn: (a, b, c) => g.concat([a!, b!, c!], 1) },
    { name: 'concat: axis 0, one tensor twice', inputs: [N([2, 3])], fn: (a) => g.concat([a!, g.mul(a!, a!)], 0) },
  ],
  pad: [
    { name: 'pad: [[1,0],[2,1]] zeros', inputs: [N([2, 3])], fn: (a) => g.pad(a!, [[1, 0], [2, 1]]) },
    { name: 'pad: 3-D with value 0.5', inputs: [N([2, 2, 3])], fn: (a) => g.pad(a!, [[0, 1], [1, 1], [0, 2]], 0.5) },
  ],
  broadcastTo: [{ name: 'broadcastTo: [3,1] -> [2,3,4]', inputs: [N([3, 1])], fn: (a) => g.broadcastTo(a!, [2, 3, 4]) }],
  stack: [{ name: 'stack: axis 1', inputs: [N([2, 3]), N([2, 3])], fn: (a, b) => g.stack([a!, b!], 1) }],
  cast: [
    {
      name: 'cast: to float32 and back',
      inputs: [N([3, 4])],
      fn: (a) => g.mul(g.cast(g.cast(a!, 'float32'), a!.dtype), a!),
      // float32 rounding (~1e-7) divided by the step: a coarser step keeps it below tolerance.
      gradcheck: { eps: 1e-3, atol: 1e-3, rtol: 1e-3 },
    },
  ],
  squeeze: [
    { name: 'squeeze: axis 1 of [2,1,3,1]', inputs: [N([2, 1, 3, 1])], fn: (a) => g.squeeze(a!, [1]) },
    { name: 'squeeze: all unit dims', inputs: [N([2, 1, 3, 1])], fn: (a) => g.squeeze(a!) },
  ],
  expandDims: [
    { name: 'expandDims: axis -1', inputs: [N([2, 3])], fn: (a) => g.expandDims(a!, -1) },
    { name: 'expandDims: axis 0', inputs: [N([2, 3])], fn: (a) => g.expandDims(a!, 0) },
  ],
  im2col: [
    { name: 'im2col: 3x3 stride 2 padding 1, odd spatial', inputs: [N([1, 2, 5, 5])], fn: (x) => g.im2col(x!, { kernel: 3, stride: 2, padding: 1 }) },
    { name: 'im2col: 2x3 kernel stride [1,2], batch 2', inputs: [N([2, 1, 4, 5])], fn: (x) => g.im2col(x!, { kernel: [2, 3], stride: [1, 2] }) },
  ],
  col2im: [
    { name: 'col2im: 3x3 stride 2 padding 1 onto [1,2,5,5]', inputs: [N([1, 18, 9])], fn: (c) => g.col2im(c!, [1, 2, 5, 5], { kernel: 3, stride: 2, padding: 1 }) },
    { name: 'col2im: overlapping 3x3 stride 1 onto [2,1,4,4]', inputs: [N([2, 9, 4])], fn: (c) => g.col2im(c!, [2, 1, 4, 4], { kernel: 3 }) },
  ],
  conv2d: [
    {
      name: 'conv2d: stride 2 padding 1, odd spatial, batch 1',
      inputs: [N([1, 2, 7, 7]), N([3, 2, 3, 3]), N([3])],
      fn: (x, w, b) => g.conv2d(x!, w!, b!, { stride: 2, padding: 1 }),
    },
    { name: 'conv2d: stride 1 padding 0 with bias, batch 2', inputs: [N([2, 2, 5, 5]), N([3, 2, 3, 3]), N([3])], fn: (x, w, b) => g.conv2d(x!, w!, b!) },
    { name: 'conv2d: stride 1 padding 1, no bias', inputs: [N([2, 2, 4, 5]), N([2, 2, 3, 3])], fn: (x, w) => g.conv2d(x!, w!, null, { padding: 1 }) },
    { name: 'conv2d: stride 2 padding 0, no bias, odd spatial', inputs: [N([1, 1, 7, 7]), N([2, 1, 3, 3])], fn: (x, w) => g.conv2d(x!, w!, null, { stride: 2 }) },
    {
      name: 'conv2d: non-square 2x3 kernel, stride [2,1], padding [1,0]',
      inputs: [N([1, 2, 5, 6]), N([2, 2, 2, 3]), N([2])],
      fn: (x, w, b) => g.conv2d(x!, w!, b!, { stride: [2, 1], padding: [1, 0] }),
    },
    { name: "conv2d: padding 'same' 3x3, batch 1", inputs: [N([1, 1, 5, 5]), N([2, 1, 3, 3]), N([2])], fn: (x, w, b) => g.conv2d(x!, w!, b!, { padding: 'same' }) },
  ],
  maxPool2d: [
    { name: 'maxPool2d: 2x2 stride 2 on odd input', inputs: [D([2, 2, 5, 5])], fn: (x) => g.maxPool2d(x!, { kernel: 2 }) },
    { name: 'maxPool2d: 3x3 stride 2 overlapping, odd, batch 1', inputs: [D([1, 2, 7, 7])], fn: (x) => g.maxPool2d(x!, { kernel: 3, stride: 2 }) },
    { name: 'maxPool2d: 3x3 stride 2 padding 1', inputs: [D([1, 1, 5, 5])], fn: (x) => g.maxPool2d(x!, { kernel: 3, stride: 2, padding: 1 }) },
  ],
  maxPoolGather: [
    {
      name: 'maxPoolGather: at the argmax of another tensor',
      inputs: [N([1, 2, 5, 5]), C(D([1, 2, 5, 5]))],
      fn: (x, z) => {
        const { indices } = g.noGrad(() => g.maxPool2dWithIndices(z!, { kernel: 3, stride: 2 }));
        return g.maxPoolGather(x!, indices, { kernel: 3, stride: 2 });
      },
    },
  ],
  avgPool2d: [
    { name: 'avgPool2d: 2x2 stride 2 on odd input', inputs: [N([2, 2, 5, 5])], fn: (x) => g.avgPool2d(x!, { kernel: 2 }) },
    { name: 'avgPool2d: 3x3 stride 2 padding 1, batch 1', inputs: [N([1, 2, 5, 5])], fn: (x) => g.avgPool2d(x!, { kernel: 3, stride: 2, padding: 1 }) },
  ],
  globalAvgPool2d: [{ name: 'globalAvgPool2d: [2,3,3,5]', inputs: [N([2, 3, 3, 5])], fn: (x) => g.globalAvgPool2d(x!) }],
  batchNorm: [
    {
      name: 'batchNorm: training 2-D [6,3]',
      inputs: [N([6, 3]), N([3]), N([3])],
      fn: (x, ga, be) => g.batchNorm(x!, ga!, be!, null, null, { training: true }),
    },
    {
      name: 'batchNorm: training 4-D [2,3,3,3]',
      inputs: [N([2, 3, 3, 3]), N([3]), N([3])],
      fn: (x, ga, be) => g.batchNorm(x!, ga!, be!, null, null, { training: true, eps: 1e-3 }),
    },
    {
      name: 'batchNorm: training 4-D batch 1 with running stats',
      inputs: [N([1, 2, 3, 3]), N([2]), N([2]), C(N([2])), C(P([2]))],
      fn: (x, ga, be, rm, rv) => g.batchNorm(x!, ga!, be!, rm!, rv!, { training: true, momentum: 0.2 }),
    },
    {
      name: 'batchNorm: eval 4-D with running stats',
      inputs: [N([2, 3, 2, 3]), N([3]), N([3]), C(N([3])), C(P([3]))],
      fn: (x, ga, be, rm, rv) => g.batchNorm(x!, ga!, be!, rm!, rv!, { training: false }),
    },
  ],
  batchNormRelu: [
    {
      name: 'batchNormRelu: training 4-D [2,3,3,3]',
      inputs: [N([2, 3, 3, 3]), N([3]), N([3])],
      fn: (x, ga, be) => g.batchNormRelu(x!, ga!, be!, null, null, { training: true, eps: 1e-3 }),
    },
    {
      name: 'batchNormRelu: training 4-D batch 1 with running stats',
      inputs: [N([1, 2, 3, 3]), N([2]), N([2]), C(N([2])), C(P([2]))],
      fn: (x, ga, be, rm, rv) => g.batchNormRelu(x!, ga!, be!, rm!, rv!, { training: true, momentum: 0.2 }),
    },
    {
      name: 'batchNormRelu: eval 4-D with running stats',
      inputs: [N([2, 3, 2, 3]), N([3]), N([3]), C(N([3])), C(P([3]))],
      fn: (x, ga, be, rm, rv) => g.batchNormRelu(x!, ga!, be!, rm!, rv!, { training: false }),
    },
  ],
  batchNormTrainComposite: [
    {
      name: 'batchNormTrainComposite: 4-D [2,2,2,3]',
      inputs: [N([2, 2, 2, 3]), N([2]), N([2])],
      fn: (x, ga, be) => g.batchNormTrainComposite(x!, ga!, be!, 1e-5),
    },
  ],
  softmax: [
    { name: 'softmax: rows [4,7]', inputs: [N([4, 7])], fn: (a) => g.softmax(a!) },
    { name: 'softmax: axis 0 of [5,3]', inputs: [N([5, 3])], fn: (a) => g.softmax(a!, 0) },
    { name: 'softmax: axis 1 of [2,4,3]', inputs: [N([2, 4, 3])], fn: (a) => g.softmax(a!, 1) },
  ],
  logSoftmax: [
    { name: 'logSoftmax: axis -1 of [3,5]', inputs: [N([3, 5])], fn: (a) => g.logSoftmax(a!, -1) },
    { name: 'logSoftmax: axis 0 of [4,3]', inputs: [N([4, 3])], fn: (a) => g.logSoftmax(a!, 0) },
    { name: 'logSoftmax: axis 1 of [2,4,3]', inputs: [N([2, 4, 3])], fn: (a) => g.logSoftmax(a!, 1) },
  ],
  softmaxHvp: [
    { name: 'softmaxHvp: J_softmax(z) v', inputs: [N([3, 5]), N([3, 5])], fn: (z, v) => g.softmaxHvp(g.softmax(z!), v!) },
    { name: 'softmaxHvp: raw p and v, 3-D', inputs: [U([2, 2, 4]), N([2, 2, 4])], fn: (p, v) => g.softmaxHvp(p!, v!) },
  ],
  softmaxHvpComposite: [{ name: 'softmaxHvpComposite: raw p and v', inputs: [U([3, 4]), N([3, 4])], fn: (p, v) => g.softmaxHvpComposite(p!, v!) }],
  crossEntropy: [
    { name: 'crossEntropy: [6,5] logits', inputs: [N([6, 5]), L(6, 5)], fn: (z, y) => g.crossEntropy(z!, y!) },
    { name: "crossEntropy: reduction 'sum'", inputs: [N([4, 3]), L(4, 3)], fn: (z, y) => g.crossEntropy(z!, y!, 'sum') },
    { name: "crossEntropy: reduction 'none'", inputs: [N([4, 6]), L(4, 6)], fn: (z, y) => g.crossEntropy(z!, y!, 'none') },
    { name: 'crossEntropy: batch 1', inputs: [N([1, 10]), L(1, 10)], fn: (z, y) => g.crossEntropy(z!, y!) },
  ],
  oneHot: [{ name: 'oneHot: forward only', inputs: [L(5, 4)], fn: (y) => g.oneHot(y!, 4), order: 0 }],
  mse: [
    { name: 'mse: mean', inputs: [N([3, 4]), N([3, 4])], fn: (p, t) => g.mse(p!, t!) },
    { name: "mse: reduction 'sum'", inputs: [N([5]), N([5])], fn: (p, t) => g.mse(p!, t!, 'sum') },
    { name: "mse: reduction 'none'", inputs: [N([2, 3]), N([2, 3])], fn: (p, t) => g.mse(p!, t!, 'none') },
  ],
  binaryCrossEntropy: [
    { name: 'binaryCrossEntropy: probabilities', inputs: [U([3, 4]), U([3, 4])], fn: (p, t) => g.binaryCrossEntropy(p!, t!) },
    { name: "binaryCrossEntropy: probabilities, 'none'", inputs: [U([5]), U([5])], fn: (p, t) => g.binaryCrossEntropy(p!, t!, { reduction: 'none' }) },
    { name: 'binaryCrossEntropy: fromLogits', inputs: [N([3, 4]), U([3, 4])], fn: (z, t) => g.binaryCrossEntropy(z!, t!, { fromLogits: true }) },
  ],
  dropout: [
    { name: 'dropout: p 0.3, seed 42', inputs: [N([4, 5])], fn: (x) => g.dropout(x!, 0.3, { training: true, seed: 42 }) },
    { name: 'dropout: eval mode is identity', inputs: [N([3, 3])], fn: (x) => g.dropout(x!, 0.5, { training: false }) },
  ],
  gaussianNoise: [{ name: 'gaussianNoise: std 0.5, seed 7', inputs: [N([3, 4])], fn: (x) => g.gaussianNoise(x!, 0.5, { seed: 7 }) }],
  composite: [
    {
      name: 'composite: softmax(tanh(conv2d)) over channels',
      inputs: [N([1, 2, 5, 5]), N([3, 2, 3, 3]), N([3])],
      fn: (x, w, b) => g.softmax(g.tanh(g.conv2d(x!, w!, b!, { stride: 2, padding: 1 })), 1),
    },
    {
      name: 'composite: logSoftmax(sigmoid(x) @ w)',
      inputs: [N([3, 4]), N([4, 5])],
      fn: (x, w) => g.logSoftmax(g.matmul(g.sigmoid(x!), w!)),
    },
    {
      name: 'composite: maxPool2d(exp(conv2d)) (max-pool over a reused-output op)',
      inputs: [N([1, 1, 6, 6]), N([2, 1, 3, 3])],
      fn: (x, w) => g.maxPool2d(g.exp(g.mul(g.conv2d(x!, w!, null, { padding: 1 }), 0.5)), { kernel: 2 }),
    },
    {
      name: 'composite: crossEntropy(dense(relu(maxPool2d(conv2d))))',
      inputs: [N([2, 1, 6, 6]), N([2, 1, 3, 3]), N([8, 3]), L(2, 3)],
      fn: (x, w, d, y) => {
        const h = g.relu(g.maxPool2d(g.conv2d(x!, w!, null, { padding: 1 }), { kernel: 3, stride: 3 }));
        return g.crossEntropy(g.matmul(g.flatten(h), d!), y!);
      },
    },
    {
      name: 'composite: batchNorm(sigmoid) then tanh',
      inputs: [N([3, 2, 2, 2]), N([2]), N([2])],
      fn: (x, ga, be) => g.tanh(g.batchNorm(g.sigmoid(x!), ga!, be!, null, null, { training: true })),
    },
  ],
  // nodes recorded by backward rules, differentiated by the order-2 checks of these samples
  ...reachedBy('conv2d', ['conv2dBackwardInput', 'conv2dBackwardWeight']),
  ...reachedBy('maxPoolGather', ['maxPoolScatter']),
  ...reachedBy('avgPool2d', ['avgPool2dBackward']),
  ...reachedBy('batchNorm', ['batchNorm.xhat', 'batchNorm.invStd', 'batchNormBackward.dx', 'batchNormBackward.dgamma', 'batchNormBackward.dbeta']),
} satisfies Record<OpName, SampleEntry> & Record<string, SampleEntry>;

/** Every sample of the table, in table order. */
export const OP_SAMPLES: OpSample[] = Object.values(OP_SAMPLE_TABLE).flatMap((e: SampleEntry) => ('reachedBy' in e ? [] : [...e]));
