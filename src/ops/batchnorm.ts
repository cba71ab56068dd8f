/**
 * Batch normalization over [N, C, *] per channel. Training mode normalizes with batch statistics
 * (biased variance) and updates running statistics; eval mode uses the running statistics.
 * The first-order backward is a fused kernel. When the gradient itself is being recorded
 * (createGraph, double backprop), the same kernel runs as three recorded ops (dx, dgamma, dbeta)
 * whose backward rules are the closed-form second derivatives below, written again in recorded
 * ops (the fused kernel, the normalization and the per-channel inverse deviation), so gradients of
 * any order stay on the fused kernels. `batchNormBackwardComposite`, the same formula in primitive
 * ops (differentiated by autograd), is their test oracle and can be selected with
 * `setBatchNormDoubleBackward('composite')`.
 */
import { assertFloat } from '../dtype.js';
import { engine } from '../engine.js';
import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { assign, backendOf, record, sameDType, view, wrap } from './core.js';
import { add, mul, neg, relu, rsqrt, square, sub, where } from './elementwise.js';
import { broadcastTo, concat, reshape, slice } from './layout.js';
import { mean, sum } from './reduce.js';
import { ones, zeros } from './creation.js';
import type { Backend, Storage } from '../backends/backend.js';

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

export type BatchNormDoubleBackwardMode = 'fused' | 'closed-form' | 'composite';
let doubleBackward: BatchNormDoubleBackwardMode = 'fused';

/**
 * How batchNorm's backward runs when it is itself recorded: 'fused' (the default: the closed-form
 * second derivatives, as one backend kernel when the backend has it and the second derivative is
 * not itself recorded), 'closed-form' (always the closed form in recorded ops) or 'composite'
 * (autograd through batchNormBackwardComposite). Returns the previous setting. For tests and
 * comparisons.
 */
export function setBatchNormDoubleBackward(mode: BatchNormDoubleBackwardMode): BatchNormDoubleBackwardMode {
  const prev = doubleBackward;
  doubleBackward = mode;
  return prev;
}

/**
 * One training-mode batch-norm input x with its batch statistics (the values the forward kernel
 * computed; as functions of x their derivatives are accounted for by the rules below).
 *
 * Per channel, over its M values: s = (var + eps)^-1/2, xhat = (x - mean) s, and for a gradient g
 * P(g) = g - mean(g) - xhat mean(g xhat) (a symmetric projection). The backward of y = gamma xhat +
 * beta is dx = gamma s P(g), dgamma = sum(g xhat), dbeta = sum(g) (thesis eq. for BN's gradient; Ioffe
 * and Szegedy 2015, section 3). Differentiating L(x, g, gamma) = <u, dx> + <a, dgamma> + <b, dbeta>:
 *   dL/dg     = gamma s P(u) + a xhat + b
 *   dL/dgamma = sum(u s P(g))
 *   dL/dx     = s P(F) - (gamma s / M) sum(u s P(g)) xhat,   F = a g - gamma s (u G + g U),
 * with G = mean(g xhat), U = mean(u xhat) (from dxhat_j/dx_i = s (delta_ij - 1/M - xhat_i xhat_j / M)
 * and ds/dx_i = -s^2 xhat_i / M). Each output below records its share of these terms.
 */
class BnInput {
  readonly c: number;
  readonly m: number;
  readonly axes: number[];
  readonly cs: number[];
  constructor(
    readonly be: Backend,
    readonly x: Tensor,
    readonly bmean: Tensor,
    readonly bvar: Tensor,
    readonly eps: number,
  ) {
    this.c = x.shape[1]!;
    this.m = x.size / this.c;
    this.axes = axesOf(x);
    this.cs = chanShape(x);
  }

  private ones(): Tensor {
    return ones([this.c], { dtype: this.x.dtype, device: this.x.device });
  }

