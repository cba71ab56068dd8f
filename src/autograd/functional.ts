/** Function transforms built on grad(): vjp, jvp (by the double-vjp trick), hvp, valueAndGrad. */
import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { shapesEqual } from '../shape.js';
import { Tensor } from '../tensor.js';
import { full } from '../ops/creation.js';
import { detach } from '../ops/layout.js';
import { add as addT, mul } from '../ops/elementwise.js';
import { sum } from '../ops/reduce.js';
import { grad } from './grad.js';

type Fn = (...xs: Tensor[]) => Tensor;

/** Leaves that track gradients, holding the same values as `xs` (so the caller's tensors are untouched). */
function asLeaves(xs: readonly Tensor[]): Tensor[] {
  return xs.map((x) => {
    const l = detach(x);
    l.requiresGrad = true;
    return l;
  });
}

export interface TransformOptions {
  /** Record the result's graph so it can be differentiated again. */
  createGraph?: boolean;
  /**
   * Accept an input that f does not use and treat its derivative as zero. Without it such an
   * input is an ArgumentError from grad() naming it (f closing over another tensor than the one
   * passed is a bug that would otherwise give zeros).
   */
  allowUnused?: boolean;
}

/**
 * Vector-Jacobian product: value = f(xs), grads = J^T u. u may be left out only when f returns a
 * single element (then u = 1), as in PyTorch.
 * With createGraph, xs themselves are differentiated (no detaching), so nested transforms compose.
 */
export function vjp(f: Fn, xs: readonly Tensor[], u?: Tensor, o: TransformOptions = {}): { value: Tensor; grads: Tensor[] } {
  return vjpNamed('vjp', f, xs, u, o);
}

function vjpNamed(op: string, f: Fn, xs: readonly Tensor[], u: Tensor | undefined, o: TransformOptions): { value: Tensor; grads: Tensor[] } {
  const leaves = o.createGraph ? xs.map(ensureTracked) : asLeaves(xs);
  const value = f(...leaves);
  if (u && !shapesEqual(u.shape, value.shape)) {
    throw new ShapeError(`${op}: cotangent shape ${fmtShape(u.shape)} differs from output shape ${fmtShape(value.shape)}`);
  }
  if (!u && value.size !== 1) {
    throw new ShapeError(
      op === 'vjp'
        ? `vjp: f returned shape ${fmtShape(value.shape)}; pass a cotangent u of that shape (u may be left out only for a single-element output)`
        : `${op}: f must return a scalar, got shape ${fmtShape(value.shape)}`,
    );
  }
  const grads = grad(value, leaves, { gradOutputs: u ? [u] : undefined, createGraph: o.createGraph ?? false, allowUnused: o.allowUnused ?? false });
  return { value, grads };
}

function ensureTracked(x: Tensor): Tensor {
  if (x.requiresGrad) return x;
  const l = detach(x);
  l.requiresGrad = true;
  return l;
}

/**
 * Jacobian-vector product J v by the double-vjp trick: g(u) = J^T u is linear in u, and
 * d/du <g(u), v> = J v. Needs only reverse mode, and works to any order since every backward
 * rule is itself differentiable.
 */
export function jvp(f: Fn, xs: readonly Tensor[], vs: readonly Tensor[], o: TransformOptions = {}): { value: Tensor; tangent: Tensor } {
  if (vs.length !== xs.length) throw new ArgumentError(`jvp: got ${vs.length} tangents for ${xs.length} inputs`);
  xs.forEach((x, i) => {
    if (!shapesEqual(x.shape, vs[i]!.shape)) {
      throw new ShapeError(`jvp: tangent ${i} has shape ${fmtShape(vs[i]!.shape)} but input ${i} has shape ${fmtShape(x.shape)}`);
    }
  });
  const leaves = o.createGraph ? xs.map(ensureTracked) : asLeaves(xs);
  const value = f(...leaves);
  const u = full(value.shape, 0, { dtype: value.dtype, device: value.device });
  u.requiresGrad = true;
  const g = grad(value, leaves, { gradOutputs: [u], createGraph: true, allowUnused: o.allowUnused ?? false });
  let dot: Tensor | null = null;
  g.forEach((gi, i) => {
    const term = sum(mul(gi, vs[i]!));
    dot = dot ? addT(dot, term) : term;
  });
  // allowUnused: <J^T u, v> does not depend on u exactly when J = 0 (f constant in the inputs it
  // was allowed to ignore), and then J v = 0 is the right tangent.
  const [tangent] = grad(dot!, [u], { createGraph: o.createGraph ?? false, allowUnused: true });
  return { value, tangent: tangent! };
}

/** Hessian-vector products H v of a scalar f at xs (one per input), by differentiating <grad f, v>. */
export function hvp(f: Fn, xs: readonly Tensor[], vs: readonly Tensor[], o: TransformOptions = {}): { value: Tensor; grads: Tensor[]; hvps: Tensor[] } {
  if (vs.length !== xs.length) throw new ArgumentError(`hvp: got ${vs.length} vectors for ${xs.length} inputs`);
  const leaves = o.createGraph ? xs.map(ensureTracked) : asLeaves(xs);
  const value = f(...leaves);
  if (value.size !== 1) throw new ShapeError(`hvp: f must return a scalar, got shape ${fmtShape(value.shape)}`);
  const grads = grad(value, leaves, { createGraph: true, allowUnused: o.allowUnused ?? false });
  let dot: Tensor | null = null;
  grads.forEach((gi, i) => {
    const term = sum(mul(gi, vs[i]!));
    dot = dot ? addT(dot, term) : term;
  });
  // allowUnused: where f is linear in an input, grad f does not depend on it and H v is zero there.
  const hvps = grad(dot!, leaves, { createGraph: o.createGraph ?? false, allowUnused: true });
  return { value, grads, hvps };
}

/** Wrap f so that calling it returns its (scalar) value and the gradient with respect to each argument. */
export function valueAndGrad(f: Fn, o: TransformOptions = {}): (...xs: Tensor[]) => { value: Tensor; grads: Tensor[] } {
  return (...xs: Tensor[]) => {
    return vjpNamed('valueAndGrad', f, xs, undefined, o);
  };
}

