/**
 * Regularizers as training objectives: loss = data loss + lambda * penalty (+ weight decay), with
 * the parts returned as terms for logging. The penalty and the data loss share one forward pass.
 */
import * as g from '../api.js';
import type { Tensor } from '../api.js';
import {
  confidencePenalty, crossEntropyRows, doubleBackprop, frobReg, hsfob, hsfobDb1, hsfobDb2, jacReg, noisyLogits, spectReg,
  type PenaltyValue,
} from './penalties.js';
import type { DrawSource, LogitsFn, LossRows, Objective, ObjectiveContext, ObjectiveResult, PullMode } from './types.js';

export const REGULARIZERS = ['baseline', 'db', 'jac', 'fob', 'spectreg', 'ni', 'hsfob', 'hsfob-db1', 'hsfob-db2', 'cp'] as const;
export type RegularizerName = (typeof REGULARIZERS)[number];

/** Penalties with an exact form that takes C pullbacks, and so a 'loop' / 'batched' choice and an estimator. */
export const JACOBIAN_PENALTIES: readonly RegularizerName[] = ['jac', 'fob', 'hsfob', 'hsfob-db1', 'hsfob-db2'];

export interface RegularizerSpec {
  name: RegularizerName;
  /** Strength; for 'ni' the noise standard deviation. Ignored by 'baseline'. */
  lambda: number;
  /** How C (or k) cotangents are pushed back: C separate vjps, or one pass on the replicated batch. */
  mode?: PullMode;
  /** Use a k-projection stochastic estimate (jac, fob, hsfob*) / the number of projections (spectreg). */
  projections?: number;
  /** SpectReg on the unit sphere. */
  spherical?: boolean;
  /** L2 weight decay: adds (wd / 2) sum ||theta||^2, so the gradient gains wd * theta. */
  weightDecay?: number;
}

export interface ObjectiveOptions {
  /** Number of classes (logit width). */
  classes: number;
  /** Run seed: keys the noise and projection draws (with the step as counter offset). */
  seed: number;
  /** Per-sample data loss (default cross-entropy); the Hessian-scaled penalties assume cross-entropy. */
  lossRows?: LossRows;
  /** Name of the data-loss term (default 'ce'). */
  lossName?: string;
}

export function isRegularizer(name: string): name is RegularizerName {
  return (REGULARIZERS as readonly string[]).includes(name);
}

/** "name[/loop|/batched][/k=K][/sph]" -> spec. */
export function parseRegularizer(text: string, lambda = 0): RegularizerSpec {
  const [name, ...mods] = text.trim().split('/');
  if (!name || !isRegularizer(name)) {
    throw new g.ArgumentError(`regularizer: unknown '${text}' (known: ${REGULARIZERS.join(', ')}; modifiers /loop, /batched, /k=K, /sph)`);
  }
  const spec: RegularizerSpec = { name, lambda };
  for (const m of mods) {
    if (m === 'loop' || m === 'batched') spec.mode = m;
    else if (m === 'sph') spec.spherical = true;
    else if (/^k=\d+$/.test(m)) spec.projections = Number(m.slice(2));
    else throw new g.ArgumentError(`regularizer: unknown modifier '/${m}' in '${text}' (known: /loop, /batched, /k=K, /sph)`);
  }
  validateSpec(spec);
  return spec;
}

/** The spec's name with its modifiers, the inverse of parseRegularizer (lambda aside). */
export function formatRegularizer(spec: RegularizerSpec): string {
  let s: string = spec.name;
  if (spec.mode) s += `/${spec.mode}`;
  if (spec.projections !== undefined) s += `/k=${spec.projections}`;
  if (spec.spherical) s += '/sph';
  return s;
}

