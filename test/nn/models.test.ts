import { describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import { createModel } from '../../src/nn/index.js';

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
