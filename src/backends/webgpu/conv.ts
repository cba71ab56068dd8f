/** im2col / col2im over NCHW images (shaders/conv.wgsl), split by images to fit the binding size. */
import type { TensorRef, WindowGeom } from '../backend.js';
import { batchChunks } from './plan.js';
import { WG, Words } from './launch.js';
import { kernel, type Constants, type GpuStorage, type Runtime } from './runtime.js';

const K_IM2COL = kernel('conv', 'im2col', 'rw');
const K_COL2IM = kernel('conv', 'col2im', 'rw');

export function geomConstants(g: WindowGeom, withChannels: boolean): Constants {
  const c: Constants = { WG, H: g.h, W: g.w, KH: g.kh, KW: g.kw, SH: g.sh, SW: g.sw, PH: g.ph, PW: g.pw, OH: g.oh, OW: g.ow };
  if (withChannels) c.C = g.c;
  return c;
}

export function im2col(rt: Runtime, x: TensorRef, g: WindowGeom): GpuStorage {
  const img = g.c * g.h * g.w;
  const col = g.c * g.kh * g.kw * g.oh * g.ow;
  const out = rt.alloc(g.n * col, x.dtype);
  for (const c of batchChunks(g.n, [{ perItem: img, length: x.storage.length }, { perItem: col, length: out.length }], rt.lim, 'im2col')) {
    if (c.count === 0) continue;
    rt.dispatch(K_IM2COL, geomConstants(g, true), new Words().u32(c.count, c.shifts[0]!, c.shifts[1]!, 0).done(),
      [rt.bind(x.storage, c.windows[0]), rt.bind(out, c.windows[1])], rt.grid(Math.ceil((c.count * col) / (WG * 4))));
  }
  return out;
}

export function col2im(rt: Runtime, cols: TensorRef, g: WindowGeom): GpuStorage {
  const img = g.c * g.h * g.w;
  const col = g.c * g.kh * g.kw * g.oh * g.ow;
  const out = rt.alloc(g.n * img, cols.dtype);
  for (const c of batchChunks(g.n, [{ perItem: col, length: cols.storage.length }, { perItem: img, length: out.length }], rt.lim, 'col2im')) {
    if (c.count === 0) continue;
    rt.dispatch(K_COL2IM, geomConstants(g, true), new Words().u32(c.count, c.shifts[0]!, c.shifts[1]!, 0).done(),
      [rt.bind(cols.storage, c.windows[0]), rt.bind(out, c.windows[1])], rt.grid(Math.ceil((c.count * img) / (WG * 4))));
  }
  return out;
}
