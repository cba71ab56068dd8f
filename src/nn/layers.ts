/**
 * Layers. Parameter names and layouts follow PyTorch (`weight` [out, in] or [outC, inC, kh, kw],
 * `bias`, batch norm `running_mean` / `running_var`) so a checkpoint loads into the equivalent
 * torch.nn model; initializers and batch-norm constants follow Keras, which the thesis used.
 */
import type { DeviceName } from '../backends/backend.js';
import type { FloatDType } from '../dtype.js';
import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { batchNorm, batchNormRelu } from '../ops/batchnorm.js';
import { conv2d, type Pair } from '../ops/conv.js';
import { full } from '../ops/creation.js';
import { add, leakyRelu, relu, sigmoid, tanh } from '../ops/elementwise.js';
import { flatten } from '../ops/layout.js';
import { matmulT } from '../ops/matmul.js';
import { avgPool2d, maxPool2d } from '../ops/pool.js';
import { dropout } from '../ops/random.js';
import type { Tensor } from '../tensor.js';
import { deriveSeed, initTensor, type InitName } from './init.js';
import { Module } from './module.js';

export interface ParamOptions {
  /** Seed of this layer's initializer (required for layers with random init, default 0). */
  seed?: number;
  dtype?: FloatDType;
  device?: DeviceName;
}

export interface DenseOptions extends ParamOptions {
  bias?: boolean;
  kernelInit?: InitName;
  biasInit?: InitName;
}

function positiveInt(op: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new ArgumentError(`${op}: ${name} must be a positive integer, got ${v}`);
}

/** y = x W^T + b, W [out, in]. Keras defaults: Glorot-uniform W, zero b. */
export class Linear extends Module {
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    o: DenseOptions = {},
  ) {
    super();
    positiveInt('Linear', 'inFeatures', inFeatures);
    positiveInt('Linear', 'outFeatures', outFeatures);
    const seed = o.seed ?? 0;
    const io = { dtype: o.dtype, device: o.device };
    this.addParameter('weight', initTensor(o.kernelInit ?? 'glorotUniform', [outFeatures, inFeatures], deriveSeed(seed, 0), io));
    if (o.bias !== false) this.addParameter('bias', initTensor(o.biasInit ?? 'zeros', [outFeatures], deriveSeed(seed, 1), io));
  }
  get weight(): Tensor {
    return this.param('weight');
  }
  get bias(): Tensor | null {
    return this.optionalParam('bias');
  }
  forward(x: Tensor): Tensor {
    if (x.rank !== 2 || x.shape[1] !== this.inFeatures) {
      throw new ShapeError(`Linear: expected input [N, ${this.inFeatures}], got ${fmtShape(x.shape)}`);
    }
    const y = matmulT(x, this.weight, false, true);
    const b = this.bias;
    return b ? add(y, b) : y;
  }
}

export interface Conv2dLayerOptions extends DenseOptions {
  stride?: Pair;
  /** 'valid' (Keras default, no padding), 'same' (stride 1), or explicit zero padding. */
  padding?: Pair | 'valid' | 'same';
}

/** 2-D convolution, weight [outC, inC, kh, kw]. Keras defaults: Glorot-uniform kernel, zero bias, valid padding. */
export class Conv2d extends Module {
  readonly stride: Pair;
  readonly padding: Pair | 'valid' | 'same';
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: Pair,
    o: Conv2dLayerOptions = {},
  ) {
    super();
    positiveInt('Conv2d', 'inChannels', inChannels);
    positiveInt('Conv2d', 'outChannels', outChannels);
    const [kh, kw] = typeof kernelSize === 'number' ? [kernelSize, kernelSize] : kernelSize;
    positiveInt('Conv2d', 'kernel height', kh);
    positiveInt('Conv2d', 'kernel width', kw);
    this.stride = o.stride ?? 1;
    this.padding = o.padding ?? 'valid';
    const seed = o.seed ?? 0;
    const io = { dtype: o.dtype, device: o.device };
    this.addParameter('weight', initTensor(o.kernelInit ?? 'glorotUniform', [outChannels, inChannels, kh, kw], deriveSeed(seed, 0), io));
    if (o.bias !== false) this.addParameter('bias', initTensor(o.biasInit ?? 'zeros', [outChannels], deriveSeed(seed, 1), io));
  }
  get weight(): Tensor {
    return this.param('weight');
  }
  get bias(): Tensor | null {
    return this.optionalParam('bias');
  }
  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding });
  }
}

export interface PoolLayerOptions {
  stride?: Pair;
  padding?: Pair;
}

