/**
 * Models the protocol needs beyond nn's createModel: LeNet-5 with batch normalization (the
 * replication report's c2 "Batchnorm" row) and the small MLP of the sin(5x) figure.
 */
import { createModel, deriveSeed, Sequential, Conv2d, BatchNorm2d, BatchNorm1d, ReLU, MaxPool2d, Flatten, Linear, Tanh, Dropout, type Module } from '../nn/index.js';
import { ArgumentError } from '../errors.js';

export const EXPERIMENT_MODELS = ['small', 'resnet', 'lenet5', 'lenet5-bn'] as const;

export interface BuildOptions {
  inputShape: readonly [number, number, number];
  classes: number;
  seed: number;
  dropout?: number;
}

/**
 * LeNet-5 as nn's lenet5, with batch norm after each conv and after F6 (before the ReLU); the
 * convs and F6 lose their bias, which the norm's shift replaces.
 */
function lenet5Bn(o: BuildOptions): Module {
  const [c, h, w] = o.inputShape;
  const s = (i: number): number => deriveSeed(o.seed, i);
  const pad = h < 32 && w < 32 && h === w && (32 - h) % 2 === 0 ? (32 - h) / 2 : 0;
  const out = (size: number, k: number, p: number): number => size + 2 * p - k + 1;
  const hh = out(Math.floor(out(Math.floor(out(h, 5, pad) / 2), 5, 0) / 2), 5, 0);
  const ww = out(Math.floor(out(Math.floor(out(w, 5, pad) / 2), 5, 0) / 2), 5, 0);
  if (hh < 1 || ww < 1) throw new ArgumentError(`lenet5-bn: input ${o.inputShape.join('x')} is too small`);
  return new Sequential({
    conv1: new Conv2d(c, 6, 5, { padding: pad, bias: false, seed: s(0) }),
    bn1: new BatchNorm2d(6),
    // ReLU after the max-pool: the same function and gradients (nn/models.ts, 'Pool before ReLU').
    pool1: new MaxPool2d(2),
    relu1: new ReLU(),
    conv2: new Conv2d(6, 16, 5, { bias: false, seed: s(1) }),
    bn2: new BatchNorm2d(16),
    pool2: new MaxPool2d(2),
    relu2: new ReLU(),
    conv3: new Conv2d(16, 120, 5, { bias: false, seed: s(2) }),
    bn3: new BatchNorm2d(120),
    relu3: new ReLU(),
    flatten: new Flatten(),
    fc1: new Linear(120 * hh * ww, 84, { bias: false, seed: s(3) }),
    bn4: new BatchNorm1d(84),
    relu4: new ReLU(),
    dropout: new Dropout(o.dropout ?? 0, { seed: s(5), stream: 0 }),
    fc2: new Linear(84, o.classes, { seed: s(4) }),
  });
}

/** Models that take a dropout rate: lenet5's own layer after F6, or one inserted before the logits layer. */
const DROPOUT_MODELS = ['small', 'lenet5', 'lenet5-bn'];

/** Null when `model` takes a dropout rate, else why not (checked before any run of a plan starts). */
export function dropoutPlace(model: string): string | null {
  return DROPOUT_MODELS.includes(model) ? null : `has no place for dropout (only ${DROPOUT_MODELS.join(', ')} take it)`;
}

/** The same layers with dropout inserted before the last one (the logits layer). */
function withHeadDropout(m: Module, p: number, seed: number, name: string): Module {
  const why = dropoutPlace(name);
  if (why !== null || !(m instanceof Sequential)) throw new ArgumentError(`dropout: the ${name} model ${why ?? 'is not sequential'}`);
  const kids = m.namedChildren();
  const head = kids[kids.length - 1]!;
  return new Sequential(Object.fromEntries([...kids.slice(0, -1), ['dropout', new Dropout(p, { seed: deriveSeed(seed, 6), stream: 0 })], head]));
}

/**
 * A model by name. `dropout` is the rate after the dense hidden layer for lenet5 (which has that
 * layer built in); for the small model a dropout layer is inserted before the logits layer.
 */
export function buildModel(name: string, o: BuildOptions): Module {
  if (name === 'lenet5-bn') return lenet5Bn(o);
  if (name === 'lenet5') return createModel(name, { inputShape: o.inputShape, classes: o.classes, seed: o.seed, dropout: o.dropout });
  const m = createModel(name, { inputShape: o.inputShape, classes: o.classes, seed: o.seed });
  return o.dropout ? withHeadDropout(m, o.dropout, o.seed, name) : m;
}

/** 1 -> hidden... -> 1 with tanh (smooth, so the learned function's slope is well defined everywhere). */
export function sinMlp(hidden: readonly number[], seed: number): Module {
  const layers: Module[] = [];
  let width = 1;
  hidden.forEach((hid, i) => {
    layers.push(new Linear(width, hid, { seed: deriveSeed(seed, i) }), new Tanh());
    width = hid;
  });
  layers.push(new Linear(width, 1, { seed: deriveSeed(seed, hidden.length) }));
  return new Sequential(layers);
}
