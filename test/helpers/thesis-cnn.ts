/**
 * The thesis small CNN (section 7.1.1) in plain ops, independent of src/nn: conv3x3-c1, ReLU,
 * maxpool2, conv3x3-c2, ReLU, maxpool2, conv3x3-c3, ReLU, flatten, dense-hidden, ReLU, dense-classes,
 * softmax cross-entropy; valid padding. With 28x28 input: 26 -> 13 -> 11 -> 5 -> 3, so the flatten
 * has 9*c3 features. Also the double-backpropagation objective L + lambda ||dL/dx||^2 (thesis eq. 49).
 */
import * as g from '../../src/index.js';
import type { Tensor } from '../../src/index.js';

export interface CnnSpec {
  inC: number;
  size: number;
  c1: number;
  c2: number;
  c3: number;
  hidden: number;
  classes: number;
}

/** The architecture of the thesis, on 28x28 single-channel input (MNIST). */
export const THESIS_SMALL_CNN: CnnSpec = { inC: 1, size: 28, c1: 32, c2: 64, c3: 64, hidden: 64, classes: 10 };

/** Spatial size after the three conv/pool stages. */
export function finalSize(spec: CnnSpec): number {
  const s1 = Math.floor((spec.size - 2) / 2);
  const s2 = Math.floor((s1 - 2) / 2);
  return s2 - 2;
}

/** Parameter shapes in order [w1, b1, w2, b2, w3, b3, w4, b4, w5, b5]. */
export function paramShapes(spec: CnnSpec): number[][] {
  const f = finalSize(spec);
  return [
    [spec.c1, spec.inC, 3, 3], [spec.c1],
    [spec.c2, spec.c1, 3, 3], [spec.c2],
    [spec.c3, spec.c2, 3, 3], [spec.c3],
    [spec.c3 * f * f, spec.hidden], [spec.hidden],
    [spec.hidden, spec.classes], [spec.classes],
  ];
}

/** He-normal weights and small random biases, fixed by `seed`; leaves that require grad. */
export function initCnn(spec: CnnSpec, dtype: 'float32' | 'float64', seed: number): Tensor[] {
  return paramShapes(spec).map((shape, i) => {
    const fanIn = shape.length === 4 ? shape[1]! * 9 : shape.length === 2 ? shape[0]! : 0;
    const std = shape.length === 1 ? 0.05 : Math.sqrt(2 / fanIn);
    return g.randn(shape, { dtype, seed: seed * 16 + i, std, requiresGrad: true });
  });
}

export function cnnLogits(x: Tensor, p: readonly Tensor[]): Tensor {
  const [w1, b1, w2, b2, w3, b3, w4, b4, w5, b5] = p as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
  let h = g.maxPool2d(g.relu(g.conv2d(x, w1, b1)), { kernel: 2 });
  h = g.maxPool2d(g.relu(g.conv2d(h, w2, b2)), { kernel: 2 });
  h = g.flatten(g.relu(g.conv2d(h, w3, b3)));
  h = g.relu(g.add(g.matmul(h, w4), b4));
  return g.add(g.matmul(h, w5), b5);
}

/**
 * Thesis eq. 49: J = L + lambda ||grad_x L||^2 with L the batch-mean cross-entropy. The input
 * gradient is built with createGraph, so grad(J, params) is double backpropagation.
 */
export function doubleBackpropObjective(x: Tensor, labels: Tensor, p: readonly Tensor[], lambda: number): { loss: Tensor; penalty: Tensor; total: Tensor } {
  // A leaf to differentiate by: x itself when the caller tracks it (to take dJ/dx), else a detached view.
  const xl = x.requiresGrad ? x : g.detach(x);
  xl.requiresGrad = true;
  const loss = g.crossEntropy(cnnLogits(xl, p), labels);
  const [gx] = g.grad(loss, [xl], { createGraph: true });
  const penalty = g.sum(g.square(gx!));
  return { loss, penalty, total: g.add(loss, g.mul(penalty, lambda)) };
}

/** A deterministic batch: inputs in [0, 1) like pixel intensities, labels in [0, classes). */
export function makeBatch(spec: CnnSpec, n: number, dtype: 'float32' | 'float64', seed: number): { x: Tensor; y: Tensor } {
  const x = g.rand([n, spec.inC, spec.size, spec.size], { dtype, seed });
  const y = g.tensor(Array.from({ length: n }, (_, i) => (i * 7 + seed) % spec.classes), [n], { dtype: 'int32' });
  return { x, y };
}
