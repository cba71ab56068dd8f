/**
 * Kernel-level comparison: run the same kernel calls on the cpu reference backend and a WebGPU
 * backend from identical float32 / int32 inputs and compare the outputs.
 */
import { expect } from 'vitest';
import type { Backend, Storage, TensorRef } from '../../src/backends/backend.js';
import { CpuBackend } from '../../src/backends/cpu/index.js';
import type { TypedArray } from '../../src/dtype.js';
import { xorshift } from '../helpers/opinfo.js';

export const cpu = new CpuBackend();

export type Up = (data: ArrayLike<number>, shape: number[], dtype?: 'float32' | 'int32') => TensorRef;
export type KernelRun = (be: Backend, up: Up) => Storage | Storage[];

function uploader(be: Backend): Up {
  return (data, shape, dtype = 'float32') => {
    const arr = dtype === 'int32' ? Int32Array.from(data) : Float32Array.from(data);
    return { storage: be.upload(arr), shape, dtype };
  };
}

async function outputs(be: Backend, run: KernelRun): Promise<TypedArray[]> {
  const r = run(be, uploader(be));
  const list = Array.isArray(r) ? r : [r];
  return Promise.all(list.map((s) => be.read(s)));
}

/** Worst error relative to tol * (largest magnitude of the reference, at least 1e-3); NaN must match NaN. */
export function worstError(got: ArrayLike<number>, want: ArrayLike<number>, tol: number): number {
  if (got.length !== want.length) return Infinity;
  let scale = 1e-3;
  for (let i = 0; i < want.length; i++) if (Number.isFinite(want[i]!)) scale = Math.max(scale, Math.abs(want[i]!));
  let w = 0;
  for (let i = 0; i < want.length; i++) {
    const a = got[i]!;
    const b = want[i]!;
    if (Number.isNaN(b) || Number.isNaN(a)) {
      if (Number.isNaN(a) !== Number.isNaN(b)) return Infinity;
      continue;
    }
    if (!Number.isFinite(b) || !Number.isFinite(a)) {
      if (a !== b) return Infinity;
      continue;
    }
    w = Math.max(w, Math.abs(a - b) / (tol * scale));
  }
  return w;
}

/** Run `run` on cpu and on `gpu`; every output must agree within tol (exact when tol is 0). */
export async function sameAsCpu(gpu: Backend, run: KernelRun, tol = 1e-5, what = ''): Promise<TypedArray[]> {
  const want = await outputs(cpu, run);
  const got = await outputs(gpu, run);
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => {
    const w = want[i]!;
    if (tol === 0) {
      expect(Array.from(g), `${what} output ${i}`).toEqual(Array.from(w));
    } else {
      const e = worstError(g, w, tol);
      if (!(e <= 1)) {
        let at = 0;
        let worst = -1;
        for (let k = 0; k < w.length; k++) {
          const d = Math.abs(g[k]! - w[k]!);
          if (d > worst || Number.isNaN(d)) { worst = d; at = k; }
        }
        expect.fail(`${what} output ${i}: error ${e.toFixed(2)} x tol; at ${at}: got ${g[at]}, want ${w[at]} (length ${w.length})`);
      }
    }
  });
  return got;
}

/** Deterministic pseudo-random values (xorshift), normal-ish in [-2, 2]. */
export function values(n: number, seed = 1, kind: 'normal' | 'positive' | 'int' | 'distinct' = 'normal'): number[] {
  const next = xorshift(seed);
  const out = new Array<number>(n);
  if (kind === 'distinct') {
    const perm = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [perm[i], perm[j]] = [perm[j]!, perm[i]!];
    }
    for (let i = 0; i < n; i++) out[i] = (perm[i]! - n / 2) / Math.max(1, n / 8);
    return out;
  }
  for (let i = 0; i < n; i++) {
    const u = next();
    if (kind === 'positive') out[i] = 0.5 + 1.5 * u;
    else if (kind === 'int') out[i] = Math.floor(u * 41) - 20;
    else out[i] = (u + next() + next() + next() - 2) * 1.7;
  }
  return out;
}
