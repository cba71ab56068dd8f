import type { DeviceName, RandomKind } from '../backends/backend.js';
import { allocTyped, checkDType, isFloat, type DType, type TypedArray } from '../dtype.js';
import { engine } from '../engine.js';
import { ArgumentError, DTypeError, ShapeError, fmtShape } from '../errors.js';
import { checkShape, sizeOf, type Shape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { backendFor, backendOf, wrap } from './core.js';

export interface CreateOptions {
  dtype?: DType;
  device?: DeviceName;
  requiresGrad?: boolean;
}

export interface RandomOptions extends CreateOptions {
  /** Fixes the draw: the same seed gives the same numbers on every device. Default: the global generator. */
  seed?: number;
}

type Nested = number | readonly Nested[];

function flatten(data: Nested, out: number[], shape: number[], depth: number): void {
  if (typeof data === 'number') {
    out.push(data);
    return;
  }
  if (shape.length <= depth) shape.push(data.length);
  else if (shape[depth] !== data.length) {
    throw new ShapeError(`tensor: ragged nested array (dim ${depth} has lengths ${shape[depth]} and ${data.length})`);
  }
  for (const d of data) flatten(d, out, shape, depth + 1);
}

function resolve(op: string, opts: CreateOptions | undefined): { dtype: DType; device: DeviceName } {
  const dtype = opts?.dtype ?? 'float32';
  checkDType(op, dtype, 'option dtype');
  const device = opts?.device ?? engine.defaultDevice;
  backendFor(op, device, dtype);
  if (opts?.requiresGrad && !isFloat(dtype)) {
    throw new DTypeError(`${op}: only float tensors can require gradients, got ${dtype}`);
  }
  return { dtype, device };
}

/**
 * Create a tensor from a flat array (with `shape`) or a nested array (shape inferred).
 * A typed array's own dtype is used unless `dtype` is given.
 */
export function tensor(data: Nested | TypedArray | readonly number[], shape?: Shape, opts?: CreateOptions): Tensor {
  let flat: ArrayLike<number>;
  let inferred: number[] = [];
  let dtypeGuess: DType | undefined;
  if (ArrayBuffer.isView(data)) {
    flat = data;
    inferred = [data.length];
    dtypeGuess = data instanceof Float64Array ? 'float64' : data instanceof Int32Array ? 'int32' : 'float32';
  } else if (typeof data === 'number') {
    flat = [data];
    inferred = [];
  } else {
    const out: number[] = [];
    flatten(data as Nested, out, inferred, 0);
    flat = out;
  }
  const s = shape ?? inferred;
  checkShape('tensor', s);
  if (sizeOf(s) !== flat.length) {
    throw new ShapeError(`tensor: ${flat.length} values do not fill shape ${fmtShape(s)} (${sizeOf(s)} elements)`);
  }
  const { dtype, device } = resolve('tensor', { ...opts, dtype: opts?.dtype ?? dtypeGuess });
  const host = allocTyped(dtype, flat.length);
  for (let i = 0; i < flat.length; i++) host[i] = flat[i]!;
  const b = engine.backend(device, 'tensor');
  const t = wrap(b, b.upload(host), s, dtype);
  if (dtype === 'int32') t.hostInts = host as Int32Array;
  t.requiresGrad = opts?.requiresGrad ?? false;
  return t;
}

export function full(shape: Shape, value: number, opts?: CreateOptions): Tensor {
  checkShape('full', shape);
  const { dtype, device } = resolve('full', opts);
  const b = engine.backend(device, 'full');
  const t = wrap(b, b.fill(sizeOf(shape), value, dtype), shape, dtype);
  t.requiresGrad = opts?.requiresGrad ?? false;
  return t;
}

export function zeros(shape: Shape, opts?: CreateOptions): Tensor {
  return full(shape, 0, opts);
}

export function ones(shape: Shape, opts?: CreateOptions): Tensor {
  return full(shape, 1, opts);
}

export function scalar(value: number, opts?: CreateOptions): Tensor {
  return full([], value, opts);
}

export function zerosLike(t: Tensor): Tensor {
  backendOf('zerosLike', t);
  return full(t.shape, 0, { dtype: t.dtype, device: t.device });
}

export function onesLike(t: Tensor): Tensor {
  backendOf('onesLike', t);
  return full(t.shape, 1, { dtype: t.dtype, device: t.device });
}

export function fullLike(t: Tensor, value: number): Tensor {
  backendOf('fullLike', t);
  return full(t.shape, value, { dtype: t.dtype, device: t.device });
}

/** Integers start, start+step, ... below stop. */
export function arange(start: number, stop: number, step = 1, opts?: CreateOptions): Tensor {
  if (step === 0) throw new ArgumentError('arange: step must not be 0');
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const vals = Array.from({ length: n }, (_, i) => start + i * step);
  return tensor(vals, [n], opts);
}

// ---- the global generator: (seed, stream) fixed, offset advancing with each draw ----

const rng = { seedLo: 0x5eed, seedHi: 0, stream: 0, offset: 0 };

/** Reseed the global generator (used when no `seed` option is given). */
export function manualSeed(seed: number): void {
  splitSeed(seed, rng);
  rng.stream = 0;
  rng.offset = 0;
}

function splitSeed(seed: number, into: { seedLo: number; seedHi: number }): void {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new ArgumentError(`seed: expected a non-negative safe integer, got ${seed}`);
  }
  into.seedLo = seed % 4294967296 >>> 0;
  into.seedHi = Math.floor(seed / 4294967296) >>> 0;
}

