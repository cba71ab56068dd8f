/**
 * Reverse-mode differentiation over the recorded graph. Backward rules are ordinary differentiable
 * ops: with `createGraph` they run with recording on, so the returned gradients have graphs of
 * their own and can be differentiated again (double backprop, Hessian-vector products).
 */
import { ArgumentError, DTypeError, DisposedError, ShapeError, UnusedInputError, fmtShape } from '../errors.js';
import { isFloat } from '../dtype.js';
import { shapesEqual } from '../shape.js';
import type { GradNode } from '../tensor.js';
import { Tensor } from '../tensor.js';
import { add } from '../ops/elementwise.js';
import { full, zerosLike } from '../ops/creation.js';
import { tidy, withGrad } from '../scope.js';
import { view } from '../ops/core.js';

export interface GradOptions {
  /** Cotangents, one per output (default: ones shaped like each output). */
  gradOutputs?: Tensor | readonly (Tensor | null)[];
  /** Record the backward pass so the gradients can be differentiated again. Default false. */
  createGraph?: boolean;
  /** Keep the graph usable for another grad() call. Default: createGraph. */
  retainGraph?: boolean;
  /**
   * Accept inputs the outputs do not depend on (not reachable through recorded ops, or not
   * requiring gradients) and return zeros for them. Without it (or unusedAsNull) such an input
   * is an UnusedInputError (an ArgumentError) naming it: a forgotten `requiresGrad` must not
   * silently give zeros.
   * PyTorch's `allow_unused=True, materialize_grads=True`.
   */
  allowUnused?: boolean;
  /** Accept unused inputs like allowUnused, but return null for them (PyTorch's `allow_unused=True`). */
  unusedAsNull?: boolean;
}

function describeInput(t: Tensor, i: number, n: number): string {
  return `${n === 1 ? 'the input' : `input ${i}`} (${t.dtype} ${fmtShape(t.shape)})`;
}

/**
 * The error for an input the outputs do not depend on: which input, why (no requiresGrad, or no
 * path through recorded ops) and how to accept it.
 */
function unusedInputError(t: Tensor, i: number, n: number): UnusedInputError {
  const what = describeInput(t, i, n);
  const why = !t.requiresGrad
    ? `${what} does not require gradients (requiresGrad is false); set requiresGrad = true on it before computing the outputs`
    : `${what} is not reachable from the outputs (they were not computed from it through recorded ops, e.g. it was detached or the work ran under noGrad)`;
  return new UnusedInputError(`grad: ${why}; pass allowUnused: true to get zeros for it (or unusedAsNull: true for null)`, i);
}

/**
 * What a node becomes after a grad() call that did not retain the graph: it keeps its inputs, so a
 * later grad() still finds the path and fails loudly on it instead of returning zeros.
 */
function releasedNode(node: GradNode): GradNode {
  const name = node.name;
  return {
    name,
    inputs: node.inputs,
    backward: () => {
      throw new ArgumentError(
        `grad: the graph through '${name}' was freed by an earlier grad() call; pass retainGraph: true (or createGraph: true) to that call`,
      );
    },
  };
}

/** Post-order (inputs before users) of the tensors reachable from `roots` through recorded nodes. */
function topoOrder(roots: readonly Tensor[]): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: [Tensor, number][] = [];
  for (const r of roots) {
    if (seen.has(r) || !r.requiresGrad) continue;
    seen.add(r);
    stack.push([r, 0]);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const [t, i] = top;
      const ins = t.node?.inputs ?? [];
      if (i < ins.length) {
        top[1]++;
        const c = ins[i]!;
        if (!seen.has(c) && c.requiresGrad) {
          seen.add(c);
          stack.push([c, 0]);
        }
      } else {
        stack.pop();
        order.push(t);
      }
    }
  }
  return order;
}

function runBackward(node: GradNode, g: Tensor, createGraph: boolean, needs: readonly boolean[]): (Tensor | null)[] {
  try {
    return createGraph ? node.backward(g, needs) : tidy(() => node.backward(g, needs));
  } catch (e) {
    if (e instanceof DisposedError) {
      throw new DisposedError(
        `grad: the backward of '${node.name}' needs a tensor that was disposed (${e.message}); ` +
          'compute gradients inside the tidy() that built the graph, or keep() the tensors it needs',
      );
    }
    throw e;
  }
}