export function validateSpec(spec: RegularizerSpec): void {
  const where = `regularizer '${formatRegularizer(spec)}'`;
  if (!isRegularizer(spec.name)) throw new g.ArgumentError(`${where}: unknown name`);
  if (!(spec.lambda >= 0) || !Number.isFinite(spec.lambda)) throw new g.ArgumentError(`${where}: lambda must be a finite number >= 0, got ${spec.lambda}`);
  const pulls = JACOBIAN_PENALTIES.includes(spec.name) || spec.name === 'spectreg';
  if (spec.mode && !pulls) throw new g.ArgumentError(`${where}: /${spec.mode} applies only to ${[...JACOBIAN_PENALTIES, 'spectreg'].join(', ')}`);
  if (spec.projections !== undefined) {
    if (!pulls) throw new g.ArgumentError(`${where}: /k applies only to ${[...JACOBIAN_PENALTIES, 'spectreg'].join(', ')}`);
    if (!Number.isInteger(spec.projections) || spec.projections < 1) throw new g.ArgumentError(`${where}: k must be a positive integer`);
    if (spec.name === 'hsfob-db2' && spec.projections < 2) throw new g.ArgumentError(`${where}: the squared-trace estimate needs k >= 2`);
  }
  if (spec.spherical && spec.name !== 'spectreg') throw new g.ArgumentError(`${where}: /sph applies only to spectreg`);
  if (spec.weightDecay !== undefined && !(spec.weightDecay >= 0)) throw new g.ArgumentError(`${where}: weightDecay must be >= 0`);
}

/** The penalty of `spec` on f at (x, y), with the forward it ran. Null for baseline and ni. */
export function penaltyOf(spec: RegularizerSpec, f: LogitsFn, x: Tensor, y: Tensor, classes: number, draw: DrawSource, lossRows?: LossRows): PenaltyValue | null {
  const jo = { classes, mode: spec.mode, projections: spec.projections, draw };
  switch (spec.name) {
    case 'baseline':
    case 'ni':
      return null;
    case 'db':
      return doubleBackprop(f, x, y, lossRows);
    case 'jac':
      return jacReg(f, x, jo);
    case 'fob':
      return frobReg(f, x, jo);
    case 'spectreg':
      return spectReg(f, x, { projections: spec.projections, spherical: spec.spherical, mode: spec.mode, draw });
    case 'hsfob':
      return hsfob(f, x, jo);
    case 'hsfob-db1':
      return hsfobDb1(f, x, y, jo);
    case 'hsfob-db2':
      return hsfobDb2(f, x, y, jo);
    case 'cp':
      return confidencePenalty(f, x);
  }
}

function weightTerm(params: readonly Tensor[], wd: number): Tensor {
  let s: Tensor | null = null;
  for (const p of params) {
    const t = g.sum(g.square(p));
    s = s ? g.add(s, t) : t;
  }
  if (!s) throw new g.ArgumentError('weightDecay: the model has no parameters');
  return g.mul(s, wd / 2);
}

/** An Objective for the training loop: data loss + lambda * penalty (+ weight decay). */
export function makeObjective(spec: RegularizerSpec, o: ObjectiveOptions): Objective {
  validateSpec(spec);
  const rowsOf = o.lossRows ?? crossEntropyRows;
  const lossName = o.lossName ?? 'ce';
  if (o.lossRows && ['hsfob', 'hsfob-db1', 'hsfob-db2', 'jac', 'cp'].includes(spec.name)) {
    throw new g.ArgumentError(`regularizer '${spec.name}': defined through the softmax of cross-entropy; it cannot take a custom data loss`);
  }
  return (ctx: ObjectiveContext): ObjectiveResult => {
    const f: LogitsFn = (x) => ctx.model.forward(x);
    const draw: DrawSource = { seed: o.seed, step: ctx.step };
    const terms: Record<string, Tensor> = {};
    let loss: Tensor;
    let logits: Tensor | undefined;
    if (!ctx.training || spec.name === 'baseline') {
      logits = f(ctx.x);
      loss = g.mean(rowsOf(logits, ctx.y));
      terms[lossName] = loss;
    } else if (spec.name === 'ni') {
      loss = g.mean(rowsOf(noisyLogits(f, ctx.x, spec.lambda, draw), ctx.y));
      terms[lossName] = loss;
    } else {
      const v = penaltyOf(spec, f, ctx.x, ctx.y, o.classes, draw, o.lossRows)!;
      logits = v.logits;
      const data = g.mean(v.rows ?? rowsOf(v.logits, ctx.y));
      terms[lossName] = data;
      terms[spec.name] = v.penalty;
      loss = g.add(data, g.mul(v.penalty, spec.lambda));
    }
    if (ctx.training && spec.weightDecay) {
      const w = weightTerm(ctx.model.parameters(), spec.weightDecay);
      terms.wd = w;
      loss = g.add(loss, w);
    }
    return logits ? { loss, terms, logits } : { loss, terms };
  };
}
