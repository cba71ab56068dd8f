/**
 * Batched matmul with broadcast batch dims and transposed operands (shaders/matmul.wgsl).
 *
 * Host-side choices:
 * - orientation: the kernel spreads invocations over columns, so when C has few columns (and
 *   many rows) it computes C^T = op(B)^T op(A)^T instead and stores transposed;
 * - folding: when the left operand is one matrix for every batch entry (conv: W @ cols[n]), the
 *   batch is folded into the columns, making one wide product out of many narrow ones;
 * - tiles: on a CPU driver (lavapipe) one row of invocations per workgroup (WY = 1) so every A
 *   read in the inner loop is a uniform broadcast; on GPUs WY = 4 for 128-invocation workgroups;
 * - limits: batches are split to fit the workgroup grid and the binding size; a single matrix
 *   too large for one binding is split into row blocks.
 */
import { DeviceError } from '../../errors.js';
import type { TensorRef } from '../backend.js';
import { broadcastStrides, sizeOf, type Shape } from '../../shape.js';
import { coalesce, type Window } from './plan.js';
import { Words } from './launch.js';
import { kernel, type Constants, type GpuStorage, type Runtime } from './runtime.js';
import { fillWords } from './fill.js';
import type { Storage } from '../backend.js';
import { permute } from './layout.js';

const K_MATMUL = kernel('matmul', 'matmul', 'rrw');
const K_MATMUL_CPU = kernel('matmul', 'matmul_cpu', 'rrw');

/** One product problem in strides: C(m, n) = sum_k A(m, k) B(k, n) per batch entry. */
interface Problem {
  M: number;
  L: number;
  K: number;
  aRs: number; aKs: number;
  bKs: number; bNs: number;
  cMs: number; cNs: number;
  bshape: number[];
  astr: number[]; bstr: number[]; cstr: number[];
  A: Storage; B: Storage; C: Storage;
  /** Element offsets added to A, B and C (blocks of one large product). */
  aOff: number; bOff: number; cOff: number;
}

/** Which kernel runs: the workgroup-memory tiled one (GPUs) or the register-only one (CPU drivers). */
export type MatmulVariant = 'tiled' | 'cpu';

interface Tile { variant: MatmulVariant; WX: number; WY: number; RM: number; BK: number; TM: number; TN: number }

/**
 * Tile shapes. GPUs: 128-invocation workgroups (WX=32, WY=4), each invocation 8 rows x 4 columns,
 * a 32 x 128 tile with 16-deep K slices staged in workgroup memory (10 KiB), narrower for thin
 * outputs. CPU drivers: 16 invocations x 8 columns = 128 columns (4 x 8 = 32 for thin outputs),
 * 8 rows shared by the workgroup; only two pipeline variants each, since every variant costs a
 * compile (seconds on lavapipe).
 */
function pickTile(variant: MatmulVariant, cols: number): Tile {
  if (variant === 'cpu') {
    const WX = cols <= 32 ? 4 : 16;
    return { variant, WX, WY: 1, RM: 8, BK: 1, TM: 8, TN: 8 * WX };
  }
  const WX = cols >= 96 ? 32 : 8;
  return { variant, WX, WY: 4, RM: 8, BK: 16, TM: 32, TN: 4 * WX };
}

function swapped(p: Problem): Problem {
  return {
    ...p, M: p.L, L: p.M,
    aRs: p.bNs, aKs: p.bKs, bKs: p.aKs, bNs: p.aRs,
    cMs: p.cNs, cNs: p.cMs,
    astr: p.bstr, bstr: p.astr,
    A: p.B, B: p.A, aOff: p.bOff, bOff: p.aOff,
  };
}

