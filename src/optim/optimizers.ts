/**
 * The six optimizers of thesis section 2.3.4, each one fused kernel call per parameter
 * (`applyUpdate`). With g the gradient and g' = g + weightDecay * w (coupled L2: eq. 30's
 * lambda ||w||^2 adds 2 lambda w, so weightDecay = 2 lambda), and w <- (1 - lr * decoupledWeightDecay) w
 * first when decoupled decay is set:
 *   SGD        w <- w - a g'                                                       (eq. 8)
 *   Momentum   v <- b v + (1 - b) g';  w <- w - a v                                (eq. 9-10)
 *   Nesterov   u <- m u - a g';  w <- w + m u - a g'                  (Keras/PyTorch Nesterov)
 *   AdaGrad    S <- S + g'^2;  w <- w - a g' / (sqrt(S) + eps)                     (eq. 11-12)
 *   RMSprop    S <- r S + (1 - r) g'^2;  w <- w - a g' / (sqrt(S) + eps)           (eq. 13-14)
 *   Adam       m <- b1 m + (1 - b1) g';  v <- b2 v + (1 - b2) g'^2;
 *              w <- w - a (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)          (eq. 15-19)
 * Eq. 19 puts eps inside the square root; the kernel (like Kingma & Ba, Keras and PyTorch) adds it
 * outside. With eps = 1e-7 the two differ only where v is ~1e-14 or smaller.
 *
 * Momentum in the eq. 9-10 form runs on the kernel's `u <- m u - lr g; w <- w + u` with
 * m = b, lr = a (1 - b) and u = -a v; when a changes (a schedule), u is rescaled by a_new / a_old
 * so that the update stays exactly eq. 9-10.
 */
import type { UpdateParams, UpdateRule } from '../backends/backend.js';
import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { zerosLike } from '../ops/creation.js';
import { mul } from '../ops/elementwise.js';
import { assign } from '../ops/core.js';
import { keep, noGrad } from '../scope.js';
import { shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { constantSchedule, type LrSchedule } from './schedule.js';
import { applyUpdate, stateSlots } from './update.js';

export const OPTIMIZER_NAMES = ['sgd', 'momentum', 'nesterov', 'adagrad', 'rmsprop', 'adam'] as const;
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number];

export interface OptimizerOptions {
  /** Base learning rate (alpha). */
  lr: number;
  /** Learning rate per update index (0-based); default constant `lr`. */
  schedule?: LrSchedule;
  /** Coupled L2: adds weightDecay * w to the gradient (eq. 30 with lambda = weightDecay / 2). */
  weightDecay?: number;
  /** Decoupled: w <- (1 - lr * decoupledWeightDecay) w before the update (AdamW style). */
  decoupledWeightDecay?: number;
  /** Which parameters decay (by dotted name); default all. */
  decayFilter?: (name: string) => boolean;
  /** momentum / nesterov: beta (default 0.9). */
  momentum?: number;
  /** adam: beta1 (default 0.9). */
  beta1?: number;
  /** adam: beta2 (default 0.999); rmsprop: rho (default 0.9). */
  beta2?: number;
  /** Default 1e-7 (Keras). */
  eps?: number;
}

/** Optimizer progress that is not a tensor, saved in the checkpoint's metadata. */
export interface OptimizerMeta {
  name: OptimizerName;
  step: number;
  /** momentum: the learning rate the velocity buffers are currently scaled by. */
  scaledLr: number | null;
}

const SLOT_NAMES: Record<UpdateRule, string[]> = {
  sgd: [],
  momentum: ['velocity'],
  nesterov: ['velocity'],
  adagrad: ['accumulator'],
  rmsprop: ['accumulator'],
  adam: ['m', 'v'],
};