export class MaxPool2d extends Module {
  constructor(
    readonly kernelSize: Pair,
    readonly o: PoolLayerOptions = {},
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return maxPool2d(x, { kernel: this.kernelSize, stride: this.o.stride, padding: this.o.padding });
  }
}

export class AvgPool2d extends Module {
  constructor(
    readonly kernelSize: Pair,
    readonly o: PoolLayerOptions = {},
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return avgPool2d(x, { kernel: this.kernelSize, stride: this.o.stride, padding: this.o.padding });
  }
}

export interface BatchNormLayerOptions {
  /** Keras momentum: running = momentum * running + (1 - momentum) * batch. Default 0.99. */
  momentum?: number;
  /** Default 1e-3 (Keras). */
  eps?: number;
  dtype?: FloatDType;
  device?: DeviceName;
}

/**
 * Batch normalization over the channel dim of [N, C, ...] (thesis eq. 20-25). Training uses batch
 * statistics and updates the running ones; eval uses the running ones. Keras constants (momentum
 * 0.99, eps 1e-3), passed to g.batchNorm in its PyTorch convention as momentum 1 - 0.99.
 */
class BatchNorm extends Module {
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
  readonly momentum: number;
  readonly eps: number;
  constructor(
    private readonly op: string,
    private readonly rank: number,
    readonly numFeatures: number,
    o: BatchNormLayerOptions,
  ) {
    super();
    positiveInt(op, 'numFeatures', numFeatures);
    this.momentum = o.momentum ?? 0.99;
    this.eps = o.eps ?? 1e-3;
    if (!(this.momentum >= 0 && this.momentum < 1)) throw new ArgumentError(`${op}: momentum must be in [0, 1), got ${this.momentum}`);
    const io = { dtype: o.dtype ?? 'float32', device: o.device };
    this.addParameter('weight', full([numFeatures], 1, io));
    this.addParameter('bias', full([numFeatures], 0, io));
    this.runningMean = this.addBuffer('running_mean', full([numFeatures], 0, io));
    this.runningVar = this.addBuffer('running_var', full([numFeatures], 1, io));
  }
  /** gamma */
  get weight(): Tensor {
    return this.param('weight');
  }
  /** beta */
  get bias(): Tensor {
    return this.param('bias');
  }
  forward(x: Tensor): Tensor {
    return this.run(x, batchNorm);
  }
  /** relu(forward(x)) as one op (g.batchNormRelu: the same values and gradients, fewer passes). */
  forwardRelu(x: Tensor): Tensor {
    return this.run(x, batchNormRelu);
  }
  private run(x: Tensor, op: typeof batchNorm): Tensor {
    if (x.rank !== this.rank || x.shape[1] !== this.numFeatures) {
      const want = this.rank === 4 ? `[N, ${this.numFeatures}, H, W]` : `[N, ${this.numFeatures}]`;
      throw new ShapeError(`${this.op}: expected input ${want}, got ${fmtShape(x.shape)}`);
    }
    return op(x, this.weight, this.bias, this.runningMean, this.runningVar, {
      training: this.training,
      momentum: 1 - this.momentum,
      eps: this.eps,
    });
  }
}

/** Batch norm for conv feature maps [N, C, H, W]. */
export class BatchNorm2d extends BatchNorm {
  constructor(numFeatures: number, o: BatchNormLayerOptions = {}) {
    super('BatchNorm2d', 4, numFeatures, o);
  }
}

/** Batch norm for dense features [N, C]. */
export class BatchNorm1d extends BatchNorm {
  constructor(numFeatures: number, o: BatchNormLayerOptions = {}) {
    super('BatchNorm1d', 2, numFeatures, o);
  }
}

/** Elements per dropout call reserved in the Philox stream, so masks of different steps never overlap. */
export const DROPOUT_STEP_STRIDE = 2 ** 26;

/**
 * Inverted dropout with a seeded mask: (seed, stream) identify the layer, and the offset advances
 * with the training step (`setRandomStep`), so a run is reproducible and resumable.
 */
export class Dropout extends Module {
  /** Set by the training loop before each step; selects this step's mask. */
  step = 0;
  constructor(
    readonly p: number,
    readonly o: { seed?: number; stream?: number } = {},
  ) {
    super();
    if (!(p >= 0 && p < 1)) throw new ArgumentError(`Dropout: p must be in [0, 1), got ${p}`);
  }
  forward(x: Tensor): Tensor {
    if (x.size > DROPOUT_STEP_STRIDE) throw new ShapeError(`Dropout: input ${fmtShape(x.shape)} is larger than ${DROPOUT_STEP_STRIDE} elements`);
    return dropout(x, this.p, {
      training: this.training,
      seed: this.o.seed ?? 0,
      stream: this.o.stream ?? 0,
      offset: this.step * DROPOUT_STEP_STRIDE,
    });
  }
}

