import { DTypeError } from './errors.js';

export type DType = 'float32' | 'float64' | 'int32';
export type FloatDType = 'float32' | 'float64';
export type TypedArray = Float32Array | Float64Array | Int32Array;

export const DTYPES: readonly DType[] = ['float32', 'float64', 'int32'];

export function isFloat(d: DType): d is FloatDType {
  return d === 'float32' || d === 'float64';
}

export function bytesPerElement(d: DType): number {
  return d === 'float64' ? 8 : 4;
}

export function allocTyped(d: DType, n: number): TypedArray {
  switch (d) {
    case 'float32':
      return new Float32Array(n);
    case 'float64':
      return new Float64Array(n);
    case 'int32':
      return new Int32Array(n);
  }
}

/** Copy `src` into a new typed array of dtype `d` (rounding toward zero for int32). */
export function toTyped(d: DType, src: ArrayLike<number>): TypedArray {
  const out = allocTyped(d, src.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i]!;
  return out;
}

export function dtypeOfArray(a: TypedArray): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  return 'int32';
}

/**
 * Check a dtype that came from the caller (an option or argument): an unknown name, e.g.
 * 'float16', is a DTypeError naming the op and the option instead of a TypeError deep inside a backend.
 */
export function checkDType(op: string, d: unknown, what = 'dtype'): asserts d is DType {
  if (!(DTYPES as readonly unknown[]).includes(d)) {
    throw new DTypeError(`${op}: ${what} must be one of ${DTYPES.join(', ')}, got ${typeof d === 'string' ? `'${d}'` : String(d)}`);
  }
}

/** checkDType for the float dtypes only. */
export function checkFloatDType(op: string, d: unknown, what = 'dtype'): asserts d is FloatDType {
  if (d !== 'float32' && d !== 'float64') {
    throw new DTypeError(`${op}: ${what} must be float32 or float64, got ${typeof d === 'string' ? `'${d}'` : String(d)}`);
  }
}

export function assertFloat(op: string, d: DType, what = 'input'): asserts d is FloatDType {
  if (!isFloat(d)) throw new DTypeError(`${op}: ${what} must be float32 or float64, got ${d}`);
}

export function assertDType(op: string, got: DType, expected: DType, what = 'input'): void {
  if (got !== expected) throw new DTypeError(`${op}: ${what} must be ${expected}, got ${got}`);
}
