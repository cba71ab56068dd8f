/**
 * Pulling cotangents back to the input: the one primitive under every Jacobian penalty.
 *
 * For a head h(x) (the logits g(x), or the probabilities f(x) = softmax(g(x))) and cotangents
 * u_1..u_K in class space, each row of J_h^T u_j is the input gradient of <h(x_n), u_j,n>. With
 * createGraph the rows are themselves differentiable in the parameters, so a penalty built on them
 * trains by double backprop.
 *
 * Two ways to push K cotangents:
 * - 'loop': one forward, then K vjps (K backward passes through the same graph) - what a PyTorch
 *   user writes with autograd.grad in a loop;
 * - 'batched': the batch replicated K times and one vjp whose cotangent stacks the K blocks, so
 *   every GEMM is K times taller and the number of kernel dispatches does not grow with K.
 * Both give the same rows for a network that treats samples independently. Batch norm in training
 * mode sees the same statistics on the replicated batch (copies do not change mean or biased
 * variance); a dropout layer draws a different mask per copy.
 */
import * as g from '../api.js';
import type { Tensor } from '../api.js';
import type { LogitsFn, PullMode } from './types.js';

export type Head = 'logits' | 'probs';

/** A cotangent [N, C] for block j, given the logits z [N, C] of the clean forward. */
export type Cotangent = (z: Tensor, j: number) => Tensor;

export interface PullbackResult {
  /** [K, N, D] with D the flattened input size: row (j, n) is J_h(x_n)^T u_j,n. */
  rows: Tensor;
  /** Logits [N, C] of the forward the rows were taken through (block 0 when batched). */
  logits: Tensor;
}

function tracked(x: Tensor): Tensor {
  const l = g.detach(x);
  l.requiresGrad = true;
  return l;
}

/**
 * Rows J_h^T u_j for the K cotangents. Recording is forced on: a penalty needs its inner graph even
 * when evaluated under noGrad (finite-difference checks, evaluation).
 */
export function pullback(f: LogitsFn, x: Tensor, head: Head, cotangents: readonly Cotangent[], mode: PullMode): PullbackResult {
  return g.withGrad(true, () => pullbackRecorded(f, x, head, cotangents, mode));
}

function pullbackRecorded(f: LogitsFn, x: Tensor, head: Head, cotangents: readonly Cotangent[], mode: PullMode): PullbackResult {
  const n = x.shape[0]!;
  const d = x.size / n;
  const k = cotangents.length;
  if (k === 0) throw new g.ArgumentError('pullback: needs at least one cotangent');
  if (mode === 'loop') {
    const xl = tracked(x);
    const z = f(xl);
    const h = head === 'probs' ? g.softmax(z, -1) : z;
    const rows = cotangents.map((cot, j) => {
      const [r] = g.grad(h, [xl], { gradOutputs: [cot(z, j)], createGraph: true });
      return g.reshape(r!, [1, n, d]);
    });
    return { rows: k === 1 ? rows[0]! : g.concat(rows, 0), logits: z };
  }
  const xr = tracked(k === 1 ? x : g.concat(new Array<Tensor>(k).fill(x), 0));
  const zr = f(xr);
  const c = zr.shape[1]!;
  const z = k === 1 ? zr : g.slice(zr, [0, 0], [n, c]);
  const h = head === 'probs' ? g.softmax(zr, -1) : zr;
  const u = k === 1 ? cotangents[0]!(z, 0) : g.concat(cotangents.map((cot, j) => cot(z, j)), 0);
  const [r] = g.grad(h, [xr], { gradOutputs: [u], createGraph: true });
  return { rows: g.reshape(r!, [k, n, d]), logits: z };
}

/** The cotangent e_c on every row: pulls back the gradient of class c's output. */
export function classCotangent(c: number): Cotangent {
  return (z) => {
    const [n, classes] = z.shape as [number, number];
    const host = z.dtype === 'float64' ? new Float64Array(n * classes) : new Float32Array(n * classes);
    for (let i = 0; i < n; i++) host[i * classes + c] = 1;
    return g.tensor(host, [n, classes], { dtype: z.dtype, device: z.device });
  };
}

/** e_0 .. e_{C-1}: pulling all of them back gives the full Jacobian. */
export function allClasses(classes: number): Cotangent[] {
  return Array.from({ length: classes }, (_, c) => classCotangent(c));
}

/** Per-sample squared norms sum_d rows[j, n, d]^2: [K, N]. */
export function rowSquares(rows: Tensor): Tensor {
  return g.sum(g.square(rows), 2);
}
