/** im2col / col2im over NCHW images (shaders/conv.wgsl), split by images to fit the binding size. */
import type { TensorRef, WindowGeom } from '../backend.js';
import { batchChunks } from './plan.js';
import { magic, WG, Words } from './launch.js';
import { kernel, type GpuStorage, type Runtime } from './runtime.js';

const K_IM2COL = kernel('conv', 'im2col', 'rw');
const K_COL2IM = kernel('conv', 'col2im', 'rw');

/** conv.wgsl's ConvParams for a window of `images` images. */
function convWords(g: WindowGeom, images: number, xShift: number, yShift: number): Uint32Array {
  const rows = g.c * g.kh * g.kw;
  const w = new Words().u32(images, xShift, yShift, g.c, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.oh, g.ow, 0, 0);
  for (const d of [g.oh, rows, g.kh * g.kw, g.kw, g.h, g.c, g.sh, g.sw]) w.u32(...magic(d));
  return w.done();
}

export function im2col(rt: Runtime, x: TensorRef, g: WindowGeom): GpuStorage {
  const img = g.c * g.h * g.w;
  const col = g.c * g.kh * g.kw * g.oh * g.ow;
  const out = rt.alloc(g.n * col, x.dtype);
  for (const c of batchChunks(g.n, [{ perItem: img, length: x.storage.length }, { perItem: col, length: out.length }], rt.lim, 'im2col')) {
    if (c.count === 0) continue;
    rt.dispatch(K_IM2COL, { WG }, convWords(g, c.count, c.shifts[0]!, c.shifts[1]!),
      [rt.bind(x.storage, c.windows[0]), rt.bind(out, c.windows[1])], rt.grid(Math.ceil((c.count * g.c * g.kh * g.kw * g.oh) / WG)));
  }
  return out;
}

export function col2im(rt: Runtime, cols: TensorRef, g: WindowGeom): GpuStorage {
  const img = g.c * g.h * g.w;
  const col = g.c * g.kh * g.kw * g.oh * g.ow;
  const out = rt.alloc(g.n * img, cols.dtype);
  for (const c of batchChunks(g.n, [{ perItem: col, length: cols.storage.length }, { perItem: img, length: out.length }], rt.lim, 'col2im')) {
    if (c.count === 0) continue;
    rt.dispatch(K_COL2IM, { WG }, convWords(g, c.count, c.shifts[0]!, c.shifts[1]!),
      [rt.bind(cols.storage, c.windows[0]), rt.bind(out, c.windows[1])], rt.grid(Math.ceil((c.count * g.c * g.h) / WG)));
  }
  return out;
}