  /** The fused backward kernel for gradient g and scale gamma (ones when null): [dx, dgamma, dbeta] storages. */
  private kernel(g: Tensor, gamma: Tensor | null): [Tensor, Tensor, Tensor] {
    const ga = gamma ?? this.ones();
    const r = this.be.batchNormBackward(this.x, g, this.bmean, this.bvar, ga, this.eps);
    if (!gamma) ga.dispose();
    const { be, x, c } = this;
    return [wrap(be, r.dx, x.shape, x.dtype), wrap(be, r.dgamma, [c], x.dtype), wrap(be, r.dbeta, [c], x.dtype)];
  }

  /** dx = gamma s P(g) (gamma null: ones), recorded. */
  dx(g: Tensor, gamma: Tensor | null): Tensor {
    const [dx, dg, db] = this.kernel(g, gamma);
    dg.dispose();
    db.dispose();
    return this.recordDx(dx, g, gamma);
  }

  /** All three gradients of one kernel call, each recorded. */
  all(g: Tensor, gamma: Tensor): [Tensor, Tensor, Tensor] {
    const [dx, dg, db] = this.kernel(g, gamma);
    const x = this.x;
    // dgamma = sum(g xhat): d/dg = a xhat, d/dx = s P(a g)
    record(dg, 'batchNormBackward.dgamma', [x, g], (a, need) => {
      const aB = reshape(a, this.cs);
      return [need[0] ? this.dx(mul(g, aB), null) : null, need[1] ? mul(aB, this.xhat()) : null];
    });
    // dbeta = sum(g): d/dg = b broadcast
    record(db, 'batchNormBackward.dbeta', [g], (b) => [broadcastTo(reshape(b, this.cs), g.shape)]);
    return [this.recordDx(dx, g, gamma), dg, db];
  }

  private recordDx(dx: Tensor, g: Tensor, gamma: Tensor | null): Tensor {
    const x = this.x;
    const inputs = gamma ? [x, g, gamma] : [x, g];
    return record(dx, 'batchNormBackward.dx', inputs, this.dxRule(g, gamma));
  }

  /** The backward rule of dx = gamma s P(g) in (x, g[, gamma]): the closed form above. */
  dxRule(g: Tensor, gamma: Tensor | null): (u: Tensor, need: readonly boolean[]) => (Tensor | null)[] {
    const x = this.x;
    return (u, need) => {
      const needX = need[0]!, needG = need[1]!, needGamma = gamma !== null && need[2]!;
      if (!engine.gradEnabled && doubleBackward === 'fused' && this.be.batchNormDoubleBackward) {
        const ga = gamma ?? this.ones();
        const r = this.be.batchNormDoubleBackward(x, g, u, this.bmean, this.bvar, ga, this.eps);
        if (!gamma) ga.dispose();
        const { be, c } = this;
        const keep = (st: Storage, want: boolean, shape: readonly number[]): Tensor | null => {
          if (want) return wrap(be, st, shape, x.dtype);
          be.dispose(st);
          return null;
        };
        const gx = keep(r.gx, needX, x.shape), gg = keep(r.gg, needG, g.shape);
        const dgamma = keep(r.dgamma, needGamma, [c]);
        return gamma ? [gx, gg, dgamma] : [gx, gg];
      }
      const gg = needX || needGamma ? reshape(sum(mul(u, this.dx(g, null)), this.axes), [this.c]) : null;
      let gx: Tensor | null = null;
      if (needX) {
        const xh = this.xhat();
        const s = reshape(this.invStd(), this.cs);
        const gs = gamma ? mul(reshape(gamma, this.cs), s) : s;
        const G = mean(mul(g, xh), this.axes, true);
        const U = mean(mul(u, xh), this.axes, true);
        const F = neg(mul(gs, add(mul(u, G), mul(g, U))));
        gx = sub(this.dx(F, null), mul(xh, mul(gs, mul(reshape(gg!, this.cs), 1 / this.m))));
      }
      const gg2 = needG ? this.dx(u, gamma) : null;
      return gamma ? [gx, gg2, needGamma ? gg : null] : [gx, gg2];
    };
  }

