/**
 * The fused convolution kernels of the contract composed from a backend's own im2col, matmul,
 * col2im and reduce kernels: what backends without a dedicated kernel run, and the oracle the
 * dedicated kernels are tested against. Temporaries are disposed as soon as their last reader is
 * enqueued (every backend orders its work, so a recycled buffer is never overwritten early).
 */
import type { Backend, Storage, TensorRef, WindowGeom } from './backend.js';

function ref(storage: Storage, shape: readonly number[], like: TensorRef): TensorRef {
  return { storage, shape, dtype: like.dtype };
}

/** y [N, O, oh, ow] = W[O, K] @ im2col(x)[N, K, P]. */
export function conv2dComposite(be: Backend, x: TensorRef, w: TensorRef, g: WindowGeom): Storage {
  const O = w.shape[0]!, K = g.c * g.kh * g.kw, P = g.oh * g.ow;
  const cols = be.im2col(x, g);
  const y = be.matmul(ref(w.storage, [O, K], w), ref(cols, [g.n, K, P], x), false, false, [g.n, O, P]);
  be.dispose(cols);
  return y;
}

/** dx [N, C, H, W] = col2im(W^T[K, O] @ gy[N, O, P]). */
export function conv2dBackwardInputComposite(be: Backend, gy: TensorRef, w: TensorRef, g: WindowGeom): Storage {
  const O = w.shape[0]!, K = g.c * g.kh * g.kw, P = g.oh * g.ow;
  const dcols = be.matmul(ref(w.storage, [O, K], w), ref(gy.storage, [g.n, O, P], gy), true, false, [g.n, K, P]);
  const dx = be.col2im(ref(dcols, [g.n, K, P], gy), g);
  be.dispose(dcols);
  return dx;
}

/** dW [O, C, kh, kw] = sum over n of gy[n][O, P] @ im2col(x)[n]^T[P, K]. */
export function conv2dBackwardWeightComposite(be: Backend, x: TensorRef, gy: TensorRef, g: WindowGeom): Storage {
  const O = gy.shape[1]!, K = g.c * g.kh * g.kw, P = g.oh * g.ow;
  const cols = be.im2col(x, g);
  const prod = be.matmul(ref(gy.storage, [g.n, O, P], gy), ref(cols, [g.n, K, P], x), false, true, [g.n, O, K]);
  be.dispose(cols);
  const dw = be.reduce('sum', ref(prod, [g.n, O, K], x), [0]);
  be.dispose(prod);
  return dw;
}

/**
 * The three contract methods as composites, for a backend without dedicated kernels to take as class
 * fields (`readonly conv2d = compositeConvKernels.conv2d`); `this` is the backend they run on.
 */
export const compositeConvKernels = {
  conv2d(this: Backend, x: TensorRef, w: TensorRef, g: WindowGeom): Storage {
    return conv2dComposite(this, x, w, g);
  },
  conv2dBackwardInput(this: Backend, gy: TensorRef, w: TensorRef, g: WindowGeom): Storage {
    return conv2dBackwardInputComposite(this, gy, w, g);
  },
  conv2dBackwardWeight(this: Backend, x: TensorRef, gy: TensorRef, g: WindowGeom): Storage {
    return conv2dBackwardWeightComposite(this, x, gy, g);
  },
};