export function matmul(rt: Runtime, a: TensorRef, b: TensorRef, transA: boolean, transB: boolean, outShape: Shape): GpuStorage {
  const r = outShape.length;
  const M = outShape[r - 2]!;
  const N = outShape[r - 1]!;
  const K = transA ? a.shape[a.shape.length - 2]! : a.shape[a.shape.length - 1]!;
  const batch = outShape.slice(0, r - 2);
  const nb = sizeOf(batch);
  const out = rt.alloc(nb * M * N, a.dtype);
  if (nb * M * N === 0) return out;
  if (K === 0) {
    fillWords(rt, out, nb * M * N, 0);
    return out;
  }
  const aB = broadcastStrides(a.shape.slice(0, -2), batch).map((s) => s * M * K);
  const bB = broadcastStrides(b.shape.slice(0, -2), batch).map((s) => s * K * N);
  const cB = broadcastStrides(batch, batch).map((s) => s * M * N);
  const c = coalesce(batch, [cB, aB, bB]);
  let p: Problem = {
    M, L: N, K,
    aRs: transA ? 1 : K, aKs: transA ? M : 1,
    bKs: transB ? 1 : N, bNs: transB ? K : 1,
    cMs: N, cNs: 1,
    bshape: c.shape, cstr: c.strides[0]!, astr: c.strides[1]!, bstr: c.strides[2]!,
    A: a.storage, B: b.storage, C: out, aOff: 0, bOff: 0, cOff: 0,
  };
  const lim = rt.lim.maxElems;
  const oneMatrixTooBig = M * K > lim || K * N > lim || M * N > lim;
  if (nb === 1 && oneMatrixTooBig) {
    blocks(rt, a, b, transA, transB, out, M, N, K);
    return out;
  }
  if (oneMatrixTooBig) throw new DeviceError(`matmul: a ${M}x${K} @ ${K}x${N} batch entry exceeds the device's binding size`);
  const aBroad = p.astr.every((s) => s === 0);
  const bBroad = p.bstr.every((s) => s === 0);
  const colsAsIs = aBroad ? N * nb : N;
  const colsSwapped = bBroad ? M * nb : M;
  if (colsAsIs < 128 && colsSwapped > colsAsIs) p = swapped(p);
  run(rt, p);
  return out;
}

/**
 * A single product with an operand larger than one binding: make the left operand row-major and
 * the right one column-major (chunked transposes, only when needed), then compute C in blocks of
 * rows and columns whose operand slices are contiguous and fit.
 */
function blocks(rt: Runtime, a: TensorRef, b: TensorRef, transA: boolean, transB: boolean, out: GpuStorage, M: number, N: number, K: number): void {
  const budget = rt.lim.maxElems - rt.lim.align;
  let A: Storage = a.storage;
  let B: Storage = b.storage;
  let tA = transA;
  let tB = transB;
  const temps: GpuStorage[] = [];
  if (tA && M * K > budget) {
    A = permute(rt, { storage: A, shape: [K, M], dtype: a.dtype }, [1, 0]);
    temps.push(A as GpuStorage);
    tA = false;
  }
  if (!tB && K * N > budget) {
    B = permute(rt, { storage: B, shape: [K, N], dtype: b.dtype }, [1, 0]);
    temps.push(B as GpuStorage);
    tB = true;
  }
  const rows = Math.floor(budget / Math.max(K, N));
  const cols = K * N <= budget ? N : Math.floor(budget / K);
  if (rows < 1 || cols < 1) throw new DeviceError(`matmul: one row of a ${M}x${K} @ ${K}x${N} product exceeds the device's binding size`);
  for (let m0 = 0; m0 < M; m0 += rows) {
    for (let n0 = 0; n0 < N; n0 += cols) {
      const aRs = tA ? 1 : K;
      const bNs = tB ? K : 1;
      run(rt, {
        M: Math.min(rows, M - m0), L: Math.min(cols, N - n0), K,
        aRs, aKs: tA ? M : 1, bKs: tB ? 1 : N, bNs, cMs: N, cNs: 1,
        bshape: [1], astr: [0], bstr: [0], cstr: [0],
        A, B, C: out, aOff: m0 * aRs, bOff: n0 * bNs, cOff: m0 * N + n0,
      });
    }
  }
  for (const t of temps) rt.release(t);
}

function windowOf(rt: Runtime, s: Storage, start: number, length: number): Window {
  if (s.length <= rt.lim.maxElems) return { start: 0, length: s.length };
  const ws = Math.floor(start / rt.lim.align) * rt.lim.align;
  return { start: ws, length: Math.min(s.length - ws, start - ws + length) };
}

