/**
 * Convolution. Two formulations with equal values and gradients to every order:
 *
 * - `conv2d` runs on three primitive ops, the partial derivatives of the trilinear form
 *   T(x, W, gy) = <conv(x, W), gy>: conv = dT/dgy, convInput = dT/dx, convWeight = dT/dW. The
 *   backward of each is made of the other two (below), so gradients of gradients stay within the
 *   trio and each runs as one fused backend kernel that never stores the im2col matrix. A rule
 *   computes only the gradients the grad() call uses (a vjp in x skips the weight gradient).
 * - `conv2dComposite` is matmul over im2col patches, with im2col and col2im each other's adjoint: the
 *   oracle the trio is tested against.
 */
import type { WindowGeom } from '../backends/backend.js';
import { assertFloat } from '../dtype.js';
import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { backendOf, record, sameDType, wrap } from './core.js';
import { add } from './elementwise.js';
import { concat, reshape, slice } from './layout.js';
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

// ---- the fused trio ----

/** y = conv(x, W) [N, O, oh, ow]. */
function convG(x: Tensor, w: Tensor, g: WindowGeom): Tensor {
  const be = backendOf('conv2d', x, w);
  const O = w.shape[0]!;
  const y = wrap(be, be.conv2d(x, w, g), [g.n, O, g.oh, g.ow], x.dtype);
  // <conv(x, W), gy> = T(x, W, gy): d/dx = convInput(gy, W), d/dW = convWeight(x, gy).
  return record(
    y,
    'conv2d',
    [x, w],
    (gy, need) => [need[0] ? convInputG(gy, w, g) : null, need[1] ? convWeightG(x, gy, g) : null],
    (gy, need) => [need[0] ? convInputBatched(gy, w, g) : null, need[1] ? convWeightBatched(x, gy, g) : null],
  );
}

/**
 * K cotangents gy [K, N, O, oh, ow] at once: the input gradient folds K into the batch (one
 * convInput over K*N images, W shared), so the GEMMs are K times taller.
 */
function convInputBatched(gy: Tensor, w: Tensor, g: WindowGeom): Tensor {
  const k = gy.shape[0]!;
  const dx = convInputG(reshape(gy, [k * g.n, ...gy.shape.slice(2)]), w, { ...g, n: k * g.n });
  return reshape(dx, [k, g.n, g.c, g.h, g.w]);
}

/** Per-cotangent weight gradients [K, O, C, kh, kw]: one convWeight per cotangent over the shared x. */
function convWeightBatched(x: Tensor, gy: Tensor, g: WindowGeom): Tensor {
  const k = gy.shape[0]!;
  const rest = gy.shape.slice(1);
  const per = Array.from({ length: k }, (_, j) => {
    const gj = reshape(slice(gy, [j, 0, 0, 0, 0], [1, ...rest]), rest);
    const dw = convWeightG(x, gj, g);
    return reshape(dw, [1, ...dw.shape]);
  });
  return k === 1 ? per[0]! : concat(per, 0);
}

/** dx = convInput(gy, W) [N, C, H, W]: the adjoint of x -> conv(x, W). */
function convInputG(gy: Tensor, w: Tensor, g: WindowGeom): Tensor {
  const be = backendOf('conv2dBackwardInput', gy, w);
  const y = wrap(be, be.conv2dBackwardInput(gy, w, g), [g.n, g.c, g.h, g.w], gy.dtype);
  // <u, convInput(gy, W)> = T(u, W, gy): d/dgy = conv(u, W), d/dW = convWeight(u, gy).
  return record(y, 'conv2dBackwardInput', [gy, w], (u, need) => [need[0] ? convG(u, w, g) : null, need[1] ? convWeightG(u, gy, g) : null]);
}

