/**
 * The penalties of the gradient-regularization papers, each a differentiable scalar built on a
 * logits function f (x -> logits g(x), probabilities f(x) = softmax(g(x))). Every penalty is the
 * batch mean of a per-sample quantity, so lambda does not depend on the batch size. The data loss is
 * per-sample cross-entropy l_n = CE(g(x_n), y_n) unless `lossRows` says otherwise; L = mean_n l_n.
 *
 * Each function also returns the logits of the forward it ran, so an objective adds the data loss
 * without a second forward pass.
 */
import * as g from '../api.js';
import type { Tensor } from '../api.js';
import { allClasses, pullback, rowSquares, type Cotangent, type Head } from './pullback.js';
import { drawNormal, Streams } from './random.js';
import type { DrawSource, LogitsFn, LossRows, PullMode } from './types.js';

export interface PenaltyValue {
  penalty: Tensor;
  /** Logits [N, C] of the clean forward the penalty was built on. */
  logits: Tensor;
  /** The per-sample data loss on those logits, when the penalty needed it. */
  rows?: Tensor;
}

export interface JacobianOptions {
  /** Number of classes C (the width of the logits). */
  classes: number;
  /** How the cotangents are pushed back (default: defaultPullMode of the input's device). */
  mode?: PullMode;
  /** Stochastic estimate with k random projections instead of the exact value (C vjps). */
  projections?: number;
  /** Key of the projections' random draws; required with `projections`. */
  draw?: DrawSource;
}

/**
 * The pull mode when none is given, per backend. On the native backend 'batched': measured idle
 * with 2 threads (bench/native-results.md, 2026-12-05), once batch norm's and max pool's kernels
 * took the whole cotangent stack (no per-block slices and concats) and the buffer pool stopped
 * thrashing on the stacks' large blocks, the batched vjp takes about 0.7x the loop's time on
 * LeNet-5, 0.8-1.0x on the small CNN and 0.95x on the ResNet (fewer, larger kernel calls: ~100 per
 * step instead of ~1500). The TypeScript reference backend keeps 'loop'. On the GPU backends
 * 'batched' (one dispatch per op instead of K, K-times-larger kernels); not yet measured on a GPU
 * (scripts/gpu-check.sh times both).
 */
export const DEFAULT_PULL_MODES: Readonly<Record<string, PullMode>> = { cpu: 'loop', native: 'batched', webgpu: 'batched', cuda: 'batched' };

/** The default pull mode for tensors on `device`. */
export function defaultPullMode(device: string): PullMode {
  return DEFAULT_PULL_MODES[device] ?? 'loop';
}

export const crossEntropyRows: LossRows = (z, y) => g.crossEntropy(z, y, 'none');

function needDraw(op: string, o: JacobianOptions): DrawSource {
  if (!o.draw) throw new g.ArgumentError(`${op}: a stochastic estimate needs 'draw' (seed and step)`);
  return o.draw;
}

function checkProjections(op: string, k: number): void {
  if (!Number.isInteger(k) || k < 1) throw new g.ArgumentError(`${op}: projections must be a positive integer, got ${k}`);
}

/** k standard-normal cotangents r_j [N, C], one Philox draw per step. */
function gaussianCotangents(k: number, n: number, classes: number, src: DrawSource, like: Tensor): Cotangent[] {
  const r = drawNormal([k, n, classes], src, Streams.projection, like);
  return Array.from({ length: k }, (_, j) => () => g.reshape(g.slice(r, [j, 0, 0], [1, n, classes]), [n, classes]));
}

/** Batch mean of sum_j ||rows_j,n||^2 / k: the average squared norm of the pulled-back rows. */
function meanSquares(rows: Tensor): Tensor {
  const k = rows.shape[0]!;
  const n = rows.shape[1]!;
  return g.mul(g.sum(g.square(rows)), 1 / (k * n));
}

/**
 * Double backpropagation / DataGrad (thesis eq. 49):
 * L_DG = L + lambda ||grad_x L||_2^2, taken per sample: mean_n ||d l_n / d x_n||^2.
 */