  /** xhat = (x - mean) s, recorded: d/dx = s P(a). */
  xhat(): Tensor {
    const { be, x, c } = this;
    const one = this.ones();
    const zero = zeros([c], { dtype: x.dtype, device: x.device });
    const r = be.batchNormForward(x, one, zero, this.eps);
    one.dispose();
    zero.dispose();
    be.dispose(r.mean);
    be.dispose(r.variance);
    const xh = wrap(be, r.y, x.shape, x.dtype);
    return record(xh, 'batchNorm.xhat', [x], (a) => [this.dx(a, null)]);
  }

  /** s = (var + eps)^-1/2 per channel [C], recorded: ds/dx_i = -s^2 xhat_i / M. */
  invStd(): Tensor {
    const prev = engine.gradEnabled;
    engine.gradEnabled = false;
    let s: Tensor;
    try {
      s = rsqrt(add(this.bvar, this.eps));
    } finally {
      engine.gradEnabled = prev;
    }
    return record(s, 'batchNorm.invStd', [this.x], (a) => [
      mul(this.xhat(), reshape(mul(mul(square(s), a), -1 / this.m), this.cs)),
    ]);
  }
}

/**
 * The backward for K cotangents g [K, N, C, *] at once, statistics per cotangent: for each k,
 * dx_k = gamma s P(g_k) with P(g) = g - mean(g) - xhat mean(g xhat) over that cotangent's (N, *)
 * values, dgamma_k = sum(g_k xhat), dbeta_k = sum(g_k) (the rule above). xhat [N, C, *] and s [C]
 * are computed once and broadcast along K; both are recorded functions of x (batchNorm.xhat,
 * batchNorm.invStd), so the result differentiates to any order in x, gamma and g.
 */
function batchNormBatched(bn: BnInput, gRaw: Tensor, gamma: Tensor, need: readonly boolean[], mask: Tensor | null): (Tensor | null)[] {
  const k = gRaw.shape[0]!;
  const axes = bn.axes.map((a) => a + 1);
  // batchNormRelu: the cotangent of the batch norm is where(mask, g, 0); the stack kernels apply
  // the mask as they read (and batchNormBackward.dx's rule as it writes), elsewhere the where() runs.
  const fusedMask = mask !== null && doubleBackward === 'fused' && blockStacks && bn.be.batchNormStacks === true && bn.be.batchNormMask === true;
  const g = mask && !fusedMask ? where(mask, gRaw, 0) : gRaw;
  let dx: Tensor | null = null;
  if (need[0]) {
    if (doubleBackward === 'composite') dx = batchNormDxComposite(bn, g, gamma, axes);
    else dx = batchNormDxBlocks(bn, g, gamma, fusedMask ? mask : null);
  }
  if (!need[1] && !need[2]) return [dx, null, null];
  const gm = fusedMask ? where(mask!, g, 0) : g;
  const xh = bn.xhat();
  const dgamma = need[1] ? reshape(sum(mul(gm, xh), axes), [k, bn.c]) : null;
  const dbeta = need[2] ? reshape(sum(gm, axes), [k, bn.c]) : null;
  return [dx, dgamma, dbeta];
}

/** dx_k = gamma s (g_k - mean(g_k) - xhat mean(g_k xhat)) in primitive ops on the whole [K, ...] stack. */
function batchNormDxComposite(bn: BnInput, g: Tensor, gamma: Tensor, axes: number[]): Tensor {
  const xh = bn.xhat();
  const gs = mul(reshape(gamma, bn.cs), reshape(bn.invStd(), bn.cs));
  const mg = mean(g, axes, true);
  const mgx = mean(mul(g, xh), axes, true);
  return mul(gs, sub(sub(g, mg), mul(xh, mgx)));
}

let blockStacks = true;
/**
 * Whether batched batch norm hands the backend the whole cotangent stack where it takes stacks
 * (Backend.batchNormStacks; the default) or makes one call per block (false: the test oracle).
 * Returns the previous setting.
 */
