/**
 * The small CNN of the gradient-regularization experiments, written with plain ops (no nn module):
 * conv3x3-32, relu, maxpool2, conv3x3-64, relu, maxpool2, conv3x3-64, relu, dense 64, dense 10 on
 * 28x28 inputs, and one double-backprop training step: cross-entropy plus lambda times the squared
 * norm of the input gradient, differentiated with respect to the parameters, then fused SGD.
 * Shared by the WebGPU training test and the benchmarks.
 */
import * as g from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import type { Backend } from '../../src/backends/backend.js';

export interface Cnn {
  params: Tensor[];
}

/** He-style initialisation from fixed seeds, so every device gets the same weights. */
export function initCnn(device: g.DeviceName, inChannels = 1, side = 28): Cnn {
  const dev = { device };
  const w = (shape: number[], fanIn: number, seed: number): Tensor => {
    const t = g.mul(g.randn(shape, { ...dev, seed }), Math.sqrt(2 / fanIn));
    t.requiresGrad = true;
    return t;
  };
  const b = (n: number): Tensor => g.zeros([n], { ...dev, requiresGrad: true });
  const s1 = Math.floor((side - 2) / 2);
  const s2 = Math.floor((s1 - 2) / 2);
  const flat = 64 * (s2 - 2) * (s2 - 2);
  return {
    params: [
      w([32, inChannels, 3, 3], inChannels * 9, 11), b(32),
      w([64, 32, 3, 3], 32 * 9, 12), b(64),
      w([64, 64, 3, 3], 64 * 9, 13), b(64),
      w([flat, 64], flat, 14), b(64),
      w([64, 10], 64, 15), b(10),
    ],
  };
}

/** Shapes of the parameters for inputs of `inChannels` x `side` x `side`. */
export function cnnShapes(inChannels = 1, side = 28): number[][] {
  const s1 = Math.floor((side - 2) / 2);
  const s2 = Math.floor((s1 - 2) / 2);
  const flat = 64 * (s2 - 2) * (s2 - 2);
  return [[32, inChannels, 3, 3], [32], [64, 32, 3, 3], [64], [64, 64, 3, 3], [64], [flat, 64], [64], [64, 10], [10]];
}

/** Deterministic host values for the parameters (He-scaled, biases 0.01), for comparing frameworks. */
export function cnnHostValues(inChannels = 1, side = 28, seed = 1): Float32Array[] {
  let s = seed >>> 0 || 1;
  const next = (): number => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 4294967296 - 0.5;
  };
  return cnnShapes(inChannels, side).map((shape) => {
    const n = shape.reduce((a, b) => a * b, 1);
    if (shape.length === 1) return new Float32Array(n).fill(0.01);
    // He-uniform: conv weights [O, I, kh, kw] have fan-in I*kh*kw, dense [in, out] fan-in `in`.
    const fanIn = shape.length === 4 ? n / shape[0]! : shape[0]!;
    const bound = Math.sqrt(6 / fanIn);
    return Float32Array.from({ length: n }, () => next() * 2 * bound);
  });
}

export function cnnFromValues(device: g.DeviceName, values: Float32Array[], inChannels = 1, side = 28): Cnn {
  return {
    params: cnnShapes(inChannels, side).map((shape, i) => g.tensor(values[i]!, shape, { device, requiresGrad: true })),
  };
}

export function forward(m: Cnn, x: Tensor): Tensor {
  const [w1, b1, w2, b2, w3, b3, w4, b4, w5, b5] = m.params as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
  let h = g.maxPool2d(g.relu(g.conv2d(x, w1, b1)), { kernel: 2 });
  h = g.maxPool2d(g.relu(g.conv2d(h, w2, b2)), { kernel: 2 });
  h = g.relu(g.conv2d(h, w3, b3));
  h = g.relu(g.add(g.matmul(g.flatten(h), w4), b4));
  return g.add(g.matmul(h, w5), b5);
}

/**
 * One step of double backprop: L = CE(f(x), y) + lambda |dCE/dx|^2, gradients of L with respect to
 * the parameters (through the input gradient: a second-order graph), SGD applied in place by the
 * backend's fused kernel. Returns L (the caller disposes it).
 */
export function trainStep(m: Cnn, be: Backend, x: Tensor, y: Tensor, lambda = 0.1, lr = 0.01): Tensor {
  return g.tidy(() => {
    const xr = g.detach(x);
    xr.requiresGrad = true;
    const ce = g.crossEntropy(forward(m, xr), y);
    const [gx] = g.grad(ce, [xr], { createGraph: true });
    const loss = g.add(ce, g.mul(g.sum(g.square(gx!)), lambda));
    const grads = g.grad(loss, m.params);
    m.params.forEach((p, i) => {
      be.applyUpdate('sgd', p.storage, grads[i]!.storage, [], {
        lr, momentum: 0, beta1: 0, beta2: 0, eps: 0, step: 1, weightDecay: 0, decoupledDecay: 0,
      });
    });
    return g.detach(loss);
  });
}
