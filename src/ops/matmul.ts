import { assertFloat } from '../dtype.js';
import { ShapeError, fmtShape } from '../errors.js';
import { broadcastShapes, shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { backendOf, record, sameDType, wrap } from './core.js';
import { sumTo } from './broadcast.js';

/**
 * Batched matrix product with optional transposes of the last two dims of either operand:
 * op(a)[..., M, K] @ op(b)[..., K, N], batch dims broadcast.
 */
export function matmulT(a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor {
  const be = backendOf('matmul', a, b);
  sameDType('matmul', a, b);
  assertFloat('matmul', a.dtype);
  if (a.rank < 2 || b.rank < 2) {
    throw new ShapeError(`matmul: operands need rank >= 2, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  }
  const [m, ka] = transA ? [a.shape[a.rank - 1]!, a.shape[a.rank - 2]!] : [a.shape[a.rank - 2]!, a.shape[a.rank - 1]!];
  const [kb, n] = transB ? [b.shape[b.rank - 1]!, b.shape[b.rank - 2]!] : [b.shape[b.rank - 2]!, b.shape[b.rank - 1]!];
  if (ka !== kb) {
    throw new ShapeError(
      `matmul: inner dims differ: ${fmtShape(a.shape)}${transA ? '^T' : ''} @ ${fmtShape(b.shape)}${transB ? '^T' : ''} (${ka} vs ${kb})`,
    );
  }
  const batch = broadcastShapes('matmul', a.shape.slice(0, -2), b.shape.slice(0, -2));
  const shape = [...batch, m, n];
  const y = wrap(be, be.matmul(a, b, transA, transB, shape), shape, a.dtype);
  return record(y, 'matmul', [a, b], (g, need) => {
    // C = A B:     dA = g B^T, dB = A^T g;   C = A B^T: dA = g B,   dB = g^T A
    // C = A^T B:   dA = B g^T, dB = A g;     C = A^T B^T: dA = B^T g^T, dB = g^T A^T
    // Only the operands this grad() call needs get a gradient (the other product is often the larger one).
    let ga: Tensor | null = null;
    let gb: Tensor | null = null;
    const wa = need[0]!, wb = need[1]!;
    if (!transA && !transB) { if (wa) ga = matmulT(g, b, false, true); if (wb) gb = matmulT(a, g, true, false); }
    else if (!transA && transB) { if (wa) ga = matmulT(g, b, false, false); if (wb) gb = matmulT(g, a, true, false); }
    else if (transA && !transB) { if (wa) ga = matmulT(b, g, false, true); if (wb) gb = matmulT(a, g, false, false); }
    else { if (wa) ga = matmulT(b, g, true, true); if (wb) gb = matmulT(g, a, true, true); }
    return [
      ga && (shapesEqual(ga.shape, a.shape) ? ga : sumTo(ga, a.shape)),
      gb && (shapesEqual(gb.shape, b.shape) ? gb : sumTo(gb, b.shape)),
    ];
  });
}

/** a[..., M, K] @ b[..., K, N] with batch broadcasting. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  return matmulT(a, b, false, false);
}