function checkNum(name: string, v: number, lo: number, hi: number, loOpen = false, hiOpen = false): void {
  const okLo = loOpen ? v > lo : v >= lo;
  const okHi = hiOpen ? v < hi : v <= hi;
  if (!(okLo && okHi) || !Number.isFinite(v)) {
    throw new ArgumentError(`optimizer: ${name} must be in ${loOpen ? '(' : '['}${lo}, ${hi}${hiOpen ? ')' : ']'}, got ${v}`);
  }
}

export class Optimizer {
  /** Updates applied so far. */
  stepCount = 0;
  private scaledLr: number | null = null;
  private readonly state: Tensor[][];
  private readonly schedule: LrSchedule;
  readonly rule: UpdateRule;

  constructor(
    readonly name: OptimizerName,
    readonly params: readonly (readonly [string, Tensor])[],
    readonly opts: OptimizerOptions,
  ) {
    if (!OPTIMIZER_NAMES.includes(name)) throw new ArgumentError(`optimizer: unknown name '${name}' (expected ${OPTIMIZER_NAMES.join(', ')})`);
    checkNum('lr', opts.lr, 0, Infinity);
    checkNum('weightDecay', opts.weightDecay ?? 0, 0, Infinity);
    checkNum('decoupledWeightDecay', opts.decoupledWeightDecay ?? 0, 0, Infinity);
    checkNum('momentum', opts.momentum ?? 0.9, 0, 1, false, true);
    checkNum('beta1', opts.beta1 ?? 0.9, 0, 1, false, true);
    checkNum('beta2', opts.beta2 ?? (name === 'rmsprop' ? 0.9 : 0.999), 0, 1, false, true);
    checkNum('eps', opts.eps ?? 1e-7, 0, Infinity);
    this.rule = name;
    this.schedule = opts.schedule ?? constantSchedule(opts.lr);
    const names = new Set<string>();
    for (const [n] of params) {
      if (names.has(n)) throw new ArgumentError(`optimizer: parameter name '${n}' appears twice`);
      names.add(n);
    }
    this.state = params.map(([, p]) => Array.from({ length: stateSlots(this.rule) }, () => keep(zerosLike(p))));
  }

  /** The learning rate the next update will use. */
  get lr(): number {
    return this.schedule(this.stepCount);
  }

  /** Apply one update from `grads` (one per parameter, in order). */
  step(grads: readonly Tensor[]): void {
    if (grads.length !== this.params.length) {
      throw new ArgumentError(`optimizer.step: got ${grads.length} gradients for ${this.params.length} parameters`);
    }
    const lr = this.schedule(this.stepCount);
    checkNum('scheduled learning rate', lr, 0, Infinity);
    const o = this.opts;
    const momentum = o.momentum ?? 0.9;
    let kernelLr = lr;
    if (this.rule === 'momentum') {
      // eq. 9-10 on the kernel's form: lr' = a (1 - b), u = -a v (rescaled when a changes)
      kernelLr = lr * (1 - momentum);
      if (this.scaledLr !== null && this.scaledLr !== lr) this.rescaleVelocity(this.scaledLr === 0 ? 0 : lr / this.scaledLr);
      this.scaledLr = lr;
    }
    const t = this.stepCount + 1;
    this.params.forEach(([name, p], i) => {
      const gi = grads[i]!;
      if (!shapesEqual(gi.shape, p.shape)) {
        throw new ShapeError(`optimizer.step: gradient ${i} has shape ${fmtShape(gi.shape)} but parameter '${name}' has ${fmtShape(p.shape)}`);
      }
      const decays = o.decayFilter ? o.decayFilter(name) : true;
      const up: UpdateParams = {
        lr: kernelLr,
        momentum,
        beta1: o.beta1 ?? 0.9,
        beta2: o.beta2 ?? (this.rule === 'rmsprop' ? 0.9 : 0.999),
        eps: o.eps ?? 1e-7,
        step: t,
        weightDecay: decays ? (o.weightDecay ?? 0) : 0,
        // the kernel multiplies by (1 - lr * decoupledDecay) with its own lr: keep that factor 1 - a * wd
        decoupledDecay: decays && kernelLr > 0 ? ((o.decoupledWeightDecay ?? 0) * lr) / kernelLr : 0,
      };
      applyUpdate(this.rule, p, gi, this.state[i]!, up);
    });
    this.stepCount = t;
  }

