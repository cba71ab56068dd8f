/**
 * Reductions. The input's dims are grouped into alternating runs of kept and reduced dims; the
 * kernel takes up to 4 kept groups and 2 reduced groups (more reduced groups are reduced in two
 * passes). Short reductions run one invocation per output; long ones a workgroup per output with
 * a tree reduction, and when outputs are few the outer reduced group is split into parts whose
 * partial results a second pass combines. Inputs larger than one binding are split along their
 * outermost group.
 */
import { DeviceError } from '../../errors.js';
import type { ArgReduceOp, ReduceOp, TensorRef } from '../backend.js';
import { reducedShape, sizeOf, stridesOf } from '../../shape.js';
import type { DType } from '../../dtype.js';
import { batchChunks } from './plan.js';
import { WG, Words } from './launch.js';
import { kernel, type GpuStorage, type Runtime } from './runtime.js';
import { fillWords } from './fill.js';
import { permute } from './layout.js';
import { ARG_REDUCE_CODE, REDUCE_CODE } from '../opcodes.js';

const K_WG = kernel('reduce', 'reduce_wg', 'rw');
const K_THREAD = kernel('reduce', 'reduce_thread', 'rw');
const K_ARG_T = kernel('reduce', 'arg_thread', 'rw');
const K_ARG_WG = kernel('reduce', 'arg_wg', 'rw');

interface Group { size: number; stride: number; reduced: boolean }

function groups(shape: readonly number[], axes: readonly number[]): Group[] {
  const st = stridesOf(shape);
  const out: Group[] = [];
  shape.forEach((d, i) => {
    if (d === 1) return;
    const reduced = axes.includes(i);
    const last = out[out.length - 1];
    if (last && last.reduced === reduced) {
      last.size *= d;
      last.stride = st[i]!;
    } else out.push({ size: d, stride: st[i]!, reduced });
  });
  return out;
}

function identityBits(op: ReduceOp, dtype: DType): number {
  if (op === 'sum') return 0;
  // The cpu reference stores +-Infinity, which an Int32Array turns into 0.
  if (dtype === 'int32') return 0;
  return op === 'max' ? 0xff800000 : 0x7f800000;
}

/** Words of reduce.wgsl's ReduceParams. */
function params(op: number, outputs: number, parts: number, outShift: number, inShift: number, r0: number, s0: number, r1: number, s1: number,
  chunk0: number, kept: Group[]): Uint32Array {
  return new Words()
    .u32(outputs, parts, outShift, inShift, r0, s0, r1, s1, chunk0, Math.max(1, kept.length), op, 0)
    .vec(kept.length ? kept.map((g) => g.size) : [1], 1)
    .vec(kept.length ? kept.map((g) => g.stride) : [0], 1)
    .done();
}

