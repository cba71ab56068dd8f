/**
 * The Module base: a tree of named parameters, buffers (state that is saved but not trained, such
 * as batch-norm running statistics) and child modules, with a train/eval switch.
 *
 * Parameters are leaf tensors that require gradients. They are updated in place (the optimizers
 * write their storage; `loadStateDict` repoints it with `assign`), so a parameter keeps its
 * identity for the whole life of the module and optimizer state can be keyed by it.
 */
import type { DType } from '../dtype.js';
import { ArgumentError, DeviceError, DTypeError, ShapeError, fmtShape } from '../errors.js';
import { assign } from '../ops/core.js';
import { mul } from '../ops/elementwise.js';
import { cast } from '../ops/layout.js';
import { keep, noGrad } from '../scope.js';
import { shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor.js';

export type StateDict = Record<string, Tensor>;

export abstract class Module {
  /** True in training mode (batch statistics, dropout on); false in eval mode. */
  training = true;
  private readonly params = new Map<string, Tensor>();
  private readonly buffers = new Map<string, Tensor>();
  private readonly children = new Map<string, Module>();

  abstract forward(x: Tensor): Tensor;

  /** Register a trainable leaf; it survives any enclosing tidy scope. */
  protected addParameter(name: string, t: Tensor): Tensor {
    this.checkName(name);
    t.requiresGrad = true;
    this.params.set(name, keep(t));
    return t;
  }

  /** Register saved, untrained state (e.g. running statistics). */
  protected addBuffer(name: string, t: Tensor): Tensor {
    this.checkName(name);
    this.buffers.set(name, keep(t));
    return t;
  }

  /** The parameter registered as `name` (possibly swapped in by functionalCall). */
  protected param(name: string): Tensor {
    const t = this.params.get(name);
    if (!t) throw new ArgumentError(`Module: no parameter '${name}'`);
    return t;
  }

  protected optionalParam(name: string): Tensor | null {
    return this.params.get(name) ?? null;
  }

  /** @internal Replace a registered parameter's tensor, returning the previous one (functionalCall). */
  swapParameter(name: string, t: Tensor): Tensor {
    const old = this.param(name);
    this.params.set(name, t);
    return old;
  }

  protected addModule<M extends Module>(name: string, m: M): M {
    this.checkName(name);
    this.children.set(name, m);
    return m;
  }

  private checkName(name: string): void {
    if (name === '' || name.includes('.')) throw new ArgumentError(`Module: member name '${name}' must be non-empty and contain no '.'`);
    if (this.params.has(name) || this.buffers.has(name) || this.children.has(name)) {
      throw new ArgumentError(`Module: member '${name}' is registered twice`);
    }
  }

  /** Direct children in registration order. */
  namedChildren(): [string, Module][] {
    return [...this.children];
  }

  /** This module and every descendant, with dotted paths ('' for this one). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [n, m] of this.children) out.push(...m.namedModules(prefix === '' ? n : `${prefix}.${n}`));
    return out;
  }

  namedParameters(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [path, m] of this.namedModules()) for (const [n, t] of m.params) out.push([path === '' ? n : `${path}.${n}`, t]);
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  namedBuffers(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [path, m] of this.namedModules()) for (const [n, t] of m.buffers) out.push([path === '' ? n : `${path}.${n}`, t]);
    return out;
  }

  /** Total number of trainable scalars. */
  numParameters(): number {
    return this.parameters().reduce((s, t) => s + t.size, 0);
  }

  train(on = true): this {
    for (const [, m] of this.namedModules()) m.training = on;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Parameters and buffers by dotted name (PyTorch naming: `conv1.weight`, `bn1.running_mean`). */
  stateDict(): StateDict {
    const sd: StateDict = {};
    for (const [n, t] of this.namedParameters()) sd[n] = t;
    for (const [n, t] of this.namedBuffers()) sd[n] = t;
    return sd;
  }

  /**
   * Copy values into the parameters and buffers (cast to their dtype, moved to their device).
   * Strict: every entry must match a member by name and shape, and every member must be given.
   */
  loadStateDict(sd: StateDict, o: { strict?: boolean } = {}): void {
    const strict = o.strict ?? true;
    const own = new Map([...this.namedParameters(), ...this.namedBuffers()]);
    if (strict) {
      const unknown = Object.keys(sd).filter((k) => !own.has(k));
      const missing = [...own.keys()].filter((k) => !(k in sd));
      if (unknown.length > 0 || missing.length > 0) {
        throw new ArgumentError(
          `loadStateDict: keys do not match the model (unexpected: ${unknown.join(', ') || 'none'}; missing: ${missing.join(', ') || 'none'})`,
        );
      }
    }
    for (const [name, target] of own) {
      const src = sd[name];
      if (!src) continue;
      if (!shapesEqual(src.shape, target.shape)) {
        throw new ShapeError(`loadStateDict: '${name}' has shape ${fmtShape(src.shape)} but the model expects ${fmtShape(target.shape)}`);
      }
      copyInto(target, src);
    }
  }

  /** Free every parameter and buffer. */
  dispose(): void {
    for (const [, t] of this.namedParameters()) t.dispose();
    for (const [, t] of this.namedBuffers()) t.dispose();
  }
}

/** target <- a fresh copy of src (no gradient history, target's dtype and device). */
export function copyInto(target: Tensor, src: Tensor): void {
  if (src.device !== target.device) {
    throw new DeviceError(`loadStateDict: a ${src.device} tensor cannot be loaded into a ${target.device} model (create it on ${target.device})`);
  }
  if (src.dtype !== target.dtype && (target.dtype === 'int32' || src.dtype === 'int32')) {
    throw new DTypeError(`loadStateDict: cannot load ${src.dtype} into ${target.dtype}`);
  }
  noGrad(() => {
    const s = src.dtype === target.dtype ? src : cast(src, target.dtype as DType);
    const fresh = mul(s, 1);
    if (s !== src) s.dispose();
    assign(target, fresh);
    fresh.dispose();
  });
}

/**
 * Run `fn` with some parameters of `model` replaced by other tensors (by dotted name), restoring
 * them afterwards: the model as a function of its parameters, for gradcheck, weight perturbations
 * or penalties that need the loss at other weights.
 */
export function functionalCall<T>(model: Module, overrides: Record<string, Tensor>, fn: () => T): T {
  const owners = new Map(model.namedModules());
  const swapped: [Module, string, Tensor][] = [];
  try {
    for (const [path, t] of Object.entries(overrides)) {
      const cut = path.lastIndexOf('.');
      const owner = owners.get(cut < 0 ? '' : path.slice(0, cut));
      const name = path.slice(cut + 1);
      const current = owner ? (owner.namedParameters().find(([n]) => n === name)?.[1] ?? null) : null;
      if (!owner || !current) throw new ArgumentError(`functionalCall: the model has no parameter '${path}'`);
      if (!shapesEqual(current.shape, t.shape)) {
        throw new ShapeError(`functionalCall: '${path}' has shape ${fmtShape(current.shape)}, got ${fmtShape(t.shape)}`);
      }
      swapped.push([owner, name, owner.swapParameter(name, t)]);
    }
    return fn();
  } finally {
    for (const [owner, name, old] of swapped.reverse()) owner.swapParameter(name, old);
  }
}