// penalty = mean_n ||grad_{x_n} l_n||^2, the gradient built with createGraph
export function doubleBackprop(f: LogitsFn, x: Tensor, y: Tensor, lossRows: LossRows = crossEntropyRows): PenaltyValue {
  return g.withGrad(true, () => doubleBackpropRecorded(f, x, y, lossRows));
}

function doubleBackpropRecorded(f: LogitsFn, x: Tensor, y: Tensor, lossRows: LossRows): PenaltyValue {
  const xl = g.detach(x);
  xl.requiresGrad = true;
  const z = f(xl);
  const rows = lossRows(z, y);
  const [gx] = g.grad(g.sum(rows), [xl], { createGraph: true });
  const n = x.shape[0]!;
  const sq = g.sum(g.square(g.reshape(gx!, [n, x.size / n])), 1);
  return { penalty: g.mean(sq), logits: z, rows };
}

function jacobianNorm(op: string, head: Head, f: LogitsFn, x: Tensor, o: JacobianOptions): PenaltyValue {
  const mode = o.mode ?? defaultPullMode(x.device);
  const n = x.shape[0]!;
  if (o.projections === undefined) {
    const { rows, logits } = pullback(f, x, head, allClasses(o.classes), mode);
    return { penalty: g.mul(g.sum(g.square(rows)), 1 / n), logits };
  }
  checkProjections(op, o.projections);
  const cots = gaussianCotangents(o.projections, n, o.classes, needDraw(op, o), x);
  const { rows, logits } = pullback(f, x, head, cots, mode);
  return { penalty: meanSquares(rows), logits };
}

/**
 * JacReg (thesis eq. 50): L + lambda ||J_f||_F^2, the Jacobian of the softmax output f.
 * Exact: sum over classes c of ||J_f^T e_c||^2 (C vjps). Estimated: ||J_f^T r||^2 with
 * r ~ N(0, I), whose mean is ||J_f||_F^2 because E[r r^T] = I.
 */
// penalty = mean_n ||J_f(x_n)||_F^2
export function jacReg(f: LogitsFn, x: Tensor, o: JacobianOptions): PenaltyValue {
  return jacobianNorm('jac', 'probs', f, x, o);
}

/**
 * FrobReg (thesis eq. 56): L + lambda ||J_g||_F^2, the Jacobian of the logits g.
 * Exact with C vjps, or estimated with k Gaussian projections (which is SpectReg).
 */
// penalty = mean_n ||J_g(x_n)||_F^2
export function frobReg(f: LogitsFn, x: Tensor, o: JacobianOptions): PenaltyValue {
  return jacobianNorm('fob', 'logits', f, x, o);
}

export interface SpectRegOptions {
  /** Number of projections k (default 1, as in the paper). */
  projections?: number;
  /** Project onto the unit sphere: r / ||r||. Then E = ||J_g||_F^2 / C. */
  spherical?: boolean;
  mode?: PullMode;
  draw: DrawSource;
}

/**
 * SpectReg (Varga et al., "Gradient regularization improves accuracy of discriminative models"):
 * L + lambda ||J_g^T r||_2^2 with r ~ N(0, I_C) per sample; the mean over r is ||J_g||_F^2.
 * The spherical variant normalizes r to the unit sphere, which scales the mean by 1/C.
 */
// penalty = mean_n mean_j ||J_g(x_n)^T r_j,n||^2
export function spectReg(f: LogitsFn, x: Tensor, o: SpectRegOptions): PenaltyValue {
  const k = o.projections ?? 1;
  checkProjections('spectreg', k);
  const n = x.shape[0]!;
  const mode = o.mode ?? defaultPullMode(x.device);
  let classes = 0;
  let draws: Tensor | null = null;
  const cots: Cotangent[] = Array.from({ length: k }, (_, j) => (z: Tensor) => {
    if (!draws) {
      classes = z.shape[1]!;
      const r = drawNormal([k, n, classes], o.draw, Streams.projection, z);
      draws = o.spherical ? g.div(r, g.sqrt(g.sum(g.square(r), 2, true))) : r;
    }
    return g.reshape(g.slice(draws, [j, 0, 0], [1, n, classes]), [n, classes]);
  });
  const { rows, logits } = pullback(f, x, 'logits', cots, mode);
  return { penalty: meanSquares(rows), logits };
}

