/**
 * Batch normalization over [N, C, *] per channel. Training mode normalizes with batch statistics
 * (biased variance) and updates running statistics; eval mode uses the running statistics.
 * The first-order backward is a fused kernel; when the gradient itself is being recorded
 * (createGraph), the same formula runs in primitive ops, recomputing the statistics from x so that
 * it is differentiable again. The composite formula is the fused kernel's test oracle.
 */
import { assertFloat } from '../dtype.js';
import { engine } from '../engine.js';
import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { assign, backendOf, record, sameDType, wrap } from './core.js';
import { add, mul, rsqrt, sub } from './elementwise.js';
import { reshape } from './layout.js';
import { mean, sum } from './reduce.js';

export interface BatchNormOptions {
  training: boolean;
  /** Weight of the new batch statistic in the running average (PyTorch convention). Default 0.1. */
  momentum?: number;
  eps?: number;
}

function axesOf(x: Tensor): number[] {
  return [0, ...x.shape.slice(2).map((_, i) => i + 2)];
}

function chanShape(x: Tensor): number[] {
  return x.shape.map((d, i) => (i === 1 ? d : 1));
}

/**
 * The composite backward in primitive ops:
 *   xhat = (x - mu) * invstd,  dbeta = sum g,  dgamma = sum g*xhat,
 *   dx = gamma * invstd / M * (M g - dbeta - xhat * dgamma)
 */
export function batchNormBackwardComposite(x: Tensor, g: Tensor, gamma: Tensor, eps: number): [Tensor, Tensor, Tensor] {
  const ax = axesOf(x);
  const cs = chanShape(x);
  const m = x.size / x.shape[1]!;
  const mu = mean(x, ax, true);
  const xc = sub(x, mu);
  const invstd = rsqrt(add(mean(mul(xc, xc), ax, true), eps));
  const xhat = mul(xc, invstd);
  const dbeta = sum(g, ax, true);
  const dgamma = sum(mul(g, xhat), ax, true);
  const scale = mul(reshape(gamma, cs), mul(invstd, 1 / m));
  const dx = mul(scale, sub(sub(mul(g, m), dbeta), mul(xhat, dgamma)));
  return [dx, reshape(dgamma, gamma.shape), reshape(dbeta, gamma.shape)];
}

/** The forward in primitive ops (the composite twin of the fused forward kernel). */
export function batchNormTrainComposite(x: Tensor, gamma: Tensor, beta: Tensor, eps: number): Tensor {
  const ax = axesOf(x);
  const cs = chanShape(x);
  const mu = mean(x, ax, true);
  const xc = sub(x, mu);
  const invstd = rsqrt(add(mean(mul(xc, xc), ax, true), eps));
  return add(mul(mul(xc, invstd), reshape(gamma, cs)), reshape(beta, cs));
}

export function batchNorm(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  runMean: Tensor | null,
  runVar: Tensor | null,
  o: BatchNormOptions,
): Tensor {
  const be = backendOf('batchNorm', x, gamma, beta, ...(runMean ? [runMean] : []), ...(runVar ? [runVar] : []));
  assertFloat('batchNorm', x.dtype);
  sameDType('batchNorm', x, gamma);
  sameDType('batchNorm', x, beta);
  if (x.rank < 2) throw new ShapeError(`batchNorm: input must be [N, C, ...], got ${fmtShape(x.shape)}`);
  const c = x.shape[1]!;
  for (const [name, t] of [['gamma', gamma], ['beta', beta], ['runMean', runMean], ['runVar', runVar]] as const) {
    if (t && (t.rank !== 1 || t.shape[0] !== c)) {
      throw new ShapeError(`batchNorm: ${name} must have shape [${c}] for input ${fmtShape(x.shape)}, got ${fmtShape(t.shape)}`);
    }
  }
  const eps = o.eps ?? 1e-5;
  const momentum = o.momentum ?? 0.1;
  if (!(eps > 0)) throw new ArgumentError(`batchNorm: eps must be > 0, got ${eps}`);
  const cs = chanShape(x);
  if (!o.training) {
    if (!runMean || !runVar) throw new ArgumentError('batchNorm: eval mode needs runMean and runVar');
    // y = gamma (x - running mean) / sqrt(running var + eps) + beta
    const scale = mul(reshape(gamma, cs), rsqrt(add(reshape(runVar, cs), eps)));
    return add(mul(sub(x, reshape(runMean, cs)), scale), reshape(beta, cs));
  }
  const m = x.size / c;
  if (m < 2) throw new ShapeError(`batchNorm: training needs more than one value per channel, got input ${fmtShape(x.shape)}`);
  const r = be.batchNormForward(x, gamma, beta, eps);
  const y = wrap(be, r.y, x.shape, x.dtype);
  const bmean = wrap(be, r.mean, [c], x.dtype);
  const bvar = wrap(be, r.variance, [c], x.dtype);
  if (runMean && runVar) {
    const prev = engine.gradEnabled;
    engine.gradEnabled = false;
    try {
      // running <- (1 - momentum) running + momentum batch; the variance unbiased, as PyTorch
      const nm = add(mul(runMean, 1 - momentum), mul(bmean, momentum));
      const nv = add(mul(runVar, 1 - momentum), mul(bvar, (momentum * m) / (m - 1)));
      assign(runMean, nm);
      assign(runVar, nv);
      nm.dispose();
      nv.dispose();
    } finally {
      engine.gradEnabled = prev;
    }
  }
  // dx = gamma invstd / M (M g - sum g - xhat sum(g xhat)), dgamma = sum(g xhat), dbeta = sum g
  record(y, 'batchNorm', [x, gamma, beta], (g) => {
    if (engine.gradEnabled) return batchNormBackwardComposite(x, g, gamma, eps);
    const b = be.batchNormBackward(x, g, bmean, bvar, gamma, eps);
    return [wrap(be, b.dx, x.shape, x.dtype), wrap(be, b.dgamma, [c], x.dtype), wrap(be, b.dbeta, [c], x.dtype)];
  });
  if (!y.requiresGrad) {
    bmean.dispose();
    bvar.dispose();
  }
  return y;
}

