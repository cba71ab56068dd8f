import type { TypedArray } from '../../dtype.js';
import type { TensorRef } from '../backend.js';
import { broadcastStrides, sizeOf, type Shape } from '../../shape.js';
import { alloc, arr } from './storage.js';

/*
 * GEMM in the style of BLIS/GotoBLAS, in plain TypeScript: the operands are packed, block by
 * block, into contiguous float64 panels (A in panels of MR rows, B in panels of NR columns, zero
 * padded at the edges), and a 4x4 micro-kernel keeps its 16 partial sums in locals while it streams
 * one A panel and one B panel. Blocking K by KC keeps a packed B block (KC x NC) in L2 and an A
 * panel in L1. Transposes are only a choice of strides while packing, so all four combinations run
 * the same kernel. Sums accumulate in float64 and are rounded to the output dtype once at the end.
 */
const MR = 4;
const NR = 4;
const KC = 256;
const MC = 64;
const NC = 512;

/** Packing buffers, grown on demand and reused: the backend is synchronous and single-threaded. */
let packA = new Float64Array(MC * KC);
let packB = new Float64Array(KC * NC);
const edge = new Float64Array(MR * NR);

/**
 * C[M,N] += op(A) op(B), where element (i, k) of op(A) is A[aOff + i*rsA + k*csA] and element
 * (k, j) of op(B) is B[bOff + k*rsB + j*csB]; C is dense row-major at cOff.
 */
function gemm(
  M: number, N: number, K: number,
  A: TypedArray, aOff: number, rsA: number, csA: number,
  B: TypedArray, bOff: number, rsB: number, csB: number,
  C: Float64Array, cOff: number,
): void {
  const ap = packA;
  const bp = packB;
  for (let k0 = 0; k0 < K; k0 += KC) {
    const kc = Math.min(KC, K - k0);
    for (let j0 = 0; j0 < N; j0 += NC) {
      const nc = Math.min(NC, N - j0);
      const npan = Math.ceil(nc / NR);
      for (let q = 0; q < npan; q++) {
        const jb = j0 + q * NR;
        const w = Math.min(NR, N - jb);
        let o = q * kc * NR;
        for (let k = 0; k < kc; k++, o += NR) {
          const src = bOff + (k0 + k) * rsB + jb * csB;
          let jj = 0;
          for (; jj < w; jj++) bp[o + jj] = B[src + jj * csB]!;
          for (; jj < NR; jj++) bp[o + jj] = 0;
        }
      }
      for (let i0 = 0; i0 < M; i0 += MC) {
        const mc = Math.min(MC, M - i0);
        const mpan = Math.ceil(mc / MR);
        for (let p = 0; p < mpan; p++) {
          const ib = i0 + p * MR;
          const h = Math.min(MR, M - ib);
          let o = p * kc * MR;
          for (let k = 0; k < kc; k++, o += MR) {
            const src = aOff + ib * rsA + (k0 + k) * csA;
            let ii = 0;
            for (; ii < h; ii++) ap[o + ii] = A[src + ii * rsA]!;
            for (; ii < MR; ii++) ap[o + ii] = 0;
          }
        }
        for (let q = 0; q < npan; q++) {
          const jb = j0 + q * NR;
          const w = Math.min(NR, N - jb);
          for (let p = 0; p < mpan; p++) {
            const ib = i0 + p * MR;
            const h = Math.min(MR, M - ib);
            microKernel(kc, ap, p * kc * MR, bp, q * kc * NR, C, cOff + ib * N + jb, N, h, w);
          }
        }
      }
    }
  }
}

/** The h x w block of C at c (row stride ldc) += sum over k of the outer product Ap[k, 0:MR] Bp[k, 0:NR]. */
function microKernel(
  kc: number, ap: Float64Array, pa: number, bp: Float64Array, pb: number,
  C: Float64Array, c: number, ldc: number, h: number, w: number,
): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  for (let k = 0; k < kc; k++, pa += MR, pb += NR) {
    const a0 = ap[pa]!, a1 = ap[pa + 1]!, a2 = ap[pa + 2]!, a3 = ap[pa + 3]!;
    const b0 = bp[pb]!, b1 = bp[pb + 1]!, b2 = bp[pb + 2]!, b3 = bp[pb + 3]!;
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
  }
  if (h === MR && w === NR) {
    C[c] += c00; C[c + 1] += c01; C[c + 2] += c02; C[c + 3] += c03;
    c += ldc;
    C[c] += c10; C[c + 1] += c11; C[c + 2] += c12; C[c + 3] += c13;
    c += ldc;
    C[c] += c20; C[c + 1] += c21; C[c + 2] += c22; C[c + 3] += c23;
    c += ldc;
    C[c] += c30; C[c + 1] += c31; C[c + 2] += c32; C[c + 3] += c33;
    return;
  }
  const t = edge;
  t[0] = c00; t[1] = c01; t[2] = c02; t[3] = c03;
  t[4] = c10; t[5] = c11; t[6] = c12; t[7] = c13;
  t[8] = c20; t[9] = c21; t[10] = c22; t[11] = c23;
  t[12] = c30; t[13] = c31; t[14] = c32; t[15] = c33;
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) C[c + i * ldc + j] += t[i * NR + j]!;
}

export function matmul(a: TensorRef, b: TensorRef, transA: boolean, transB: boolean, outShape: Shape): TypedArray {
  const A = arr(a);
  const B = arr(b);
  const r = outShape.length;
  const M = outShape[r - 2]!;
  const N = outShape[r - 1]!;
  const K = transA ? a.shape[a.shape.length - 2]! : a.shape[a.shape.length - 1]!;
  const batchShape = outShape.slice(0, r - 2);
  const nb = sizeOf(batchShape);
  const out = alloc(a.dtype, nb * M * N);
  if (out.length === 0 || K === 0) return out;
  const kc = Math.min(KC, K);
  if (packA.length < MC * kc) packA = new Float64Array(MC * kc);
  if (packB.length < kc * NC) packB = new Float64Array(kc * NC);
  // Stored A is [M,K] (rows K apart) or, transposed, [K,M]; likewise B is [K,N] or [N,K].
  const [rsA, csA] = transA ? [1, M] : [K, 1];
  const [rsB, csB] = transB ? [1, K] : [N, 1];
  const sa = broadcastStrides(a.shape.slice(0, a.shape.length - 2), batchShape);
  const sb = broadcastStrides(b.shape.slice(0, b.shape.length - 2), batchShape);
  const direct = out instanceof Float64Array;
  const acc = direct ? out : new Float64Array(M * N);
  const idx = new Array<number>(batchShape.length).fill(0);
  for (let bi = 0; bi < nb; bi++) {
    let ao = 0;
    let bo = 0;
    for (let d = 0; d < idx.length; d++) {
      ao += idx[d]! * sa[d]!;
      bo += idx[d]! * sb[d]!;
    }
    if (!direct) acc.fill(0);
    gemm(M, N, K, A, ao * M * K, rsA, csA, B, bo * K * N, rsB, csB, acc, direct ? bi * M * N : 0);
    if (!direct) out.set(acc, bi * M * N);
    for (let d = idx.length - 1; d >= 0; d--) {
      if (++idx[d]! < batchShape[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
}
