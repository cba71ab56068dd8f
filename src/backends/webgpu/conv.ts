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

/**
 * One image-batched pass from `src` ([N, perIn] per image) to a new [N, perOut] storage, split by
 * images to fit the binding size; `threads(images)` invocations per dispatch.
 */
function imagePass(
  rt: Runtime, k: typeof K_IM2COL, op: string, src: TensorRef, g: WindowGeom, perIn: number, perOut: number, threads: (images: number) => number,
): GpuStorage {
  const out = rt.alloc(g.n * perOut, src.dtype);
  for (const c of batchChunks(g.n, [{ perItem: perIn, length: src.storage.length }, { perItem: perOut, length: out.length }], rt.lim, op)) {
    if (c.count === 0) continue;
    rt.dispatch(k, { WG }, convWords(g, c.count, c.shifts[0]!, c.shifts[1]!),
      [rt.bind(src.storage, c.windows[0]), rt.bind(out, c.windows[1])], rt.grid(Math.ceil(threads(c.count) / WG)));
  }
  return out;
}

export function im2col(rt: Runtime, x: TensorRef, g: WindowGeom): GpuStorage {
  // one invocation per (image, column row, output row)
  return imagePass(rt, K_IM2COL, 'im2col', x, g, g.c * g.h * g.w, g.c * g.kh * g.kw * g.oh * g.ow, (n) => n * g.c * g.kh * g.kw * g.oh);
}

export function col2im(rt: Runtime, cols: TensorRef, g: WindowGeom): GpuStorage {
  // one invocation per (image, channel, image row)
  return imagePass(rt, K_COL2IM, 'col2im', cols, g, g.c * g.kh * g.kw * g.oh * g.ow, g.c * g.h * g.w, (n) => n * g.c * g.h);
}
