/**
 * The papers' models. Layer tables and parameter counts: docs/models.md.
 *
 * - `small`: the thesis's small model (section 7.1.1): three valid 3x3 convs with 32, 64, 64
 *   filters and ReLU, 2x2 max-pools after the first two, dense 64 + ReLU, dense logits.
 * - `resnet`: the thesis's CIFAR-10 ResNet (section 7.1.2), in the form of Keras's resnet_v1:
 *   a 3x3/16 conv stem with batch norm and ReLU, three stages of residual basic blocks with 16, 32
 *   (stride 2) and 64 (stride 2) filters, average pooling over the final 8x8 map, dense logits.
 *   The thesis lists one shortcut connection per stage, so the default is one block per stage
 *   (6n + 2 = 8 weighted layers, n = 1); `blocksPerStage: 3` gives ResNet-20.
 * - `lenet5`: LeNet-5 (LeCun et al. 1998) as in the replication report: C1 6@5x5, 2x2 max-pool,
 *   C3 16@5x5, 2x2 max-pool, C5 120@5x5, F6 84, logits, ReLU activations and dropout after the dense
 *   hidden layer F6. 28x28 inputs are zero-padded by 2 in C1, as LeCun padded MNIST to 32x32.
 * Logits are returned; the softmax is part of the cross-entropy loss.
 */
