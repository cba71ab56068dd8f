/**
 * Convolution as matmul over im2col patches. im2col and col2im are each other's adjoint, so conv2d's
 * backward is matmul + col2im and differentiable to any order with no extra code.
 */
import type { WindowGeom } from '../backends/backend.js';
import { assertFloat } from '../dtype.js';
import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { backendOf, record, sameDType, wrap } from './core.js';
import { add } from './elementwise.js';
import { reshape } from './layout.js';
import { matmul } from './matmul.js';

export type Pair = number | readonly [number, number];

export interface WindowOptions {
  kernel: Pair;
  stride?: Pair;
  padding?: Pair;
}

function pair(op: string, name: string, v: Pair, min: number): [number, number] {
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (!Number.isInteger(p[0]) || !Number.isInteger(p[1]) || p[0] < min || p[1] < min) {
    throw new ArgumentError(`${op}: ${name} must be an integer >= ${min} (or a pair), got ${JSON.stringify(v)}`);
  }
  return p;
}

/** Window geometry for NCHW input `x`, checking that at least one window fits. */
export function windowGeom(op: string, x: Tensor, o: WindowOptions): WindowGeom {
  if (x.rank !== 4) throw new ShapeError(`${op}: expected NCHW input of rank 4, got ${fmtShape(x.shape)}`);
  const [kh, kw] = pair(op, 'kernel', o.kernel, 1);
  const [sh, sw] = pair(op, 'stride', o.stride ?? 1, 1);
  const [ph, pw] = pair(op, 'padding', o.padding ?? 0, 0);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const oh = Math.floor((h + 2 * ph - kh) / sh) + 1;
  const ow = Math.floor((w + 2 * pw - kw) / sw) + 1;
  if (oh < 1 || ow < 1) {
    throw new ShapeError(`${op}: a ${kh}x${kw} window with padding ${ph},${pw} does not fit input ${fmtShape(x.shape)}`);
  }
  return { n, c, h, w, kh, kw, sh, sw, ph, pw, oh, ow };
}

function im2colG(x: Tensor, g: WindowGeom): Tensor {
  const be = backendOf('im2col', x);
  const y = wrap(be, be.im2col(x, g), [g.n, g.c * g.kh * g.kw, g.oh * g.ow], x.dtype);
  // d im2col(x) = col2im(g)
  return record(y, 'im2col', [x], (gy) => [col2imG(gy, g)]);
}

function col2imG(cols: Tensor, g: WindowGeom): Tensor {
  const be = backendOf('col2im', cols);
  const y = wrap(be, be.col2im(cols, g), [g.n, g.c, g.h, g.w], cols.dtype);
  // d col2im(c) = im2col(g)
  return record(y, 'col2im', [cols], (gy) => [im2colG(gy, g)]);
}

/** [N, C, H, W] -> [N, C*kh*kw, oh*ow] patches (zero padded). */
export function im2col(x: Tensor, o: WindowOptions): Tensor {
  assertFloat('im2col', x.dtype);
  return im2colG(x, windowGeom('im2col', x, o));
}

/** The adjoint of im2col for an image of `imageShape` [N, C, H, W]. */
export function col2im(cols: Tensor, imageShape: readonly [number, number, number, number], o: WindowOptions): Tensor {
  assertFloat('col2im', cols.dtype);
  const probe = { rank: 4, shape: imageShape } as unknown as Tensor;
  const g = windowGeom('col2im', probe, o);
  const want = [g.n, g.c * g.kh * g.kw, g.oh * g.ow];
  if (cols.rank !== 3 || cols.shape.some((d, i) => d !== want[i])) {
    throw new ShapeError(`col2im: expected columns of shape ${fmtShape(want)} for image ${fmtShape(imageShape)}, got ${fmtShape(cols.shape)}`);
  }
  return col2imG(cols, g);
}

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair | 'valid' | 'same';
}

/**
 * 2-D convolution (cross-correlation, as in every framework): x [N, C, H, W], w [outC, C, kh, kw],
 * b [outC]. y = reshape(W[outC, C*kh*kw] @ im2col(x)) + b.
 */
export function conv2d(x: Tensor, w: Tensor, b?: Tensor | null, o: Conv2dOptions = {}): Tensor {
  backendOf('conv2d', x, w, ...(b ? [b] : []));
  assertFloat('conv2d', x.dtype);
  sameDType('conv2d', x, w);
  if (x.rank !== 4) throw new ShapeError(`conv2d: input must be NCHW (rank 4), got ${fmtShape(x.shape)}`);
  if (w.rank !== 4) throw new ShapeError(`conv2d: weight must be [outC, inC, kH, kW], got ${fmtShape(w.shape)}`);
  const [outC, inC, kh, kw] = w.shape as [number, number, number, number];
  if (x.shape[1] !== inC) {
    throw new ShapeError(
      `conv2d: input has ${x.shape[1]} channels but weight expects ${inC} (input ${fmtShape(x.shape)}, weight ${fmtShape(w.shape)})`,
    );
  }
  if (b && (b.rank !== 1 || b.shape[0] !== outC)) {
    throw new ShapeError(`conv2d: bias must have shape [${outC}], got ${fmtShape(b.shape)}`);
  }
  let padding: Pair = 0;
  if (o.padding === 'same') {
    if (kh % 2 === 0 || kw % 2 === 0) throw new ArgumentError(`conv2d: padding 'same' needs odd kernel sizes, got ${kh}x${kw}`);
    const [sh, sw] = pair('conv2d', 'stride', o.stride ?? 1, 1);
    if (sh !== 1 || sw !== 1) {
      throw new ArgumentError(`conv2d: padding 'same' needs stride 1, got ${sh},${sw}; give explicit padding for strided convs`);
    }
    padding = [(kh - 1) / 2, (kw - 1) / 2];
  } else if (o.padding !== undefined && o.padding !== 'valid') padding = o.padding;
  const g = windowGeom('conv2d', x, { kernel: [kh, kw], stride: o.stride ?? 1, padding });
  const cols = im2colG(x, g);
  const y = matmul(reshape(w, [outC, inC * kh * kw]), cols);
  const out = reshape(y, [g.n, outC, g.oh, g.ow]);
  return b ? add(out, reshape(b, [1, outC, 1, 1])) : out;
}
