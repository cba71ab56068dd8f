import { describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import { createModel, MaxPool2d, ReLU, Sequential } from '../../src/nn/index.js';
import { frobReg } from '../../src/regularizers/index.js';
import { registerDefaultBackends } from '../../src/backends/registry.js';

registerDefaultBackends();

describe('the papers\' models', () => {
  // Counts derived by hand in docs/models.md.
  it.each([
    ['small', [1, 28, 28], 93322],
    ['small', [3, 32, 32], 122570],
    ['lenet5', [1, 28, 28], 61706],
    ['lenet5', [3, 32, 32], 62006],
    ['resnet', [3, 32, 32], 77850],
  ] as const)('%s on %j has %i parameters', (name, shape, count) => {
    const m = createModel(name, { inputShape: shape, classes: 10, seed: 0 });
    expect(m.numParameters()).toBe(count);
  });

  it('ResNet-20 (3 blocks per stage) has the 0.27M parameters of He et al. (plus batch norm)', () => {
    const m = createModel('resnet', { inputShape: [3, 32, 32], classes: 10, seed: 0, blocksPerStage: 3 });
    expect(m.numParameters()).toBe(272282);
  });

  it('projection shortcuts are plain 1x1 convs (Keras resnet_v1); shortcutBatchNorm adds batch norm (option B)', () => {
    const plain = createModel('resnet', { inputShape: [3, 32, 32], classes: 10, seed: 0 });
    const withBn = createModel('resnet', { inputShape: [3, 32, 32], classes: 10, seed: 0, shortcutBatchNorm: true });
    expect(withBn.numParameters() - plain.numParameters()).toBe(2 * 32 + 2 * 64);
    const names = (m: typeof plain): string[] => m.namedParameters().map(([k]) => k).filter((k) => k.includes('shortcut'));
    expect(names(plain)).toEqual(['layer2.0.shortcut.0.weight', 'layer3.0.shortcut.0.weight']);
    expect(names(withBn)).toContain('layer2.0.shortcut.1.weight');
    const y = g.tidy(() => withBn.eval().forward(g.zeros([2, 3, 32, 32])));
    expect(y.shape).toEqual([2, 10]);
  });

  it('produce [N, classes] logits', () => {
    for (const [name, shape] of [['small', [1, 28, 28]], ['lenet5', [1, 28, 28]], ['resnet', [3, 32, 32]]] as const) {
      const m = createModel(name, { inputShape: shape, classes: 10, seed: 0 }).eval();
      const y = g.tidy(() => m.forward(g.zeros([2, ...shape])));
      expect(y.shape).toEqual([2, 10]);
    }
  });

  it('the seed fixes the weights', () => {
    const w = (seed: number): number[] =>
      createModel('small', { inputShape: [1, 28, 28], classes: 10, seed })
        .parameters()
        .flatMap((p) => Array.from(p.dataSync().slice(0, 3)));
    expect(w(3)).toEqual(w(3));
    expect(w(3)).not.toEqual(w(4));
  });

  it('rejects unknown names and bad shapes', () => {
    expect(() => createModel('vgg', { inputShape: [1, 28, 28], classes: 10, seed: 0 })).toThrow(/unknown model 'vgg'/);
    expect(() => createModel('small', { inputShape: [1, 6, 6], classes: 10, seed: 0 })).toThrow(g.ShapeError);
  });
});

describe('pool before ReLU (src/nn/models.ts)', () => {
  // The thesis's order conv -> ReLU -> max-pool, rebuilt from the model's own layers.
  function thesisOrder(m: Sequential): (x: g.Tensor) => g.Tensor {
    const layers = Array.from({ length: m.length }, (_, i) => m.at(i));
    for (let i = 0; i + 1 < layers.length; i++) {
      if (layers[i] instanceof MaxPool2d && layers[i + 1] instanceof ReLU) [layers[i], layers[i + 1]] = [layers[i + 1]!, layers[i]!];
    }
    expect(layers.map((l) => l.constructor.name)).not.toEqual(Array.from({ length: m.length }, (_, i) => m.at(i).constructor.name));
    return (x) => layers.reduce((h, l) => l.forward(h), x);
  }

  it.each([
    ['small', 'cpu', 'float64'],
    ['lenet5', 'cpu', 'float64'],
    ['small', 'native', 'float32'],
    ['lenet5', 'native', 'float32'],
  ] as const)('%s on %s (%s): logits, CE gradients and FrobReg (double backprop) gradients equal the conv -> ReLU -> pool order bit for bit', async (name, device, dtype) => {
    await g.initBackend(device);
    const m = createModel(name, { inputShape: [1, 28, 28], classes: 10, seed: 5, dtype, device, dropout: 0 }) as Sequential;
    expect(m).toBeInstanceOf(Sequential);
    const ref = thesisOrder(m);
    // Negative pixels too, so that some pooling windows hold no positive pre-activation.
    const x = g.sub(g.rand([4, 1, 28, 28], { seed: 9, dtype, device }), 0.6);
    const y = g.tensor([1, 7, 3, 0], [4], { dtype: 'int32', device });
    const params = m.parameters();
    const run = (f: (x: g.Tensor) => g.Tensor): number[][] =>
      g.tidy(() => {
        const z = f(x);
        const ce = g.crossEntropy(z, y);
        const gce = g.grad(ce, params);
        const pen = frobReg(f, x, { classes: 10, mode: 'loop' }).penalty;
        const gpen = g.grad(pen, params, { allowUnused: true });
        return [z, pen, ...gce, ...gpen].map((t) => Array.from(t.dataSync()));
      });
    const ours = run((t) => m.forward(t));
    const theirs = run(ref);
    expect(ours.length).toBe(2 + 2 * params.length);
    // Some gradient entries are nonzero (the comparison is not between zeros).
    expect(ours[2 + params.length]!.some((v) => v !== 0)).toBe(true);
    for (let i = 0; i < ours.length; i++) expect(ours[i]).toEqual(theirs[i]);
  });
});
