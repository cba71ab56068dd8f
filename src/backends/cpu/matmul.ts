import type { TypedArray } from '../../dtype.js';
import type { TensorRef } from '../backend.js';
import { broadcastStrides, sizeOf, type Shape } from '../../shape.js';
import { alloc, arr } from './storage.js';

const KB = 128; // k-block: a [KB x NB] panel of B stays in L2 while rows of A stream past it
const NB = 1024;

/**
 * C[M,N] = op(A) op(B) for one batch entry. A is first made row-major [M,K] (copied when
 * transposed); then either the i-k-j form (B row-major [K,N]) or dot products (B given as [N,K]).
 * Blocked over k and n so the working set of B fits in cache.
 */
function gemm(
  A: TypedArray, aOff: number, B: TypedArray, bOff: number, C: TypedArray, cOff: number,
  M: number, N: number, K: number, transA: boolean, transB: boolean, acc: Float64Array,
): void {
  let a = A;
  let ao = aOff;
  if (transA) {
    // A is stored [K, M]; pack it to [M, K].
    const p = new Float64Array(M * K);
    for (let k = 0; k < K; k++) for (let i = 0; i < M; i++) p[i * K + k] = A[aOff + k * M + i]!;
    a = p;
    ao = 0;
  }
  if (transB) {
    // B stored [N, K]: C[i,j] = dot(A[i,:], B[j,:]), both contiguous.
    for (let i = 0; i < M; i++) {
      const ai = ao + i * K;
      for (let j = 0; j < N; j++) {
        const bj = bOff + j * K;
        let s = 0;
        let k = 0;
        for (; k + 3 < K; k += 4) {
          s += a[ai + k]! * B[bj + k]! + a[ai + k + 1]! * B[bj + k + 1]! + a[ai + k + 2]! * B[bj + k + 2]! + a[ai + k + 3]! * B[bj + k + 3]!;
        }
        for (; k < K; k++) s += a[ai + k]! * B[bj + k]!;
        C[cOff + i * N + j] = s;
      }
    }
    return;
  }
  for (let j0 = 0; j0 < N; j0 += NB) {
    const j1 = Math.min(N, j0 + NB);
    const w = j1 - j0;
    for (let i = 0; i < M; i++) {
      acc.fill(0, 0, w);
      const ai = ao + i * K;
      for (let k0 = 0; k0 < K; k0 += KB) {
        const k1 = Math.min(K, k0 + KB);
        for (let k = k0; k < k1; k++) {
          const av = a[ai + k]!;
          if (av === 0) continue;
          const bk = bOff + k * N + j0;
          let j = 0;
          for (; j + 3 < w; j += 4) {
            acc[j] += av * B[bk + j]!;
            acc[j + 1] += av * B[bk + j + 1]!;
            acc[j + 2] += av * B[bk + j + 2]!;
            acc[j + 3] += av * B[bk + j + 3]!;
          }
          for (; j < w; j++) acc[j] += av * B[bk + j]!;
        }
      }
      const ci = cOff + i * N + j0;
      for (let j = 0; j < w; j++) C[ci + j] = acc[j]!;
    }
  }
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
  const aBatch = a.shape.slice(0, a.shape.length - 2);
  const bBatch = b.shape.slice(0, b.shape.length - 2);
  const sa = broadcastStrides(aBatch, batchShape);
  const sb = broadcastStrides(bBatch, batchShape);
  const out = alloc(a.dtype, nb * M * N);
  const acc = new Float64Array(Math.min(N, NB));
  const idx = new Array<number>(batchShape.length).fill(0);
  for (let bi = 0; bi < nb; bi++) {
    let ao = 0;
    let bo = 0;
    for (let d = 0; d < idx.length; d++) { ao += idx[d]! * sa[d]!; bo += idx[d]! * sb[d]!; }
    gemm(A, ao * M * K, B, bo * K * N, out, bi * M * N, M, N, K, transA, transB, acc);
    for (let d = idx.length - 1; d >= 0; d--) { if (++idx[d]! < batchShape[d]!) break; idx[d] = 0; }
  }
  return out;
}