export function reduce(rt: Runtime, op: ReduceOp, x: TensorRef, axes: readonly number[]): GpuStorage {
  const outShape = reducedShape(x.shape, axes);
  const O = sizeOf(outShape);
  const n = x.storage.length;
  if (O === 0) return rt.alloc(0, x.dtype);
  if (n === 0) {
    const out = rt.alloc(O, x.dtype);
    fillWords(rt, out, O, identityBits(op, x.dtype));
    return out;
  }
  const gs = groups(x.shape, axes);
  const red = gs.filter((g) => g.reduced);
  const kept = gs.filter((g) => !g.reduced);
  if (red.length === 0) {
    const out = rt.alloc(O, x.dtype);
    rt.copy(rt.buf(x.storage), 0, rt.buf(out), 0, O * 4);
    return out;
  }
  if (red.length > 2) {
    // Reduce the innermost two reduced runs first, then the rest of the axes.
    const inner = innerRuns(x.shape, axes, 2);
    const rest = axes.filter((a) => !inner.includes(a));
    const tmp = reduce(rt, op, x, inner);
    const out = reduce(rt, op, { storage: tmp, shape: reducedShape(x.shape, inner), dtype: x.dtype }, rest);
    rt.release(tmp);
    return out;
  }
  if (kept.length > 4) throw new DeviceError(`webgpu: reduce over ${JSON.stringify(axes)} of shape [${x.shape}] interleaves too many kept dims`);
  const outer = gs[0]!;
  if (n > rt.lim.maxElems && (outer.reduced || outer.stride > rt.lim.maxElems - rt.lim.align)) return reduceByWindows(rt, op, x, gs, O);
  const out = rt.alloc(O, x.dtype);
  // One reduced group becomes r0 (invocations stride along it); two become (r0 outer, r1 inner).
  const [r0, s0, r1, s1] = red.length === 1 ? [red[0]!.size, red[0]!.stride, 1, 0] : [red[0]!.size, red[0]!.stride, red[1]!.size, red[1]!.stride];
  const R = r0 * r1;
  const consts = { WG, IS_INT: x.dtype === 'int32' };
  const wgConsts = { WG: rt.treeWG, IS_INT: x.dtype === 'int32' };
  const code = REDUCE_CODE[op];
  // Split along the outermost kept group when the input does not fit one binding.
  const perOuter = outer.reduced ? 0 : outer.stride;
  const outPer = outer.reduced ? 0 : O / outer.size;
  const chunks = n > rt.lim.maxElems
    ? batchChunks(outer.size, [{ perItem: perOuter, length: n }, { perItem: outPer, length: O }], rt.lim, 'reduce')
    : [{ first: 0, count: kept.length ? kept[0]!.size : 1, windows: [{ start: 0, length: n }, { start: 0, length: O }], shifts: [0, 0] }];
  for (const c of chunks) {
    const k = kept.map((g, i) => (i === 0 && n > rt.lim.maxElems ? { ...g, size: c.count } : g));
    const outputs = sizeOf(k.map((g) => g.size));
    const binds = (y: GpuStorage, yWin: { start: number; length: number }) => [rt.bind(x.storage, c.windows[0]), rt.bind(y, yWin)];
    if (R <= 32 || (outputs >= 2048 && R <= 1024)) {
      rt.dispatch(K_THREAD, consts, params(code, outputs, 1, c.shifts[1]!, c.shifts[0]!, r0, s0, r1, s1, r0, k), binds(out, c.windows[1]!),
        rt.grid(Math.ceil(outputs / WG)));
      continue;
    }
    const parts = outputs >= 256 ? 1 : Math.max(1, Math.min(r0, 256, Math.floor(R / (WG * 16)), Math.ceil(1024 / outputs)));
    const chunk0 = Math.ceil(r0 / parts);
    const P = Math.ceil(r0 / chunk0);
    if (P === 1) {
      rt.dispatch(K_WG, wgConsts, params(code, outputs, 1, c.shifts[1]!, c.shifts[0]!, r0, s0, r1, s1, chunk0, k), binds(out, c.windows[1]!),
        rt.grid(outputs));
      continue;
    }
    const part = rt.alloc(outputs * P, x.dtype);
    rt.dispatch(K_WG, wgConsts, params(code, outputs, P, 0, c.shifts[0]!, r0, s0, r1, s1, chunk0, k), binds(part, { start: 0, length: outputs * P }),
      rt.grid(outputs * P));
    rt.dispatch(K_THREAD, consts, params(code, outputs, 1, c.shifts[1]!, 0, P, 1, 1, 0, P, [{ size: outputs, stride: P, reduced: false }]),
      [rt.bind(part), rt.bind(out, c.windows[1]!)], rt.grid(Math.ceil(outputs / WG)));
    rt.release(part);
  }
  return out;
}

/** Axes of the innermost `runs` runs of reduced (non-unit) dims. */
function innerRuns(shape: readonly number[], axes: readonly number[], runs: number): number[] {
  const out: number[] = [];
  let count = 0;
  let inRun = false;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] === 1) continue;
    const r = axes.includes(i);
    if (r && !inRun) {
      if (count === runs) break;
      count++;
    }
    inRun = r;
    if (r) out.push(i);
  }
  return out.sort((a, b) => a - b);
}