/** dW = convWeight(x, gy) [O, C, kh, kw]: the adjoint of W -> conv(x, W). */
function convWeightG(x: Tensor, gy: Tensor, g: WindowGeom): Tensor {
  const be = backendOf('conv2dBackwardWeight', x, gy);
  const O = gy.shape[1]!;
  const y = wrap(be, be.conv2dBackwardWeight(x, gy, g), [O, g.c, g.kh, g.kw], x.dtype);
  // <V, convWeight(x, gy)> = T(x, V, gy): d/dx = convInput(gy, V), d/dgy = conv(x, V).
  return record(y, 'conv2dBackwardWeight', [x, gy], (v, need) => [need[0] ? convInputG(gy, v, g) : null, need[1] ? convG(x, v, g) : null]);
}

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair | 'valid' | 'same';
}

/** Check conv2d's operands and resolve its window geometry. */
function convGeom(op: string, x: Tensor, w: Tensor, b: Tensor | null | undefined, o: Conv2dOptions): WindowGeom {
  backendOf(op, x, w, ...(b ? [b] : []));
  assertFloat(op, x.dtype);
  sameDType(op, x, w);
  if (b) sameDType(op, x, b);
  if (x.rank !== 4) throw new ShapeError(`${op}: input must be NCHW (rank 4), got ${fmtShape(x.shape)}`);
  if (w.rank !== 4) throw new ShapeError(`${op}: weight must be [outC, inC, kH, kW], got ${fmtShape(w.shape)}`);
  const [outC, inC, kh, kw] = w.shape as [number, number, number, number];
  if (x.shape[1] !== inC) {
    throw new ShapeError(
      `${op}: input has ${x.shape[1]} channels but weight expects ${inC} (input ${fmtShape(x.shape)}, weight ${fmtShape(w.shape)})`,
    );
  }
  if (b && (b.rank !== 1 || b.shape[0] !== outC)) {
    throw new ShapeError(`${op}: bias must have shape [${outC}], got ${fmtShape(b.shape)}`);
  }
  let padding: Pair = 0;
  if (o.padding === 'same') {
    if (kh % 2 === 0 || kw % 2 === 0) throw new ArgumentError(`${op}: padding 'same' needs odd kernel sizes, got ${kh}x${kw}`);
    const [sh, sw] = pair(op, 'stride', o.stride ?? 1, 1);
    if (sh !== 1 || sw !== 1) {
      throw new ArgumentError(`${op}: padding 'same' needs stride 1, got ${sh},${sw}; give explicit padding for strided convs`);
    }
    padding = [(kh - 1) / 2, (kw - 1) / 2];
  } else if (o.padding !== undefined && o.padding !== 'valid') padding = o.padding;
  return windowGeom(op, x, { kernel: [kh, kw], stride: o.stride ?? 1, padding });
}

function addBias(out: Tensor, b: Tensor | null | undefined): Tensor {
  return b ? add(out, reshape(b, [1, b.shape[0]!, 1, 1])) : out;
}

/**
 * 2-D convolution (cross-correlation, as in every framework): x [N, C, H, W], w [outC, C, kh, kw],
 * b [outC]. y[n, o] = sum over c, i, j of w[o, c, i, j] x[n, c, oy*sh - ph + i, ox*sw - pw + j] + b[o],
 * i.e. reshape(W[outC, C*kh*kw] @ im2col(x)) + b, on the fused kernels.
 */
export function conv2d(x: Tensor, w: Tensor, b?: Tensor | null, o: Conv2dOptions = {}): Tensor {
  const g = convGeom('conv2d', x, w, b, o);
  return addBias(convG(x, w, g), b);
}

/** conv2d as matmul over recorded im2col patches: the composite twin the fused trio is tested against. */
export function conv2dComposite(x: Tensor, w: Tensor, b?: Tensor | null, o: Conv2dOptions = {}): Tensor {
  const g = convGeom('conv2d', x, w, b, o);
  const [outC, inC, kh, kw] = w.shape as [number, number, number, number];
  const y = matmul(reshape(w, [outC, inC * kh * kw]), im2colG(x, g));
  return addBias(reshape(y, [g.n, outC, g.oh, g.ow]), b);
}
