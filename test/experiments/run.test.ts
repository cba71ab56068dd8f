/** Real runs through the training stack, at toy size: the protocol's plumbing end to end. */
import { describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import type { ImageRunConfig, SinRunConfig } from '../../src/experiments/config.js';
import { loadCached, splitPerClass } from '../../src/experiments/data.js';
import { robustness } from '../../src/experiments/metrics.js';
import { buildModel } from '../../src/experiments/models.js';
import { runImage, runSin } from '../../src/experiments/run.js';
import { makeObjective } from '../../src/regularizers/index.js';
import type { Objective } from '../../src/train/index.js';

const base: ImageRunConfig = {
  kind: 'image', dataset: 'mnist', model: 'small', perClass: 2, regularizer: 'hsfob/k=2', lambda: 0.01, seed: 3, epochs: 1, batch: 10,
  optimizer: 'adam', lr: 0.001, schedule: 'constant', weightDecay: 0, dropout: null, augment: false, validation: 1, testPoints: 40,
  robustPoints: 20, fgsmEps: [0, 0.1],
};

describe('the protocol on real data (toy sizes)', () => {
  it('the regularizers plug into the trainer as its Objective type', () => {
    const o: Objective = makeObjective({ name: 'jac', lambda: 1 }, { classes: 10, seed: 0 });
    expect(typeof o).toBe('function');
  });

  it('the per-class subset depends only on the seed; validation is disjoint from it', () => {
    const { data } = loadCached('mnist');
    const a = splitPerClass(data.train, 3, 2, 7);
    const b = splitPerClass(data.train, 3, 0, 7);
    expect(Array.from(a.train.images)).toEqual(Array.from(b.train.images));
    expect(Array.from(a.train.labels).sort()).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5, 6, 6, 6, 7, 7, 7, 8, 8, 8, 9, 9, 9]);
    const per = 28 * 28;
    const imgs = (d: typeof a.train): string[] => Array.from({ length: d.count }, (_, i) => Buffer.from(d.images.subarray(i * per, (i + 1) * per)).toString('base64'));
    const train = new Set(imgs(a.train));
    expect(imgs(a.validation!).some((v) => train.has(v))).toBe(false);
    expect(Array.from(splitPerClass(data.train, 3, 0, 8).train.images)).not.toEqual(Array.from(b.train.images));
  });

  it('one hsfob (k=2 estimator) run: completed, reproducible, with curve, validation, gradient norm and FGSM', async () => {
    const r = await runImage(base);
    expect(r.status).toBe('completed');
    expect(r.testAccuracy).toBeGreaterThanOrEqual(0);
    expect(r.testAccuracy).toBeLessThanOrEqual(1);
    expect(r.valAccuracy).not.toBeNull();
    expect(r.steps).toBe(2);
    expect(Object.keys(r.curve[0]!.terms).sort()).toEqual(['ce', 'hsfob']);
    expect(r.gradNorm).toBeGreaterThan(0);
    expect(r.fgsm.map((f) => f.eps)).toEqual([0, 0.1]);
    expect(r.robustPoints).toBe(20);
    const again = await runImage(base);
    expect(again.testAccuracy).toBe(r.testAccuracy);
    expect(again.curve[0]!.loss).toBe(r.curve[0]!.loss);
  }, 60_000);

  it('FGSM at eps 0 is the clean accuracy; a larger step does not help', async () => {
    const { data, norm } = loadCached('mnist');
    const model = buildModel('small', { inputShape: [1, 28, 28], classes: 10, seed: 1 });
    const test = { ...data.test, count: 30 };
    const rob = await robustness(model, test, { normalization: norm, eps: [0, 0.3], points: 30 });
    expect(rob.fgsm[0]!.accuracy).toBe(rob.accuracy);
    expect(rob.fgsm[1]!.accuracy).toBeLessThanOrEqual(rob.accuracy);
    model.dispose();
  });

  it('a diverging run is recorded as diverged with the step and the term', async () => {
    const r = await runImage({ ...base, regularizer: 'db', lambda: 1e308, validation: 0 });
    expect(r.status).toBe('diverged');
    expect(r.testAccuracy).toBeNull();
    expect(r.message).toMatch(/step 0/);
  }, 60_000);

  it('the sin(5x) run: spectreg flattens the fit', async () => {
    const cfg: SinRunConfig = { kind: 'sin', regularizer: 'spectreg', lambda: 0, seed: 0, points: 20, hidden: [16], steps: 150, optimizer: 'adam', lr: 0.02 };
    const free = await runSin(cfg);
    const flat = await runSin({ ...cfg, lambda: 1 });
    expect(free.status).toBe('completed');
    expect(free.curveX).toHaveLength(free.curveY.length);
    expect(flat.slopeGrid!).toBeLessThan(free.slopeGrid!);
    expect(g.memory().numTensors).toBeLessThan(1000);
  }, 60_000);
});

describe('dropout and weight decay as options of any run', () => {
  it('the small model takes a dropout layer before its logits; resnet refuses', () => {
    const m = buildModel('small', { inputShape: [1, 28, 28], classes: 10, seed: 1, dropout: 0.5 });
    expect(m.namedChildren().map(([n]) => n).slice(-3)).toEqual(['relu4', 'dropout', 'fc2']);
    expect(() => buildModel('resnet', { inputShape: [3, 32, 32], classes: 10, seed: 1, dropout: 0.5 })).toThrow(/resnet/);
    m.dispose();
  });
});