/**
 * The input is larger than one binding and cannot be bound in windows along its outermost kept
 * group: copy windows of the outermost group into temporaries (copies have no binding limit),
 * reduce each (recursively, so a window that is still too large is split along its next group),
 * and combine: reduced outer group -> partial results [Q, O] reduced over Q; kept -> placed.
 */
function reduceByWindows(rt: Runtime, op: ReduceOp, x: TensorRef, gs: Group[], O: number): GpuStorage {
  const outer = gs[0]!;
  const inner = gs.slice(1);
  const innerShape = inner.map((g) => g.size);
  const innerAxes = inner.map((g, i) => (g.reduced ? i + 1 : -1)).filter((i) => i >= 0);
  const per = Math.max(1, Math.floor((rt.lim.maxElems - rt.lim.align) / outer.stride));
  const windows: { first: number; count: number }[] = [];
  for (let first = 0; first < outer.size; first += per) windows.push({ first, count: Math.min(per, outer.size - first) });
  const sub = (w: { first: number; count: number }, axes: number[]): GpuStorage => {
    const len = w.count * outer.stride;
    const tmp = rt.alloc(len, x.dtype);
    rt.copy(rt.buf(x.storage), w.first * outer.stride * 4, rt.buf(tmp), 0, len * 4);
    const r = reduce(rt, op, { storage: tmp, shape: [w.count, ...innerShape], dtype: x.dtype }, axes);
    rt.release(tmp);
    return r;
  };
  if (outer.reduced) {
    const partial = rt.alloc(windows.length * O, x.dtype);
    windows.forEach((w, q) => {
      const r = sub(w, [0, ...innerAxes]);
      rt.copy(rt.buf(r), 0, rt.buf(partial), q * O * 4, O * 4);
      rt.release(r);
    });
    const out = reduce(rt, op, { storage: partial, shape: [windows.length, O], dtype: x.dtype }, [0]);
    rt.release(partial);
    return out;
  }
  const out = rt.alloc(O, x.dtype);
  const perItem = O / outer.size;
  for (const w of windows) {
    const r = sub(w, innerAxes);
    rt.copy(rt.buf(r), 0, rt.buf(out), w.first * perItem * 4, w.count * perItem * 4);
    rt.release(r);
  }
  return out;
}

export function argReduce(rt: Runtime, op: ArgReduceOp, x: TensorRef, axis: number): GpuStorage {
  const shape = x.shape;
  const outer = sizeOf(shape.slice(0, axis));
  const len = shape[axis]!;
  const inner = sizeOf(shape.slice(axis + 1));
  const O = outer * inner;
  const out = rt.alloc(O, 'int32');
  if (O === 0) return out;
  if (x.storage.length > rt.lim.maxElems && inner > 1 && len * inner > rt.lim.maxElems - rt.lim.align) {
    // One outer slab does not fit a binding: move the axis last (a chunked copy), then rows fit.
    const perm = [...shape.keys()].filter((d) => d !== axis);
    perm.push(axis);
    const moved = permute(rt, x, perm);
    rt.release(out);
    const r = argReduce(rt, op, { storage: moved, shape: perm.map((d) => shape[d]!), dtype: x.dtype }, shape.length - 1);
    rt.release(moved);
    return r;
  }
  const consts = { WG, IS_INT: x.dtype === 'int32' };
  const chunks = batchChunks(outer, [{ perItem: len * inner, length: x.storage.length }, { perItem: inner, length: O }], rt.lim, op);
  for (const c of chunks) {
    const outputs = c.count * inner;
    const w = new Words().u32(outputs, len, inner, c.shifts[0]!, c.shifts[1]!, ARG_REDUCE_CODE[op], 0, 0).done();
    const binds = [rt.bind(x.storage, c.windows[0]), rt.bind(out, c.windows[1])];
    if (len <= 256 || outputs >= 1024) rt.dispatch(K_ARG_T, consts, w, binds, rt.grid(Math.ceil(outputs / WG)));
    else rt.dispatch(K_ARG_WG, { ...consts, WG: rt.treeWG }, w, binds, rt.grid(outputs));
  }
  return out;
}