export function setBatchNormStacks(on: boolean): boolean {
  const prev = blockStacks;
  blockStacks = on;
  return prev;
}

/**
 * dx for K cotangents on the fused kernels into the [K, N, C, *] result: one batchNormBackward over
 * the whole stack where the backend takes stacks (Backend.batchNormStacks), else one per cotangent
 * block, sliced out and concatenated. Recorded as one op whose rule runs the fused
 * batchNormDoubleBackward the same way (the x and gamma parts summed over K in block order) when it
 * is not itself recorded, and otherwise each block's closed-form rule (BnInput's, recorded). A composite on the whole stack measured 3.5x
 * the fused kernels' CPU time on the ResNet (eight elementwise passes over [K, N, C, H, W] forward
 * and again backward).
 */
function batchNormDxBlocks(bn: BnInput, gK: Tensor, gamma: Tensor, mask: Tensor | null): Tensor {
  const { be, x, c } = bn;
  const stacks = blockStacks && be.batchNormStacks === true;
  // mask (batchNormRelu, only with stacks on a backend with batchNormMask): dx of where(mask, gK, 0)
  if (mask && !(stacks && be.batchNormMask)) throw new ArgumentError('batchNorm: a relu mask needs the stack kernels with masks (Backend.batchNormMask)');
  const k = gK.shape[0]!;
  const zeros0 = x.shape.map(() => 0);
  const block = (t: Tensor, j: number): Tensor => wrap(be, be.slice(t, [j, ...zeros0], [1, ...x.shape]), x.shape, t.dtype);
  // blocks [N, C, *] laid end to end are the [K, N, C, *] stack
  const stack = (parts: Tensor[]): Tensor => {
    const y = parts.length === 1 ? view(parts[0]!, [1, ...x.shape]) : wrap(be, be.concat(parts, 0), [parts.length, ...x.shape], x.dtype);
    for (const p of parts) p.dispose();
    return y;
  };
  const rawSum = (a: Tensor | null, b: Tensor): Tensor => {
    if (!a) return b;
    const s = wrap(be, be.binary('add', a, b, a.shape), a.shape, a.dtype);
    a.dispose();
    b.dispose();
    return s;
  };
  let y: Tensor;
  if (stacks) {
    // the whole stack in one call (no block copies)
    const r = be.batchNormBackward(x, gK, bn.bmean, bn.bvar, gamma, bn.eps, mask ?? undefined);
    be.dispose(r.dgamma);
    be.dispose(r.dbeta);
    y = wrap(be, r.dx, gK.shape, x.dtype);
  } else {
    const parts: Tensor[] = [];
    for (let j = 0; j < k; j++) {
      const gj = block(gK, j);
      const r = be.batchNormBackward(x, gj, bn.bmean, bn.bvar, gamma, bn.eps);
      gj.dispose();
      be.dispose(r.dgamma);
      be.dispose(r.dbeta);
      parts.push(wrap(be, r.dx, x.shape, x.dtype));
    }
    y = stack(parts);
  }
  return record(y, 'batchNormBackward.dx', [x, gK, gamma], (u, need) => {
    const [needX, needG, needGamma] = need as [boolean, boolean, boolean];
    if (!engine.gradEnabled && doubleBackward === 'fused' && be.batchNormDoubleBackward && stacks) {
      const r = be.batchNormDoubleBackward(x, gK, u, bn.bmean, bn.bvar, gamma, bn.eps, mask ?? undefined);
      const keep = (st: Storage, want: boolean, shape: readonly number[]): Tensor | null => {
        if (want) return wrap(be, st, shape, x.dtype);
        be.dispose(st);
        return null;
      };
      return [keep(r.gx, needX, x.shape), keep(r.gg, needG, gK.shape), keep(r.dgamma, needGamma, [c])];
    }
    if (mask) {
      // recorded (a third order), or the double-backward kernel set aside: the rule below of
      // where(mask, gK, 0), its gradient for gK masked the same way (where's rule)
      const gm = where(mask, gK, 0);
      const [a, b, d] = unmaskedRule(gm, u, [needX, needG, needGamma]);
      return [a, b ? where(mask, b, 0) : null, d];
    }
    return unmaskedRule(gK, u, [needX, needG, needGamma]);
  });

  // The rule of dx for an unmasked stack gK where the stack kernel above does not apply.
  function unmaskedRule(gK: Tensor, u: Tensor, need: [boolean, boolean, boolean]): (Tensor | null)[] {
    const [needX, needG, needGamma] = need;
    if (!engine.gradEnabled && doubleBackward === 'fused' && be.batchNormDoubleBackward) {
      let gx: Tensor | null = null;
      let dgamma: Tensor | null = null;
      const gg: Tensor[] = [];
      for (let j = 0; j < k; j++) {
        const gj = block(gK, j);
        const uj = block(u, j);
        const r = be.batchNormDoubleBackward(x, gj, uj, bn.bmean, bn.bvar, gamma, bn.eps);
        gj.dispose();
        uj.dispose();
        if (needX) gx = rawSum(gx, wrap(be, r.gx, x.shape, x.dtype));
        else be.dispose(r.gx);
        if (needG) gg.push(wrap(be, r.gg, x.shape, x.dtype));
        else be.dispose(r.gg);
        if (needGamma) dgamma = rawSum(dgamma, wrap(be, r.dgamma, [c], x.dtype));
        else be.dispose(r.dgamma);
      }
      return [gx, needG ? stack(gg) : null, dgamma];
    }
    // recorded: each block's own closed-form rule, summed over K for x and gamma
    let gx: Tensor | null = null;
    let dgamma: Tensor | null = null;
    const gg: Tensor[] = [];
    for (let j = 0; j < k; j++) {
      const gj = reshape(slice(gK, [j, ...zeros0], [1, ...x.shape]), x.shape);
      const uj = reshape(slice(u, [j, ...zeros0], [1, ...x.shape]), x.shape);
      const [a, b, d] = bn.dxRule(gj, gamma)(uj, [needX, needG, needGamma]);
      if (a) gx = gx ? add(gx, a) : a;
      if (b) gg.push(reshape(b, [1, ...x.shape]));
      if (d) dgamma = dgamma ? add(dgamma, d) : d;
    }
    return [gx, needG ? (gg.length === 1 ? gg[0]! : concat(gg, 0)) : null, dgamma];
  }
}