/** A stream id per explicit seed use, so two draws with one explicit seed but different purposes can differ. */
export interface DrawKey {
  seed: number;
  stream?: number;
  offset?: number;
}

export function randomTensor(
  op: string,
  kind: RandomKind,
  shape: Shape,
  a: number,
  b: number,
  opts: RandomOptions | undefined,
  key?: DrawKey,
): Tensor {
  checkShape(op, shape);
  const { dtype, device } = resolve(op, opts);
  if (!isFloat(dtype)) throw new DTypeError(`${op}: random values need a float dtype, got ${dtype}`);
  const n = sizeOf(shape);
  const p = { kind, a, b, seedLo: 0, seedHi: 0, stream: 0, offset: 0 };
  const seed = key?.seed ?? opts?.seed;
  if (seed !== undefined) {
    splitSeed(seed, p);
    p.stream = key?.stream ?? 0;
    p.offset = key?.offset ?? 0;
  } else {
    p.seedLo = rng.seedLo;
    p.seedHi = rng.seedHi;
    p.stream = rng.stream;
    p.offset = rng.offset;
    rng.offset += n;
  }
  const be = engine.backend(device, op);
  const t = wrap(be, be.random(n, dtype, p), shape, dtype);
  t.requiresGrad = opts?.requiresGrad ?? false;
  return t;
}

/** Uniform on [low, high). */
export function rand(shape: Shape, opts?: RandomOptions & { low?: number; high?: number }): Tensor {
  return randomTensor('rand', 'uniform', shape, opts?.low ?? 0, opts?.high ?? 1, opts);
}

/** Normal with mean and std (default standard normal). */
export function randn(shape: Shape, opts?: RandomOptions & { mean?: number; std?: number }): Tensor {
  return randomTensor('randn', 'normal', shape, opts?.mean ?? 0, opts?.std ?? 1, opts);
}

/** 1 with probability p, else 0. */
export function bernoulli(shape: Shape, p: number, opts?: RandomOptions): Tensor {
  if (!(p >= 0 && p <= 1)) throw new ArgumentError(`bernoulli: p must be in [0, 1], got ${p}`);
  return randomTensor('bernoulli', 'bernoulli', shape, p, 0, opts);
}
