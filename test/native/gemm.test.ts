/**
 * GEMM against the cpu reference on odd sizes, every transpose combination and broadcast batches,
 * with each micro-kernel (portable, AVX2, AVX-512) forced in turn and with 1 and 3 threads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backends/cpu/index.js';
import type { Storage, TensorRef } from '../../src/backends/backend.js';
import type { NativeBackend } from '../../src/backends/native/backend.js';
import type { Isa } from '../../src/backends/native/addon.js';
import { sizeOf } from '../../src/shape.js';
import { nativeBackend, runNative } from './native.js';

const cpu = new CpuBackend();

function values(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    a[i] = s / 4294967296 - 0.5;
  }
  return a;
}

interface Case {
  m: number; n: number; k: number;
  aBatch: number[]; bBatch: number[];
}

const SIZES: [number, number, number][] = [
  [1, 1, 1], [7, 13, 5], [33, 65, 17], [9, 47, 300], [64, 121, 60], [130, 37, 33], [3, 4100, 2],
];
const BATCHES: [number[], number[]][] = [[[], []], [[], [3]], [[3], []], [[2, 3], [3]], [[2, 1], [1, 3]], [[4], [4]]];

function cases(): Case[] {
  const out: Case[] = [];
  for (const [m, n, k] of SIZES) for (const [aBatch, bBatch] of BATCHES) {
    if (m * n * k > 200000 && (aBatch.length || bBatch.length)) continue;
    out.push({ m, n, k, aBatch, bBatch });
  }
  return out;
}

function run(be: CpuBackend | NativeBackend, c: Case, ta: boolean, tb: boolean, A: Float32Array, B: Float32Array): Float32Array {
  const aShape = [...c.aBatch, ...(ta ? [c.k, c.m] : [c.m, c.k])];
  const bShape = [...c.bBatch, ...(tb ? [c.n, c.k] : [c.k, c.n])];
  const r = Math.max(c.aBatch.length, c.bBatch.length);
  const batch: number[] = [];
  for (let d = 0; d < r; d++) {
    const da = c.aBatch[c.aBatch.length - r + d] ?? 1;
    const db = c.bBatch[c.bBatch.length - r + d] ?? 1;
    batch.push(Math.max(da, db));
  }
  const sa: Storage = be.upload(A);
  const sb: Storage = be.upload(B);
  const a: TensorRef = { storage: sa, shape: aShape, dtype: 'float32' };
  const b: TensorRef = { storage: sb, shape: bShape, dtype: 'float32' };
  const out = be.matmul(a, b, ta, tb, [...batch, c.m, c.n]);
  const v = Float32Array.from(be.readSync(out) as Float32Array);
  be.dispose(sa); be.dispose(sb); be.dispose(out);
  return v;
}

function maxRelErr(got: Float32Array, want: Float32Array, k: number): number {
  let scale = 1e-6;
  for (const w of want) scale = Math.max(scale, Math.abs(w));
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
  // float32 accumulation over k terms of magnitude <= 0.25
  return worst / (scale * 1e-6 * Math.max(8, Math.sqrt(k) * 4));
}

describe.runIf(runNative)('native GEMM vs the cpu reference', () => {
  let be: NativeBackend;
  let isas: Isa[] = [];
  let initial: Isa;
  beforeAll(async () => {
    be = await nativeBackend();
    const info = be.isaInfo();
    isas = info.supported;
    initial = info.isa;
    for (const want of ['avx2', 'avx512'] as Isa[]) {
      if (!isas.includes(want)) console.log(`native GEMM: this CPU has no ${want}; its micro-kernel is not tested here`);
    }
  });
  afterAll(() => {
    be.setIsa(initial);
    be.setThreads(be.isaInfo().threads);
  });

  for (const isa of ['portable', 'avx2', 'avx512'] as Isa[]) {
    for (const threads of [1, 3]) {
      it(`${isa} micro-kernel, ${threads} thread(s): odd sizes x transposes x broadcast batches`, () => {
        if (!isas.includes(isa)) return;
        expect(be.setIsa(isa)).toBe(true);
        be.setThreads(threads);
        expect(be.isaInfo().isa).toBe(isa);
        let checked = 0;
        for (const c of cases()) {
          for (const ta of [false, true]) for (const tb of [false, true]) {
            const A = values(sizeOf(c.aBatch) * c.m * c.k, c.m * 131 + c.k + 7);
            const B = values(sizeOf(c.bBatch) * c.k * c.n, c.n * 71 + c.k + 3);
            const want = run(cpu, c, ta, tb, A, B);
            const got = run(be, c, ta, tb, A, B);
            expect(got.length).toBe(want.length);
            const err = maxRelErr(got, want, c.k);
            if (!(err <= 1)) {
              throw new Error(`${isa}: [${c.aBatch}]x${c.m}x${c.k}${ta ? 'T' : ''} @ [${c.bBatch}]x${c.k}x${c.n}${tb ? 'T' : ''}: error ${err.toFixed(2)} x tolerance`);
            }
            checked++;
          }
        }
        expect(checked).toBeGreaterThan(100);
      });
    }
  }

  for (const isa of ['portable', 'avx2', 'avx512'] as Isa[]) {
    it(`${isa}: a batched product summed over its batch (deferred, fused) and read in full`, () => {
      if (!isas.includes(isa)) return;
      expect(be.setIsa(isa)).toBe(true);
      be.setThreads(2);
      const shapes: [number, number, number, number][] = [[5, 16, 7, 100], [3, 9, 32, 676], [4, 64, 30, 121], [2, 7, 5, 3], [6, 33, 45, 17]];
      for (const [nb, m, n, k] of shapes) {
        for (const ta of [false, true]) for (const tb of [false, true]) {
          const A = values(nb * m * k, nb + m), B = values(nb * k * n, k + n);
          const get = (b: CpuBackend | NativeBackend, summed: boolean): Float32Array => {
            const sa = b.upload(A), sb = b.upload(B);
            const prod = b.matmul(
              { storage: sa, shape: ta ? [nb, k, m] : [nb, m, k], dtype: 'float32' },
              { storage: sb, shape: tb ? [nb, n, k] : [nb, k, n], dtype: 'float32' }, ta, tb, [nb, m, n]);
            const out = summed ? b.reduce('sum', { storage: prod, shape: [nb, m, n], dtype: 'float32' }, [0]) : prod;
            const v = Float32Array.from(b.readSync(out) as Float32Array);
            for (const s of new Set([sa, sb, prod, out])) b.dispose(s);
            return v;
          };
          for (const summed of [true, false]) {
            const err = maxRelErr(get(be, summed), get(cpu, summed), k * nb);
            if (!(err <= 1)) throw new Error(`${isa}: [${nb}] ${m}x${k}${ta ? 'T' : ''} @ ${k}x${n}${tb ? 'T' : ''} ${summed ? 'summed' : 'full'}: error ${err.toFixed(2)} x tolerance`);
          }
        }
      }
    });
  }

  it('the 512x512x512 product matches a float64 reference on sampled entries', () => {
    be.setIsa(initial);
    be.setThreads(be.isaInfo().threads);
    const n = 512;
    const A = values(n * n, 1), B = values(n * n, 2);
    const sa = be.upload(A), sb = be.upload(B);
    const out = be.matmul({ storage: sa, shape: [n, n], dtype: 'float32' }, { storage: sb, shape: [n, n], dtype: 'float32' }, false, false, [n, n]);
    const C = be.readSync(out);
    for (let t = 0; t < 200; t++) {
      const i = (t * 7919) % n, j = (t * 104729) % n;
      let s = 0;
      for (let k = 0; k < n; k++) s += A[i * n + k]! * B[k * n + j]!;
      expect(Math.abs(C[i * n + j]! - s)).toBeLessThan(2e-4);
    }
    be.dispose(sa); be.dispose(sb); be.dispose(out);
  });

  it('float64 GEMM matches the cpu reference to 1e-12', () => {
    const m = 37, k = 300, n = 45;
    const A = Float64Array.from(values(m * k, 5)), B = Float64Array.from(values(k * n, 6));
    const get = (b: CpuBackend | NativeBackend): Float64Array => {
      const sa = b.upload(A), sb = b.upload(B);
      const o = b.matmul({ storage: sa, shape: [m, k], dtype: 'float64' }, { storage: sb, shape: [n, k], dtype: 'float64' }, false, true, [m, n]);
      return Float64Array.from(b.readSync(o) as Float64Array);
    };
    const want = get(cpu), got = get(be);
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-12);
  });
});