export function batchNorm(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  runMean: Tensor | null,
  runVar: Tensor | null,
  o: BatchNormOptions,
): Tensor {
  return batchNormOp('batchNorm', x, gamma, beta, runMean, runVar, o);
}

export type BatchNormReluMode = 'fused' | 'composite';
let reluMode: BatchNormReluMode = 'fused';

/**
 * How batchNormRelu runs: 'fused' (the default: one recorded op whose backward kernels apply relu's
 * mask as they read the cotangent, on backends with Backend.batchNormMask) or 'composite'
 * (relu(batchNorm(...)), its test oracle). Returns the previous setting.
 */
export function setBatchNormRelu(mode: BatchNormReluMode): BatchNormReluMode {
  const prev = reluMode;
  reluMode = mode;
  return prev;
}

/**
 * relu(batchNorm(x, ...)), the ResNet's conv-BN-ReLU: the same values and gradients of every order,
 * bit for bit (tests), as the two ops. Training mode on a backend with Backend.batchNormMask records
 * one op whose backward reads the cotangent through relu's mask (its output y: the cotangent of the
 * batch norm is where(y, g, 0)) inside the batch-norm kernels, and whose batched vjp's second
 * derivative writes the masked gradient the same way: the two passes of relu's where() over each
 * [K, N, C, H, W] cotangent stack of an exact Jacobian penalty are gone (measured: bench/native-results.md,
 * session 6). Elsewhere (eval mode, other backends, setBatchNormRelu('composite')) it is
 * relu(batchNorm(...)).
 */