/** Point every Dropout in `m` at the masks of training step `step`. */
export function setRandomStep(m: Module, step: number): void {
  for (const [, sub] of m.namedModules()) if (sub instanceof Dropout) sub.step = step;
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

/** max(x, alpha x); alpha defaults to Keras's 0.3. */
export class LeakyReLU extends Module {
  constructor(readonly alpha = 0.3) {
    super();
  }
  forward(x: Tensor): Tensor {
    return leakyRelu(x, this.alpha);
  }
}

export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return tanh(x);
  }
}

export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return sigmoid(x);
  }
}

/** [N, ...] -> [N, prod(...)] (NCHW order, as PyTorch's nn.Flatten). */
export class Flatten extends Module {
  forward(x: Tensor): Tensor {
    return flatten(x, 1);
  }
}

/** Runs its children in order. Children are named by the record's keys, or '0', '1', ... for an array. */
export class Sequential extends Module {
  private readonly layers: Module[];
  constructor(layers: Module[] | Record<string, Module>) {
    super();
    const entries = Array.isArray(layers) ? layers.map((m, i) => [String(i), m] as const) : Object.entries(layers);
    this.layers = entries.map(([n, m]) => this.addModule(n, m));
  }
  get length(): number {
    return this.layers.length;
  }
  at(i: number): Module {
    const m = this.layers[i];
    if (!m) throw new ArgumentError(`Sequential: no layer ${i} (it has ${this.layers.length})`);
    return m;
  }
  forward(x: Tensor): Tensor {
    let h = x;
    for (const m of this.layers) h = m.forward(h);
    return h;
  }
}

export interface BasicBlockOptions extends ParamOptions {
  stride?: number;
  kernelInit?: InitName;
  bnMomentum?: number;
  bnEps?: number;
  /**
   * Batch norm after the 1x1 projection shortcut (He et al.'s option B as in torchvision). Default
   * false: Keras's resnet_v1, the thesis's implementation, projects with a plain strided 1x1 conv
   * (`batch_normalization=False`), as does the PyTorch anchor.
   */
  shortcutBatchNorm?: boolean;
}

/**
 * The residual basic block (He et al. 2016; Keras's resnet_v1 layer pair):
 *   out = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))
 * with 3x3 convs (the first strided), and shortcut = x, or a strided 1x1 conv (plus batch norm with
 * `shortcutBatchNorm`) when the shape changes. Convs carry no bias: batch norm's beta replaces it,
 * and the projection is bias-free like the anchor's.
 */
export class BasicBlock extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly shortcut: Sequential | null;
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    o: BasicBlockOptions = {},
  ) {
    super();
    const stride = o.stride ?? 1;
    positiveInt('BasicBlock', 'stride', stride);
    const seed = o.seed ?? 0;
    const io = { dtype: o.dtype, device: o.device };
    const bn = { ...io, momentum: o.bnMomentum, eps: o.bnEps };
    const conv = { ...io, bias: false, kernelInit: o.kernelInit };
    this.conv1 = this.addModule('conv1', new Conv2d(inChannels, outChannels, 3, { ...conv, stride, padding: 1, seed: deriveSeed(seed, 0) }));
    this.bn1 = this.addModule('bn1', new BatchNorm2d(outChannels, bn));
    this.conv2 = this.addModule('conv2', new Conv2d(outChannels, outChannels, 3, { ...conv, padding: 1, seed: deriveSeed(seed, 1) }));
    this.bn2 = this.addModule('bn2', new BatchNorm2d(outChannels, bn));
    this.shortcut =
      stride === 1 && inChannels === outChannels
        ? null
        : this.addModule(
            'shortcut',
            new Sequential([
              new Conv2d(inChannels, outChannels, 1, { ...conv, stride, seed: deriveSeed(seed, 2) }),
              ...(o.shortcutBatchNorm ? [new BatchNorm2d(outChannels, bn)] : []),
            ]),
          );
  }
  forward(x: Tensor): Tensor {
    const h = this.bn1.forwardRelu(this.conv1.forward(x));
    const y = this.bn2.forward(this.conv2.forward(h));
    return relu(add(y, this.shortcut ? this.shortcut.forward(x) : x));
  }
}