  private rescaleVelocity(f: number): void {
    noGrad(() => {
      for (const [v] of this.state) {
        const s = mul(v!, f);
        assign(v!, s);
        s.dispose();
      }
    });
  }

  /** State buffers by `<param name>.<slot>` (slot: velocity, accumulator, m, v). */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    const slots = SLOT_NAMES[this.rule];
    this.params.forEach(([name], i) => slots.forEach((s, k) => (out[`${name}.${s}`] = this.state[i]![k]!)));
    return out;
  }

  meta(): OptimizerMeta {
    return { name: this.name, step: this.stepCount, scaledLr: this.scaledLr };
  }

  /** Restore from `stateDict()` / `meta()` of an optimizer of the same kind over the same parameters. */
  loadStateDict(sd: Record<string, Tensor>, meta: OptimizerMeta): void {
    if (meta.name !== this.name) throw new ArgumentError(`optimizer: checkpoint holds '${meta.name}' state, this optimizer is '${this.name}'`);
    const own = this.stateDict();
    const missing = Object.keys(own).filter((k) => !(k in sd));
    if (missing.length > 0) throw new ArgumentError(`optimizer: checkpoint lacks state ${missing.join(', ')}`);
    noGrad(() => {
      for (const [k, t] of Object.entries(own)) {
        const src = sd[k]!;
        if (!shapesEqual(src.shape, t.shape) || src.dtype !== t.dtype || src.device !== t.device) {
          throw new ShapeError(`optimizer: state '${k}' is ${src.dtype} ${fmtShape(src.shape)} on ${src.device}, expected ${t.dtype} ${fmtShape(t.shape)} on ${t.device}`);
        }
        const c = mul(src, 1);
        assign(t, c);
        c.dispose();
      }
    });
    this.stepCount = meta.step;
    this.scaledLr = meta.scaledLr;
  }

  dispose(): void {
    for (const s of this.state) for (const t of s) t.dispose();
  }
}

/** Plain SGD (eq. 8). */
export class SGD extends Optimizer {
  constructor(params: readonly (readonly [string, Tensor])[], o: OptimizerOptions) {
    super('sgd', params, o);
  }
}

/** SGD with momentum in the thesis's eq. 9-10 form. */
export class Momentum extends Optimizer {
  constructor(params: readonly (readonly [string, Tensor])[], o: OptimizerOptions) {
    super('momentum', params, o);
  }
}

export class Nesterov extends Optimizer {
  constructor(params: readonly (readonly [string, Tensor])[], o: OptimizerOptions) {
    super('nesterov', params, o);
  }
}

export class AdaGrad extends Optimizer {
  constructor(params: readonly (readonly [string, Tensor])[], o: OptimizerOptions) {
    super('adagrad', params, o);
  }
}

export class RMSprop extends Optimizer {
  constructor(params: readonly (readonly [string, Tensor])[], o: OptimizerOptions) {
    super('rmsprop', params, o);
  }
}

export class Adam extends Optimizer {
  constructor(params: readonly (readonly [string, Tensor])[], o: OptimizerOptions) {
    super('adam', params, o);
  }
}

export function isOptimizerName(n: string): n is OptimizerName {
  return (OPTIMIZER_NAMES as readonly string[]).includes(n);
}

/** An optimizer by name over named parameters (e.g. `model.namedParameters()`). */
export function createOptimizer(name: string, params: readonly (readonly [string, Tensor])[], o: OptimizerOptions): Optimizer {
  if (!isOptimizerName(name)) throw new ArgumentError(`optimizer: unknown name '${name}' (expected ${OPTIMIZER_NAMES.join(', ')})`);
  return new Optimizer(name, params, o);
}