export function batchNormRelu(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  runMean: Tensor | null,
  runVar: Tensor | null,
  o: BatchNormOptions,
): Tensor {
  return batchNormOp('batchNormRelu', x, gamma, beta, runMean, runVar, o);
}

function batchNormOp(
  op: 'batchNorm' | 'batchNormRelu',
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  runMean: Tensor | null,
  runVar: Tensor | null,
  o: BatchNormOptions,
): Tensor {
  const be = backendOf(op, x, gamma, beta, ...(runMean ? [runMean] : []), ...(runVar ? [runVar] : []));
  assertFloat(op, x.dtype);
  sameDType(op, x, gamma);
  sameDType(op, x, beta);
  if (x.rank < 2) throw new ShapeError(`${op}: input must be [N, C, ...], got ${fmtShape(x.shape)}`);
  const c = x.shape[1]!;
  for (const [name, t] of [['gamma', gamma], ['beta', beta], ['runMean', runMean], ['runVar', runVar]] as const) {
    if (t && (t.rank !== 1 || t.shape[0] !== c)) {
      throw new ShapeError(`${op}: ${name} must have shape [${c}] for input ${fmtShape(x.shape)}, got ${fmtShape(t.shape)}`);
    }
  }
  const eps = o.eps ?? 1e-5;
  const momentum = o.momentum ?? 0.1;
  if (!(eps > 0)) throw new ArgumentError(`${op}: eps must be > 0, got ${eps}`);
  const cs = chanShape(x);
  if (!o.training) {
    if (!runMean || !runVar) throw new ArgumentError(`${op}: eval mode needs runMean and runVar`);
    // y = gamma (x - running mean) / sqrt(running var + eps) + beta
    const scale = mul(reshape(gamma, cs), rsqrt(add(reshape(runVar, cs), eps)));
    const ye = add(mul(sub(x, reshape(runMean, cs)), scale), reshape(beta, cs));
    return op === 'batchNormRelu' ? relu(ye) : ye;
  }
  // batchNormRelu as one op where the backend's kernels take relu's mask; else relu(batch norm)
  const fusedRelu = op === 'batchNormRelu' && reluMode === 'fused' && be.batchNormMask === true;
  const m = x.size / c;
  if (m < 2) throw new ShapeError(`${op}: training needs more than one value per channel, got input ${fmtShape(x.shape)}`);
  const r = be.batchNormForward(x, gamma, beta, eps);
  let y = wrap(be, r.y, x.shape, x.dtype);
  if (fusedRelu) {
    const z = y;
    y = wrap(be, be.unary('relu', z, 0), x.shape, x.dtype);
    z.dispose();
  }
  // batchNormRelu: relu's output is its mask, the batch norm's cotangent where(y, g, 0)
  const mask = fusedRelu ? y : null;
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
  record(
    y,
    fusedRelu ? 'batchNormRelu' : 'batchNorm',
    [x, gamma, beta],
    (g) => {
      if (engine.gradEnabled) {
        // recorded (double backprop, the loop's vjps): relu's where() as an op, then batch norm's rules
        const gm = mask ? where(mask, g, 0) : g;
        if (doubleBackward === 'composite') return batchNormBackwardComposite(x, gm, gamma, eps);
        return new BnInput(be, x, bmean, bvar, eps).all(gm, gamma);
      }
      const b = be.batchNormBackward(x, g, bmean, bvar, gamma, eps, mask ?? undefined);
      return [wrap(be, b.dx, x.shape, x.dtype), wrap(be, b.dgamma, [c], x.dtype), wrap(be, b.dbeta, [c], x.dtype)];
    },
    (g, need) => batchNormBatched(new BnInput(be, x, bmean, bvar, eps), g, gamma, need, mask),
  );
  if (!y.requiresGrad) {
    bmean.dispose();
    bvar.dispose();
  }
  return op === 'batchNormRelu' && !fusedRelu ? relu(y) : y;
}