/**
 * The per-sample Hessian-scaled trace Tr(J_g^T H J_g) (thesis eq. 63) from the exact rows
 * R_c = J_g^T e_c [C, N, D], with H = diag(p) - p p^T the softmax Hessian of cross-entropy in logit
 * space: Tr_n = sum_d v_d^T H v_d for the columns v_d = R[:, n, d] of J_g, i.e.
 *   Tr_n = sum_c p_nc ||R_c,n||^2 - ||sum_c p_nc R_c,n||^2,
 * computed along R's own layout (the same sums as softmaxHvp's p v - p (p . v) over the class axis,
 * without permuting R to put the classes last: on the ResNet's exact hsfob step the permutes,
 * copies and HVP passes of that form took 8.8 ms, these 1.5 ms; bench/native-results.md session 6).
 * Returns [N].
 */
function hessianTrace(rows: Tensor, logits: Tensor): Tensor {
  const [c, n] = rows.shape as [number, number, number];
  const pT = g.reshape(g.permute(g.softmax(logits, -1), [1, 0]), [c, n, 1]);
  const weighted = g.sum(g.mul(pT, g.sum(g.square(rows), 2, true)), [0, 2]);
  const mixed = g.sum(g.mul(pT, rows), 0);
  return g.sub(weighted, g.sum(g.square(mixed), 1));
}

/**
 * Samples s = sqrt(p) * r - p (sqrt(p) . r) with r ~ N(0, I): Cov(s) = diag(p) - p p^T = H, so
 * E ||J_g^T s||^2 = Tr(J_g^T H J_g). p stays in the graph, so the gradient is unbiased too.
 */
function hessianCotangents(k: number, n: number, classes: number, src: DrawSource, like: Tensor): Cotangent[] {
  const r = drawNormal([k, n, classes], src, Streams.projection, like);
  let sq: Tensor | null = null;
  let p: Tensor | null = null;
  return Array.from({ length: k }, (_, j) => (z: Tensor) => {
    // sqrt(p) as exp(log p / 2): finite derivatives even where p underflows to 0
    sq ??= g.exp(g.mul(g.logSoftmax(z, -1), 0.5));
    p ??= g.softmax(z, -1);
    const rj = g.reshape(g.slice(r, [j, 0, 0], [1, n, classes]), [n, classes]);
    const a = g.mul(sq, rj);
    return g.sub(a, g.mul(p, g.sum(a, 1, true)));
  });
}

/** The cotangent d(sum_n l_n)/dz = softmax(z) - onehot(y): pulling it back gives grad_x of the CE loss. */
function lossCotangent(y: Tensor): Cotangent {
  return (z) => g.sub(g.softmax(z, -1), g.oneHot(y, z.shape[1]!, z.dtype as 'float32' | 'float64'));
}

export interface HessianTraceValue extends PenaltyValue {
  /** Per-sample Tr(J H J^T) [N] (exact), or its k estimates [k, N]. */
  trace: Tensor;
  /** Per-sample ||grad_x l_n||^2 [N] when asked for (the hsfob-db variants). */
  db: Tensor | null;
}

/**
 * Tr(J_g^T H J_g) per sample, exact (C pullbacks) or estimated (k pullbacks of s ~ N(0, H)),
 * optionally together with the double-backprop rows through the same forward (one more pullback
 * with cotangent p - y, the gradient of cross-entropy in the logits).
 */
function hessianScaled(f: LogitsFn, x: Tensor, y: Tensor | null, o: JacobianOptions): HessianTraceValue {
  const mode = o.mode ?? defaultPullMode(x.device);
  const n = x.shape[0]!;
  const extra = y ? [lossCotangent(y)] : [];
  const exact = o.projections === undefined;
  if (!exact) checkProjections('hsfob', o.projections!);
  const k = exact ? o.classes : o.projections!;
  const cots = exact ? allClasses(o.classes) : hessianCotangents(k, n, o.classes, needDraw('hsfob', o), x);
  const { rows, logits } = pullback(f, x, 'logits', [...cots, ...extra], mode);
  const d = rows.shape[2]!;
  const main = extra.length ? g.slice(rows, [0, 0, 0], [k, n, d]) : rows;
  const trace = exact ? hessianTrace(main, logits) : rowSquares(main);
  const db = extra.length ? g.reshape(rowSquares(g.slice(rows, [k, 0, 0], [1, n, d])), [n]) : null;
  return { penalty: g.mean(trace), logits, trace, db };
}