import type { DeviceName } from '../backends/backend.js';
import type { FloatDType } from '../dtype.js';
import { ArgumentError, ShapeError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { deriveSeed } from './init.js';
import { AvgPool2d, BasicBlock, BatchNorm2d, Conv2d, Dropout, Flatten, Linear, MaxPool2d, ReLU, Sequential } from './layers.js';
import { Module } from './module.js';

export const MODEL_NAMES = ['small', 'resnet', 'lenet5'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

export interface ModelOptions {
  /** [C, H, W] of one input image. */
  inputShape: readonly [number, number, number];
  classes: number;
  seed: number;
  dtype?: FloatDType;
  device?: DeviceName;
  /** lenet5: dropout rate after F6 (default 0.5; 0 for the replication report's no-dropout baseline). */
  dropout?: number;
  /** resnet: residual blocks per stage (default 1, the thesis's architecture). */
  blocksPerStage?: number;
  /** resnet: batch norm after the projection shortcuts (default false, as Keras's resnet_v1). */
  shortcutBatchNorm?: boolean;
}

/*
 * Pool before ReLU. Where a ReLU precedes a max-pool (the small model, LeNet-5), the models pool first and apply the
 * ReLU to the pooled map. Max-pooling commutes with any non-decreasing function applied elementwise,
 * so relu(maxpool(x)) = max(max_window x, 0) = maxpool(relu(x)) exactly, value for value. The
 * gradients agree too: both send the window's gradient to the window's first maximum of x when that
 * maximum is positive and nowhere otherwise (a window of non-positive values has ReLU slope 0), and
 * the second derivatives of both are zero almost everywhere, so double backprop through either
 * order is the same map. The pooled map is a quarter of the size, so the ReLU and its backward
 * (a `where` over the whole activation, twice per cotangent in an exact Jacobian penalty) do a
 * quarter of the work. test/nn/models.test.ts checks outputs and first- and second-order
 * gradients against the conv -> ReLU -> pool order bit for bit.
 */

function convOut(op: string, size: number, k: number, stride: number, pad: number): number {
  const o = Math.floor((size + 2 * pad - k) / stride) + 1;
  if (o < 1) throw new ShapeError(`${op}: input too small (a ${k}x${k} window does not fit ${size} pixels)`);
  return o;
}

function smallModel(o: ModelOptions): Module {
  const [c, h, w] = o.inputShape;
  const io = { dtype: o.dtype, device: o.device };
  const s = (i: number): number => deriveSeed(o.seed, i);
  let hh = Math.floor(convOut('small', h, 3, 1, 0) / 2);
  let ww = Math.floor(convOut('small', w, 3, 1, 0) / 2);
  hh = Math.floor(convOut('small', hh, 3, 1, 0) / 2);
  ww = Math.floor(convOut('small', ww, 3, 1, 0) / 2);
  hh = convOut('small', hh, 3, 1, 0);
  ww = convOut('small', ww, 3, 1, 0);
  return new Sequential({
    // ReLU after the max-pool ('Pool before ReLU' above): the same function and gradients as the
    // thesis's conv -> ReLU -> pool, with a quarter of the ReLU work.
    conv1: new Conv2d(c, 32, 3, { ...io, seed: s(0) }),
    pool1: new MaxPool2d(2),
    relu1: new ReLU(),
    conv2: new Conv2d(32, 64, 3, { ...io, seed: s(1) }),
    pool2: new MaxPool2d(2),
    relu2: new ReLU(),
    conv3: new Conv2d(64, 64, 3, { ...io, seed: s(2) }),
    relu3: new ReLU(),
    flatten: new Flatten(),
    fc1: new Linear(64 * hh * ww, 64, { ...io, seed: s(3) }),
    relu4: new ReLU(),
    fc2: new Linear(64, o.classes, { ...io, seed: s(4) }),
  });
}

/** The thesis ResNet: stem, three stages of basic blocks, average pool over the final map, dense logits. */
export class ResNet extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly layer1: Sequential;
  readonly layer2: Sequential;
  readonly layer3: Sequential;
  readonly pool: AvgPool2d;
  readonly flatten: Flatten;
  readonly fc: Linear;
  constructor(o: ModelOptions) {
    super();
    const [c, h, w] = o.inputShape;
    const n = o.blocksPerStage ?? 1;
    if (!Number.isInteger(n) || n < 1) throw new ArgumentError(`resnet: blocksPerStage must be a positive integer, got ${n}`);
    const io = { dtype: o.dtype, device: o.device };
    this.conv1 = this.addModule('conv1', new Conv2d(c, 16, 3, { ...io, padding: 1, bias: false, seed: deriveSeed(o.seed, 0) }));
    this.bn1 = this.addModule('bn1', new BatchNorm2d(16, io));
    const stage = (k: number, inC: number, outC: number, stride: number): Sequential =>
      new Sequential(
        Array.from({ length: n }, (_, i) =>
          new BasicBlock(i === 0 ? inC : outC, outC, {
            ...io, stride: i === 0 ? stride : 1, seed: deriveSeed(o.seed, k, i), shortcutBatchNorm: o.shortcutBatchNorm,
          }),
        ),
      );
    this.layer1 = this.addModule('layer1', stage(1, 16, 16, 1));
    this.layer2 = this.addModule('layer2', stage(2, 16, 32, 2));
    this.layer3 = this.addModule('layer3', stage(3, 32, 64, 2));
    // Spatial size after the two stride-2 stages (8x8 for CIFAR's 32x32): pool over all of it.
    const fh = convOut('resnet', convOut('resnet', h, 3, 2, 1), 3, 2, 1);
    const fw = convOut('resnet', convOut('resnet', w, 3, 2, 1), 3, 2, 1);
    this.pool = this.addModule('pool', new AvgPool2d([fh, fw]));
    this.flatten = this.addModule('flatten', new Flatten());
    this.fc = this.addModule('fc', new Linear(64, o.classes, { ...io, seed: deriveSeed(o.seed, 4) }));
  }
  forward(x: Tensor): Tensor {
    let h = this.bn1.forwardRelu(this.conv1.forward(x));
    h = this.layer3.forward(this.layer2.forward(this.layer1.forward(h)));
    return this.fc.forward(this.flatten.forward(this.pool.forward(h)));
  }
}

function lenet5(o: ModelOptions): Module {
  const [c, h, w] = o.inputShape;
  const io = { dtype: o.dtype, device: o.device };
  const s = (i: number): number => deriveSeed(o.seed, i);
  const pad = h < 32 && w < 32 && h === w && (32 - h) % 2 === 0 ? (32 - h) / 2 : 0;
  let hh = Math.floor(convOut('lenet5', h, 5, 1, pad) / 2);
  let ww = Math.floor(convOut('lenet5', w, 5, 1, pad) / 2);
  hh = Math.floor(convOut('lenet5', hh, 5, 1, 0) / 2);
  ww = Math.floor(convOut('lenet5', ww, 5, 1, 0) / 2);
  hh = convOut('lenet5', hh, 5, 1, 0);
  ww = convOut('lenet5', ww, 5, 1, 0);
  const p = o.dropout ?? 0.5;
  return new Sequential({
    // ReLU after the max-pool, as in the small model ('Pool before ReLU' above).
    conv1: new Conv2d(c, 6, 5, { ...io, padding: pad, seed: s(0) }),
    pool1: new MaxPool2d(2),
    relu1: new ReLU(),
    conv2: new Conv2d(6, 16, 5, { ...io, seed: s(1) }),
    pool2: new MaxPool2d(2),
    relu2: new ReLU(),
    conv3: new Conv2d(16, 120, 5, { ...io, seed: s(2) }),
    relu3: new ReLU(),
    flatten: new Flatten(),
    fc1: new Linear(120 * hh * ww, 84, { ...io, seed: s(3) }),
    relu4: new ReLU(),
    dropout: new Dropout(p, { seed: s(5), stream: 0 }),
    fc2: new Linear(84, o.classes, { ...io, seed: s(4) }),
  });
}

export function isModelName(name: string): name is ModelName {
  return (MODEL_NAMES as readonly string[]).includes(name);
}

/** Build one of the papers' models with seeded initialization. */
export function createModel(name: string, o: ModelOptions): Module {
  if (!Number.isInteger(o.classes) || o.classes < 2) throw new ArgumentError(`createModel: classes must be an integer >= 2, got ${o.classes}`);
  if (o.inputShape.length !== 3 || o.inputShape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new ArgumentError(`createModel: inputShape must be [C, H, W] of positive integers, got [${o.inputShape.join(',')}]`);
  }
  switch (name) {
    case 'small':
      return smallModel(o);
    case 'resnet':
      return new ResNet(o);
    case 'lenet5':
      return lenet5(o);
    default:
      throw new ArgumentError(`createModel: unknown model '${name}' (expected ${MODEL_NAMES.join(', ')})`);
  }
}
