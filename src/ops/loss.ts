/** Losses. Cross-entropy's gradient in the logits is softmax(z) - onehot(y): a fused kernel at first order, softmax + oneHot when recorded. */
import { assertFloat, checkFloatDType } from '../dtype.js';
import { engine } from '../engine.js';
import { ArgumentError, DataError, DTypeError, ShapeError, fmtShape } from '../errors.js';
import { shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { backendFor, backendOf, record, sameDType, wrap } from './core.js';
import { add, clamp, log, mul, neg, softplus, square, sub } from './elementwise.js';
import { reshape } from './layout.js';
import { mean, sum } from './reduce.js';
import { softmax } from './softmax.js';

export type Reduction = 'mean' | 'sum' | 'none';

function checkLabels(op: string, labels: Tensor, n: number, classes: number): void {
  if (labels.dtype !== 'int32') throw new DTypeError(`${op}: labels must be int32 class indices, got ${labels.dtype}`);
  if (labels.rank !== 1 || labels.shape[0] !== n) {
    throw new ShapeError(`${op}: labels must have shape [${n}], got ${fmtShape(labels.shape)}`);
  }
  const host = labels.hostInts ?? (labels.buf!.backend.readSync(labels.storage) as Int32Array | null);
  if (host) {
    for (let i = 0; i < host.length; i++) {
      const y = host[i]!;
      if (!(y >= 0 && y < classes)) throw new DataError(`${op}: label ${y} at position ${i} is out of range [0, ${classes})`);
    }
  }
}

/** [N] int32 class indices -> [N, classes] one-hot rows. */
export function oneHot(labels: Tensor, classes: number, dtype: 'float32' | 'float64' = 'float32'): Tensor {
  backendOf('oneHot', labels);
  if (!Number.isInteger(classes) || classes < 1) throw new ArgumentError(`oneHot: classes must be a positive integer, got ${classes}`);
  checkFloatDType('oneHot', dtype);
  const be = backendFor('oneHot', labels.device, dtype);
  checkLabels('oneHot', labels, labels.shape[0] ?? 0, classes);
  return wrap(be, be.oneHot(labels, classes, dtype), [labels.shape[0]!, classes], dtype);
}

/** Per-row cross-entropy of logits [N, C] against int32 labels [N]. */
// d/dz = g (softmax(z) - onehot(y)); its own derivative is the softmax Hessian (thesis eq. 62)
function crossEntropyRows(logits: Tensor, labels: Tensor): Tensor {
  const be = backendOf('crossEntropy', logits, labels);
  const [n, c] = logits.shape as [number, number];
  const y = wrap(be, be.crossEntropy(logits, labels), [n], logits.dtype);
  return record(y, 'crossEntropy', [logits], (g) => {
    const gcol = reshape(g, [n, 1]);
    if (engine.gradEnabled) return [mul(sub(softmax(logits), oneHot(labels, c, logits.dtype as 'float32')), gcol)];
    const fused = wrap(be, be.softmaxCrossEntropyGrad(logits, labels), [n, c], logits.dtype);
    return [mul(fused, gcol)];
  });
}

/** Softmax cross-entropy of logits [N, C] with int32 labels [N], averaged over the batch by default. */
export function crossEntropy(logits: Tensor, labels: Tensor, reduction: Reduction = 'mean'): Tensor {
  backendOf('crossEntropy', logits, labels);
  assertFloat('crossEntropy', logits.dtype, 'logits');
  if (logits.rank !== 2) throw new ShapeError(`crossEntropy: logits must be [N, C], got ${fmtShape(logits.shape)}`);
  checkLabels('crossEntropy', labels, logits.shape[0]!, logits.shape[1]!);
  const rows = crossEntropyRows(logits, labels);
  return reduction === 'none' ? rows : reduction === 'sum' ? sum(rows) : mean(rows);
}

function reduce(x: Tensor, reduction: Reduction): Tensor {
  return reduction === 'none' ? x : reduction === 'sum' ? sum(x) : mean(x);
}

function samePair(op: string, a: Tensor, b: Tensor): void {
  backendOf(op, a, b);
  sameDType(op, a, b);
  assertFloat(op, a.dtype);
  if (!shapesEqual(a.shape, b.shape)) throw new ShapeError(`${op}: prediction ${fmtShape(a.shape)} and target ${fmtShape(b.shape)} differ`);
}

/** Mean squared error. */
export function mse(pred: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  samePair('mse', pred, target);
  return reduce(square(sub(pred, target)), reduction);
}

/**
 * Binary cross-entropy -[y log p + (1-y) log(1-p)] of probabilities p (clamped to [eps, 1-eps]),
 * or, with fromLogits, of logits z as y softplus(-z) + (1-y) softplus(z): equal to
 * softplus(z) - y z, but without its cancellation at large |z| and smooth everywhere.
 */
export function binaryCrossEntropy(
  pred: Tensor, target: Tensor, o: { fromLogits?: boolean; reduction?: Reduction; eps?: number } = {},
): Tensor {
  samePair('binaryCrossEntropy', pred, target);
  const r = o.reduction ?? 'mean';
  // d/dz = sigmoid(z) - y
  if (o.fromLogits) return reduce(add(mul(target, softplus(neg(pred))), mul(sub(1, target), softplus(pred))), r);
  const eps = o.eps ?? 1e-7;
  const p = clamp(pred, eps, 1 - eps);
  return reduce(neg(add(mul(target, log(p)), mul(sub(1, target), log(sub(1, p))))), r);
}

