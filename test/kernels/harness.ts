/**
 * Kernel-level comparison of a backend with the cpu reference: the same kernel call on both, with
 * the same inputs, results read back and compared (exactly for integers and bit-exact cases,
 * relative to the largest magnitude otherwise; NaN must match NaN, infinities must match).
 */
import { expect } from 'vitest';
import type { Backend, Storage, TensorRef } from '../../src/backends/backend.js';
import { CpuBackend } from '../../src/backends/cpu/index.js';
import { toTyped, type DType, type TypedArray } from '../../src/dtype.js';

export type Put = (values: ArrayLike<number>, shape: readonly number[], dtype?: DType) => TensorRef;
export type KernelCall = (b: Backend, put: Put) => Storage | Storage[];

const cpu = new CpuBackend();

async function runOn(b: Backend, fn: KernelCall): Promise<TypedArray[]> {
  const made: Storage[] = [];
  const put: Put = (values, shape, dtype = 'float32') => {
    const storage = b.upload(toTyped(dtype, values));
    made.push(storage);
    return { storage, shape, dtype };
  };
  const out = [fn(b, put)].flat();
  const data = await Promise.all(out.map((s) => b.read(s)));
  for (const s of new Set([...made, ...out])) b.dispose(s);
  return data;
}

/** Run `fn` on the cpu reference and on `dev`; returns [reference, device] results. */
export async function both(dev: Backend, fn: KernelCall): Promise<[TypedArray[], TypedArray[]]> {
  return [await runOn(cpu, fn), await runOn(dev, fn)];
}

/** |got - want| <= tol * max(1e-3, max |want|) elementwise, with NaN and infinities matched exactly. */
export function expectClose(got: TypedArray, want: TypedArray, tol: number, what = ''): void {
  expect(got.length, `${what} length`).toBe(want.length);
  let scale = 1e-3;
  for (const v of want) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < want.length; i++) {
    const a = got[i]!;
    const b = want[i]!;
    if (Number.isNaN(b) || !Number.isFinite(b)) {
      if (!Object.is(a, b) && !(Number.isNaN(a) && Number.isNaN(b))) expect.fail(`${what}[${i}]: got ${a}, want ${b}`);
      continue;
    }
    if (!(Math.abs(a - b) <= tol * scale)) expect.fail(`${what}[${i}]: got ${a}, want ${b} (tol ${tol} x ${scale})`);
  }
}

export async function expectSame(dev: Backend, fn: KernelCall, tol: number, what = ''): Promise<void> {
  const [want, got] = await both(dev, fn);
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => {
    if (g instanceof Int32Array || tol === 0) expect(Array.from(g), `${what} output ${i}`).toEqual(Array.from(want[i]!));
    else expectClose(g, want[i]!, tol, `${what} output ${i}`);
  });
}

/** Deterministic values: normal-ish in [-3, 3], or a chosen kind. */
export function vals(n: number, seed: number, kind: 'normal' | 'positive' | 'int' | 'coarse' = 'normal'): number[] {
  let s = (seed * 2654435761 + 12345) >>> 0 || 1;
  const next = (): number => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
  return Array.from({ length: n }, () => {
    const u = next();
    if (kind === 'positive') return 0.5 + 1.5 * u;
    if (kind === 'int') return Math.floor(u * 21) - 10;
    // Few distinct values, so comparisons, ties and max/argmax ties happen.
    if (kind === 'coarse') return Math.floor(u * 7) / 2 - 1.5;
    return (u + next() + next() - 1.5) * 2;
  });
}

export const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