export function grad(outputs: Tensor | readonly Tensor[], inputs: Tensor | readonly Tensor[], opts: GradOptions & { unusedAsNull: true }): (Tensor | null)[];
export function grad(outputs: Tensor | readonly Tensor[], inputs: Tensor | readonly Tensor[], opts?: GradOptions): Tensor[];
export function grad(
  outputs: Tensor | readonly Tensor[],
  inputs: Tensor | readonly Tensor[],
  opts: GradOptions = {},
): (Tensor | null)[] {
  const outs = outputs instanceof Tensor ? [outputs] : [...outputs];
  const ins = inputs instanceof Tensor ? [inputs] : [...inputs];
  const createGraph = opts.createGraph ?? false;
  const retainGraph = opts.retainGraph ?? createGraph;
  if (outs.length === 0) throw new ArgumentError('grad: needs at least one output');
  for (const t of [...outs, ...ins]) t.live('grad');
  for (const t of ins) {
    if (!isFloat(t.dtype)) throw new DTypeError(`grad: inputs must be float tensors, got ${t.dtype} ${fmtShape(t.shape)}`);
  }
  const seeds = opts.gradOutputs === undefined ? [] : opts.gradOutputs instanceof Tensor ? [opts.gradOutputs] : [...opts.gradOutputs];
  if (opts.gradOutputs !== undefined && seeds.length !== outs.length) {
    throw new ArgumentError(`grad: got ${seeds.length} gradOutputs for ${outs.length} outputs`);
  }
  outs.forEach((o, i) => {
    if (!seeds[i] && o.size !== 1) {
      throw new ShapeError(
        `grad: ${outs.length === 1 ? 'the output' : `output ${i}`} has shape ${fmtShape(o.shape)} (${o.size} elements); ` +
          'ones are implied only for a single-element output, so pass gradOutputs for it (or reduce it, e.g. with sum())',
      );
    }
  });

  const order = topoOrder(outs);
  const inputSet = new Set(ins);
  // Tensors from which some input is reachable: only their nodes need to run.
  const leadsToInput = new Set<Tensor>();
  for (const t of order) {
    if (inputSet.has(t) || (t.node?.inputs.some((c) => leadsToInput.has(c)) ?? false)) leadsToInput.add(t);
  }
  // An input is used when some output depends on it: it was reached through recorded ops (or is
  // itself an output); a used input whose backward rules produce no gradient gets zeros.
  const outSet = new Set(outs);
  const used = (t: Tensor): boolean => t.requiresGrad && (leadsToInput.has(t) || outSet.has(t));
  if (!opts.allowUnused && !opts.unusedAsNull) {
    ins.forEach((t, i) => {
      if (!used(t)) throw unusedInputError(t, i, ins.length);
    });
  }

  const run = (): (Tensor | null)[] => {
    const grads = new Map<Tensor, Tensor>();
    // Number of grads slots holding each gradient tensor, so a shared one is freed only when unused.
    const refs = new Map<Tensor, number>();
    const userSeeds = new Set<Tensor>();
    const hold = (g: Tensor): void => void refs.set(g, (refs.get(g) ?? 0) + 1);
    const unhold = (g: Tensor): void => {
      const n = (refs.get(g) ?? 1) - 1;
      if (n > 0) return void refs.set(g, n);
      refs.delete(g);
      // Without createGraph nothing else can reach it: free it now to keep the peak low.
      if (!createGraph && !userSeeds.has(g)) g.dispose();
    };
    const accumulate = (t: Tensor, g: Tensor): void => {
      if (!shapesEqual(g.shape, t.shape)) {
        throw new ShapeError(
          `grad: backward of '${t.node?.name ?? 'leaf'}' produced a gradient of shape ${fmtShape(g.shape)} for a tensor of shape ${fmtShape(t.shape)}`,
        );
      }
      const prev = grads.get(t);
      const next = prev ? add(prev, g) : g;
      grads.set(t, next);
      hold(next);
      if (prev) {
        unhold(prev);
        if (!refs.has(g) && !createGraph && !userSeeds.has(g)) g.dispose();
      }
    };

    outs.forEach((o, i) => {
      if (!o.requiresGrad) return;
      const s = seeds[i];
      if (s) {
        s.live('grad');
        if (!shapesEqual(s.shape, o.shape)) {
          throw new ShapeError(`grad: gradOutputs[${i}] has shape ${fmtShape(s.shape)} but output ${i} has shape ${fmtShape(o.shape)}`);
        }
        userSeeds.add(s);
        accumulate(o, s);
      } else accumulate(o, full(o.shape, 1, { dtype: o.dtype, device: o.device }));
    });

    const processed: Tensor[] = [];
    for (let k = order.length - 1; k >= 0; k--) {
      const t = order[k]!;
      const g = grads.get(t);
      const node = t.node;
      if (!g || !node || !node.inputs.some((c) => leadsToInput.has(c))) continue;
      const inGrads = runBackward(node, g, createGraph, node.inputs.map((c) => leadsToInput.has(c)));
      if (inGrads.length !== node.inputs.length) {
        throw new ArgumentError(`grad: backward of '${node.name}' returned ${inGrads.length} gradients for ${node.inputs.length} inputs`);
      }
      processed.push(t);
      node.inputs.forEach((c, i) => {
        const gi = inGrads[i];
        if (gi && leadsToInput.has(c)) accumulate(c, gi);
      });
      if (!inputSet.has(t)) {
        grads.delete(t);
        unhold(g);
      }
    }
    if (!retainGraph) for (const t of processed) if (t.node) t.node = releasedNode(t.node);
    return ins.map((t) => {
      const g = grads.get(t);
      if (g) return userSeeds.has(g) ? view(g, g.shape) : g;
      return opts.unusedAsNull && !used(t) ? null : zerosLike(t);
    });
  };
  // Without createGraph, every temporary of the pass is freed; only the returned gradients survive.
  return withGrad(createGraph, () => (createGraph ? run() : tidy(run)));
}
