/** Pooling kernels (shaders/pool.wgsl), split by (n, c) planes to fit the binding size. */
import type { Storage, TensorRef, WindowGeom } from '../backend.js';
import { batchChunks } from './plan.js';
import { magic, WG, Words } from './launch.js';
import { kernel, type GpuStorage, type Runtime } from './runtime.js';
import { fillWords } from './fill.js';

const K_MAX = kernel('pool', 'max_pool2d', 'rww');
const K_GATHER = kernel('pool', 'max_pool_gather', 'rrw');
const K_SCATTER = kernel('pool', 'max_pool_scatter', 'rrw');
const K_SCATTER_TILES = kernel('pool', 'max_pool_scatter_tiles', 'rrw');
const K_AVG = kernel('pool', 'avg_pool2d', 'rw');
const K_AVG_BWD = kernel('pool', 'avg_pool2d_backward', 'rw');

/** pool.wgsl's PoolParams for a window of `planes` planes. */
function params(g: WindowGeom, planes: number, a: number, b: number, y: number): Uint32Array {
  const tiles = tilesImage(g) ? 1 : 0;
  const w = new Words().u32(planes, a, b, y, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.oh, g.ow, tiles, 0);
  for (const d of [g.oh * g.ow, g.ow, g.h * g.w, g.w, g.sh, g.sw, 1, 1]) w.u32(...magic(d));
  return w.done();
}

export function maxPool2d(rt: Runtime, x: TensorRef, g: WindowGeom): { out: GpuStorage; idx: GpuStorage } {
  const planes = g.n * g.c;
  const L = g.oh * g.ow;
  const out = rt.alloc(planes * L, x.dtype);
  const idx = rt.alloc(planes * L, 'int32');
  const ops = [{ perItem: g.h * g.w, length: x.storage.length }, { perItem: L, length: out.length }];
  for (const c of batchChunks(planes, ops, rt.lim, 'maxPool2d')) {
    if (c.count === 0) continue;
    rt.dispatch(K_MAX, { WG }, params(g, c.count, c.shifts[0]!, 0, c.shifts[1]!),
      [rt.bind(x.storage, c.windows[0]), rt.bind(out, c.windows[1]), rt.bind(idx, c.windows[1])], rt.grid(Math.ceil((c.count * L) / WG)));
  }
  return { out, idx };
}

/** A kernel reading `a` (per plane: aPer) and the indices (per plane: L), writing per plane yPer. */
function planeKernel(
  rt: Runtime, k: typeof K_GATHER, g: WindowGeom, a: Storage, idx: Storage | null, aPer: number, yPer: number, what: string,
): GpuStorage {
  const planes = g.n * g.c;
  const L = g.oh * g.ow;
  const out = rt.alloc(planes * yPer, 'float32');
  const ops = [{ perItem: aPer, length: a.length }, { perItem: L, length: idx ? idx.length : 0 }, { perItem: yPer, length: out.length }];
  for (const c of batchChunks(planes, ops, rt.lim, what)) {
    if (c.count === 0) continue;
    const binds = idx
      ? [rt.bind(a, c.windows[0]), rt.bind(idx, c.windows[1]), rt.bind(out, c.windows[2])]
      : [rt.bind(a, c.windows[0]), rt.bind(out, c.windows[2])];
    rt.dispatch(k, { WG }, params(g, c.count, c.shifts[0]!, c.shifts[1]!, c.shifts[2]!), binds,
      rt.grid(Math.ceil((c.count * yPer) / WG)));
  }
  return out;
}

export function maxPoolGather(rt: Runtime, x: TensorRef, idx: TensorRef, g: WindowGeom): GpuStorage {
  return planeKernel(rt, K_GATHER, g, x.storage, idx.storage, g.h * g.w, g.oh * g.ow, 'maxPoolGather');
}

export function maxPoolScatter(rt: Runtime, gy: TensorRef, idx: TensorRef, g: WindowGeom): GpuStorage {
  if (!tilesImage(g)) return planeKernel(rt, K_SCATTER, g, gy.storage, idx.storage, g.oh * g.ow, g.h * g.w, 'maxPoolScatter');
  // Windows tile the image: zero the image, then one write per window (no pixel is written twice).
  const planes = g.n * g.c;
  const L = g.oh * g.ow;
  const out = rt.alloc(planes * g.h * g.w, 'float32');
  fillWords(rt, out, out.length, 0);
  const ops = [{ perItem: L, length: gy.storage.length }, { perItem: L, length: idx.storage.length }, { perItem: g.h * g.w, length: out.length }];
  for (const c of batchChunks(planes, ops, rt.lim, 'maxPoolScatter')) {
    if (c.count === 0) continue;
    rt.dispatch(K_SCATTER_TILES, { WG }, params(g, c.count, c.shifts[0]!, c.shifts[1]!, c.shifts[2]!),
      [rt.bind(gy.storage, c.windows[0]), rt.bind(idx.storage, c.windows[1]), rt.bind(out, c.windows[2])], rt.grid(Math.ceil((c.count * L) / WG)));
  }
  return out;
}

/** Windows that tile the image (kernel == stride, no padding): every pixel is in at most one window. */
function tilesImage(g: WindowGeom): boolean {
  return g.kh === g.sh && g.kw === g.sw && g.ph === 0 && g.pw === 0;
}

export function avgPool2d(rt: Runtime, x: TensorRef, g: WindowGeom): GpuStorage {
  return planeKernel(rt, K_AVG, g, x.storage, null, g.h * g.w, g.oh * g.ow, 'avgPool2d');
}

export function avgPool2dBackward(rt: Runtime, gy: TensorRef, g: WindowGeom): GpuStorage {
  return planeKernel(rt, K_AVG_BWD, g, gy.storage, null, g.oh * g.ow, g.h * g.w, 'avgPool2dBackward');
}
