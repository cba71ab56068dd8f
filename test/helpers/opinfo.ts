/**
 * One table of sample inputs per op (in the spirit of PyTorch's OpInfo). It drives the gradcheck
 * tests (float64, cpu, orders 1 and 2) and the cross-backend parity tests (float32, every backend,
 * forward + first + second order against the cpu reference).
 */
import * as g from '../../src/index.js';
import type { Tensor } from '../../src/index.js';

export type InputKind =
  /** standard normal */
  | 'normal'
  /** uniform in [0.5, 2]: for log, sqrt, pow bases, divisors */
  | 'positive'
  /** normal values kept at least 0.05 away from 0: for relu, abs, leakyRelu kinks */
  | 'awayFromZero'
  /** distinct values (a permutation of a grid, jittered): for max / max-pool ties */
  | 'distinct'
  /** int32 class labels in [0, classes) */
  | 'labels';

export interface InputSpec {
  shape: number[];
  kind?: InputKind;
  classes?: number;
  /** Not differentiated (constants such as running statistics). */
  constant?: boolean;
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
}

/** Deterministic host values for an input spec (the same on every backend). */
export function sampleValues(spec: InputSpec, seed: number): Float64Array | Int32Array {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  let s = (seed * 2654435761) >>> 0 || 1;
  const next = (): number => {
    // xorshift32, deterministic across runs
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
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

export const OP_SAMPLES: OpSample[] = [
  { name: 'add: broadcast [3,1,4] + [2,4]', inputs: [{ shape: [3, 1, 4] }, { shape: [2, 4] }], fn: (a, b) => g.add(a!, b!) },
  { name: 'mul: broadcast [2,3] * [3]', inputs: [{ shape: [2, 3] }, { shape: [3] }], fn: (a, b) => g.mul(a!, b!) },
  { name: 'exp: [5,3]', inputs: [{ shape: [5, 3] }], fn: (a) => g.exp(a!) },
  { name: 'softmax: rows [4,7]', inputs: [{ shape: [4, 7] }], fn: (a) => g.softmax(a!) },
  { name: 'matmul: [2,3,4] @ [4,5]', inputs: [{ shape: [2, 3, 4] }, { shape: [4, 5] }], fn: (a, b) => g.matmul(a!, b!) },
  {
    name: 'conv2d: stride 2 padding 1, odd spatial, batch 1',
    inputs: [{ shape: [1, 2, 7, 7] }, { shape: [3, 2, 3, 3] }, { shape: [3] }],
    fn: (x, w, b) => g.conv2d(x!, w!, b!, { stride: 2, padding: 1 }),
  },
  {
    name: 'maxPool2d: 2x2 stride 2 on odd input',
    inputs: [{ shape: [2, 2, 5, 5], kind: 'distinct' }],
    fn: (x) => g.maxPool2d(x!, { kernel: 2 }),
  },
  {
    name: 'crossEntropy: [6,5] logits',
    inputs: [{ shape: [6, 5] }, { shape: [6], kind: 'labels', classes: 5 }],
    fn: (z, y) => g.crossEntropy(z!, y!),
  },
];