/**
 * Hessian-scaled Frobenius regularizer, hsfob (thesis eq. 63):
 * L + lambda Tr(grad_x f H grad_x f^T), H the Hessian of cross-entropy in the logits,
 * H = diag(p) - p p^T: the second-order term of the expected loss under input noise (eq. 62).
 */
// penalty = mean_n Tr(J_g(x_n)^T H_n J_g(x_n))
export function hsfob(f: LogitsFn, x: Tensor, o: JacobianOptions): HessianTraceValue {
  return hessianScaled(f, x, null, o);
}

/**
 * hsfob-db1 (thesis eq. 65): L + lambda [Tr(grad_x f H grad_x f^T) + ||grad_x L||_2^2].
 */
// penalty = mean_n (Tr_n + ||grad_{x_n} l_n||^2)
export function hsfobDb1(f: LogitsFn, x: Tensor, y: Tensor, o: JacobianOptions): HessianTraceValue {
  const v = hessianScaled(f, x, y, o);
  return { ...v, penalty: g.add(v.penalty, g.mean(v.db!)) };
}

/**
 * hsfob-db2 (thesis eq. 66): L + lambda [Tr(grad_x f H grad_x f^T)^2 + ||grad_x L||_2^2], the trace
 * squared per sample. A squared estimate is biased, so the estimator splits its k >= 2
 * projections into two independent halves and uses the product of their means, E = Tr^2.
 */
// penalty = mean_n (Tr_n^2 + ||grad_{x_n} l_n||^2)
export function hsfobDb2(f: LogitsFn, x: Tensor, y: Tensor, o: JacobianOptions): HessianTraceValue {
  if (o.projections !== undefined && o.projections < 2) {
    throw new g.ArgumentError(`hsfob-db2: the estimate of a squared trace needs projections >= 2 (two independent halves), got ${o.projections}`);
  }
  const v = hessianScaled(f, x, y, o);
  let sq: Tensor;
  if (o.projections === undefined) sq = g.square(v.trace);
  else {
    const k = v.trace.shape[0]!;
    const n = v.trace.shape[1]!;
    const h = Math.floor(k / 2);
    const a = g.mean(g.slice(v.trace, [0, 0], [h, n]), 0);
    const b = g.mean(g.slice(v.trace, [h, 0], [k - h, n]), 0);
    sq = g.mul(a, b);
  }
  return { ...v, penalty: g.add(g.mean(sq), g.mean(v.db!)) };
}

/**
 * Confidence penalty (Pereyra et al. 2017, compared in the replication report's experiment c4):
 * L - lambda H(p), H(p) = -sum_c p_c log p_c; the penalty is the negative entropy, mean over the batch.
 */
// penalty = mean_n sum_c p_c log p_c
export function confidencePenalty(f: LogitsFn, x: Tensor): PenaltyValue {
  const z = f(x);
  const logp = g.logSoftmax(z, -1);
  return { penalty: g.mean(g.sum(g.mul(g.exp(logp), logp), 1)), logits: z };
}

/**
 * Gaussian noise injection (thesis eq. 57): L_NI = L(x + lambda eps), eps ~ N(0, I), the noise
 * fixed by (seed, step). Returns the logits of the perturbed input; the loss on them is the objective.
 */
// L_NI(x, y, lambda) = L(x + lambda eps, y)
export function noisyLogits(f: LogitsFn, x: Tensor, std: number, draw: DrawSource): Tensor {
  if (!(std >= 0)) throw new g.ArgumentError(`ni: the noise std (lambda) must be >= 0, got ${std}`);
  const eps = drawNormal(x.shape, draw, Streams.inputNoise, x);
  return f(g.add(x, g.mul(eps, std)));
}