function run(rt: Runtime, p: Problem): void {
  const nb = sizeOf(p.bshape);
  const fold = nb > 1 && p.astr.every((s) => s === 0);
  const cols = fold ? p.L * nb : p.L;
  const t = pickTile(rt.matmulVariant, cols);
  const TN = t.TN;
  const TM = t.TM;
  const consts: Constants = t.variant === 'cpu' ? { WX: t.WX, RM: t.RM } : { WX: t.WX, WY: t.WY, RM: t.RM, BK: t.BK };
  const flags = (p.aRs === 1 && p.aKs !== 1 ? 1 : 0) | (fold ? 2 : 0);
  if (p.bshape.length > 4) throw new DeviceError(`matmul: batch dims broadcast in more than 4 separate groups ([${p.bshape}])`);
  const fits = [p.A, p.B, p.C].every((s) => s.length <= rt.lim.maxElems);
  if (!fits && p.bshape.length > 1) {
    throw new DeviceError(`matmul: operands exceed the device's binding size with a broadcast over ${p.bshape.length} batch dims`);
  }
  // Extent of one batch entry of each operand (its strides may skip, for blocks of a large product).
  const matA = (p.M - 1) * p.aRs + (p.K - 1) * p.aKs + 1;
  const matB = (p.K - 1) * p.bKs + (p.L - 1) * p.bNs + 1;
  const matC = (p.M - 1) * p.cMs + (p.L - 1) * p.cNs + 1;
  // Batch entries per dispatch: the grid (z, or x when folded) and, if needed, the binding windows.
  let per = fold ? Math.max(1, Math.floor((rt.maxGroups * TN) / p.L)) : rt.maxGroups;
  if (!fits) {
    const budget = rt.lim.maxElems - rt.lim.align;
    for (const [st, mat] of [[p.astr[0]!, matA], [p.bstr[0]!, matB], [p.cstr[0]!, matC]] as const) {
      if (st > 0) per = Math.min(per, Math.max(1, Math.floor((budget - mat) / st) + 1));
    }
  }
  if (fold && Math.ceil(p.L / TN) > rt.maxGroups) throw new DeviceError(`matmul: ${p.L} columns exceed the device's grid`);
  for (let first = 0; first < nb; first += per) {
    const count = Math.min(per, nb - first);
    const wa = fits ? { start: 0, length: p.A.length } : windowOf(rt, p.A, p.aOff + first * p.astr[0]!, (count - 1) * p.astr[0]! + matA);
    const wb = fits ? { start: 0, length: p.B.length } : windowOf(rt, p.B, p.bOff + first * p.bstr[0]!, (count - 1) * p.bstr[0]! + matB);
    const wc = fits ? { start: 0, length: p.C.length } : windowOf(rt, p.C, p.cOff + first * p.cstr[0]!, (count - 1) * p.cstr[0]! + matC);
    const ncols = fold ? count * p.L : p.L;
    const w = new Words()
      .u32(p.M, p.L, p.K, ncols, p.aRs, p.aKs, p.bKs, p.bNs, p.cMs, p.cNs, p.bshape.length, first)
      .u32(wa.start - p.aOff, wb.start - p.bOff, wc.start - p.cOff, flags)
      .vec(p.bshape, 1).vec(p.astr, 1).vec(p.bstr, 1).vec(p.cstr, 1)
      .u32(TM * t.BK, t.BK, 0, 0)
      .done();
    const groups: [number, number, number] = [Math.ceil(ncols / TN), Math.ceil(p.M / TM), fold ? 1 : count];
    if (groups[1] > rt.maxGroups) throw new DeviceError(`matmul: ${p.M} rows exceed the device's grid`);
    rt.dispatch(t.variant === 'cpu' ? K_MATMUL_CPU : K_MATMUL, consts, w, [rt.bind(p.A, wa), rt.bind(p.B, wb), rt.bind(p.C, wc)], groups);
  }
}
