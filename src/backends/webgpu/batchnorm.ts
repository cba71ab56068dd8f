/**
 * Batch norm over [N, C, *] (shaders/batchnorm.wgsl). Per-channel sums run on a (channel, batch
 * part) grid of tree reductions followed by a tiny per-channel finalize, so few channels still
 * fill the device; huge inputs are walked in batch windows that each fit a binding.
 */
import { DeviceError } from '../../errors.js';
import type { BatchNormBackwardResult, BatchNormForwardResult, Storage, TensorRef } from '../backend.js';
import { magic, WG, Words } from './launch.js';
import { kernel, type Runtime } from './runtime.js';

const K_SUM = kernel('batchnorm', 'sum_partial', 'rw');
const K_SQ = kernel('batchnorm', 'sq_partial', 'rrw');
const K_FIN = kernel('batchnorm', 'finalize', 'rw');
const K_NORM = kernel('batchnorm', 'normalize', 'rrrrrw');
const K_BWD = kernel('batchnorm', 'bwd_partial', 'rrrrw');
const K_FIN_BWD = kernel('batchnorm', 'finalize_bwd', 'rww');
const K_DX = kernel('batchnorm', 'bwd_dx', 'rrrrrrrw');

interface Plan {
  N: number; C: number; S: number;
  perPart: number; parts: number;
  /** Batch windows: first item, count, window of x-shaped tensors and the shift inside it. */
  chunks: { first: number; count: number; start: number; length: number; shift: number }[];
}

function plan(rt: Runtime, x: TensorRef): Plan {
  const N = x.shape[0]!;
  const C = x.shape[1]!;
  const S = x.storage.length / Math.max(1, N * C);
  const item = C * S;
  const fits = x.storage.length <= rt.lim.maxElems;
  const perWindow = fits ? N : Math.floor((rt.lim.maxElems - rt.lim.align) / item);
  if (perWindow < 1) throw new DeviceError(`batchNorm: one sample of ${item} values exceeds the device's binding size`);
  const wanted = Math.max(1, Math.min(N, Math.ceil(256 / C), Math.floor((N * S) / (WG * 8))));
  const perPart = Math.min(Math.ceil(N / wanted), perWindow);
  const parts = Math.ceil(N / perPart);
  const chunkItems = Math.floor(perWindow / perPart) * perPart;
  const chunks: Plan['chunks'] = [];
  for (let first = 0; first < N; first += chunkItems) {
    const count = Math.min(chunkItems, N - first);
    const s = first * item;
    const start = fits ? 0 : Math.floor(s / rt.lim.align) * rt.lim.align;
    chunks.push({ first, count, start, length: fits ? x.storage.length : s - start + count * item, shift: s - start });
  }
  return { N, C, S, perPart, parts, chunks };
}

/** batchnorm.wgsl's BnParams for one batch window (or, without one, for the finalize kernels). */
function words(p: Plan, ch: Plan['chunks'][number] | null, eps: number): Uint32Array {
  const partsHere = ch ? Math.ceil(ch.count / p.perPart) : 0;
  return new Words()
    .u32(ch ? ch.count : 0, p.perPart, partsHere, ch ? ch.first / p.perPart : 0, p.parts, ch ? ch.shift : 0)
    .f32(p.N * p.S, eps)
    .u32(p.C, p.S, ...magic(p.S), ...magic(p.C), 0, 0)
    .done();
}

function partialGroups(rt: Runtime, p: Plan, ch: Plan['chunks'][number]): [number, number, number] {
  return rt.grid(p.C * Math.ceil(ch.count / p.perPart));
}

function elemGroups(rt: Runtime, p: Plan, ch: Plan['chunks'][number]): [number, number, number] {
  return rt.grid(Math.ceil((ch.count * p.C * p.S) / (WG * 4)));
}

export function batchNormForward(rt: Runtime, x: TensorRef, gamma: TensorRef, beta: TensorRef, eps: number): BatchNormForwardResult {
  const p = plan(rt, x);
  const consts = { WG };
  const mean = rt.alloc(p.C, x.dtype);
  const variance = rt.alloc(p.C, x.dtype);
  const y = rt.alloc(x.storage.length, x.dtype);
  const part = rt.alloc(p.C * p.parts, x.dtype);
  const win = (s: Storage, ch: Plan['chunks'][number]) => rt.bind(s, { start: ch.start, length: ch.length });
  for (const ch of p.chunks) rt.dispatch(K_SUM, { WG: rt.treeWG }, words(p, ch, eps), [win(x.storage, ch), rt.bind(part)], partialGroups(rt, p, ch));
  const fin = words(p, null, eps);
  rt.dispatch(K_FIN, {}, fin, [rt.bind(part), rt.bind(mean)], [Math.ceil(p.C / 64), 1, 1]);
  for (const ch of p.chunks) {
    rt.dispatch(K_SQ, { WG: rt.treeWG }, words(p, ch, eps), [win(x.storage, ch), rt.bind(mean), rt.bind(part)], partialGroups(rt, p, ch));
  }
  rt.dispatch(K_FIN, {}, fin, [rt.bind(part), rt.bind(variance)], [Math.ceil(p.C / 64), 1, 1]);
  for (const ch of p.chunks) {
    rt.dispatch(K_NORM, consts, words(p, ch, eps),
      [win(x.storage, ch), rt.bind(mean), rt.bind(variance), rt.bind(gamma.storage), rt.bind(beta.storage), win(y, ch)], elemGroups(rt, p, ch));
  }
  rt.release(part);
  return { y, mean, variance };
}

export function batchNormBackward(
  rt: Runtime, x: TensorRef, gy: TensorRef, mean: TensorRef, variance: TensorRef, gamma: TensorRef, eps: number,
): BatchNormBackwardResult {
  const p = plan(rt, x);
  const consts = { WG };
  const part = rt.alloc(2 * p.C * p.parts, x.dtype);
  const dgamma = rt.alloc(p.C, x.dtype);
  const dbeta = rt.alloc(p.C, x.dtype);
  const dx = rt.alloc(x.storage.length, x.dtype);
  const win = (s: Storage, ch: Plan['chunks'][number]) => rt.bind(s, { start: ch.start, length: ch.length });
  for (const ch of p.chunks) {
    rt.dispatch(K_BWD, { WG: rt.treeWG }, words(p, ch, eps),
      [win(x.storage, ch), win(gy.storage, ch), rt.bind(mean.storage), rt.bind(variance.storage), rt.bind(part)], partialGroups(rt, p, ch));
  }
  const fin = words(p, null, eps);
  rt.dispatch(K_FIN_BWD, {}, fin, [rt.bind(part), rt.bind(dbeta), rt.bind(dgamma)], [Math.ceil(p.C / 64), 1, 1]);
  for (const ch of p.chunks) {
    rt.dispatch(K_DX, consts, words(p, ch, eps), [
      win(x.storage, ch), win(gy.storage, ch), rt.bind(mean.storage), rt.bind(variance.storage), rt.bind(gamma.storage),
      rt.bind(dbeta), rt.bind(dgamma), win(dx, ch),
    ], elemGroups(rt, p, ch));
  }
  rt.release(part);
  return { dx, dgamma, dbeta };
}
