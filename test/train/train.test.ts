import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import { unitScale, type Dataset } from '../../src/data/index.js';
import { Conv2d, Dropout, Flatten, Linear, Module, ReLU, Sequential } from '../../src/nn/index.js';
import { createOptimizer } from '../../src/optim/index.js';
import {
  crossEntropyObjective, evaluate, loadCheckpoint, readCheckpointMeta, saveCheckpoint, train, type Objective, type TrainConfig, type TrainState,
} from '../../src/train/index.js';

/** 3 classes of 6x6 images: a bright row at the top, middle or bottom, plus seeded noise. */
function stripes(n: number, seed: number): Dataset {
  const noise = g.rand([n * 36], { seed, dtype: 'float64' }).dataSync();
  const images = new Uint8Array(n * 36);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const y = i % 3;
    labels[i] = y;
    for (let p = 0; p < 36; p++) {
      const row = Math.floor(p / 6);
      images[i * 36 + p] = Math.floor(noise[i * 36 + p]! * 80) + (row === 1 + 2 * y ? 150 : 0);
    }
  }
  return { source: 'stripes', images, labels, count: n, shape: [1, 6, 6], classes: 3, classNames: ['top', 'middle', 'bottom'] };
}

function net(seed: number): Module {
  return new Sequential({
    conv: new Conv2d(1, 4, 3, { seed }),
    relu: new ReLU(),
    flatten: new Flatten(),
    drop: new Dropout(0.25, { seed: seed + 1 }),
    fc: new Linear(64, 3, { seed: seed + 2 }),
  });
}

const data = stripes(30, 1);
const test = stripes(15, 2);

function config(model: Module, extra: Partial<TrainConfig> = {}): TrainConfig {
  return {
    model,
    train: data,
    test,
    normalization: unitScale(1),
    epochs: 3,
    batchSize: 8,
    optimizer: { name: 'adam', lr: 0.01 },
    seed: 7,
    ...extra,
  };
}

const weights = (m: Module): number[] => m.parameters().flatMap((p) => Array.from(p.dataSync()));

describe('train()', () => {
  it('learns a separable task and reports curves, test accuracy and timing', async () => {
    const seen: number[] = [];
    const r = await train(config(net(1), { epochs: 6 }), { onProgress: (p) => seen.push(p.step) });
    expect(r.status).toBe('completed');
    expect(r.curve).toHaveLength(6);
    expect(r.curve[5]!.loss).toBeLessThan(r.curve[0]!.loss);
    expect(r.test!.accuracy).toBeGreaterThan(0.9);
    expect(r.curve[5]!.testAccuracy).toBe(r.test!.accuracy);
    expect(r.curve[0]!.terms.ce).toBeCloseTo(r.curve[0]!.loss, 10);
    expect(r.steps).toBe(6 * 4);
    expect(seen).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    expect(r.backend).toBe('cpu');
    expect(r.wallSeconds).toBeGreaterThan(0);
  });

  it('builds the optimizer from a spec whose step schedule spans the run, and logs every objective term', async () => {
    const objective: Objective = (ctx) => {
      const r = crossEntropyObjective(ctx);
      const pen = g.mul(g.sum(g.square(ctx.model.parameters()[0]!)), 1e-3);
      return { loss: g.add(r.loss, pen), terms: { ce: r.loss, pen }, logits: r.logits };
    };
    const r = await train(config(net(2), { epochs: 4, optimizer: { name: 'sgd', lr: 0.1, schedule: { kind: 'step' } }, objective }));
    // 16 updates: lr 0.1 for updates 0-7, 0.01 for 8-11, 0.001 for 12-15
    [0.1, 0.1, 0.01, 0.001].forEach((lr, i) => expect(r.curve[i]!.lr).toBeCloseTo(lr, 12));
    for (const e of r.curve) {
      expect(Object.keys(e.terms)).toEqual(['ce', 'pen']);
      expect(e.terms.ce! + e.terms.pen!).toBeCloseTo(e.loss, 6);
      expect(e.terms.pen).toBeGreaterThan(0);
    }
  });

  it('the same seed gives the same loss curve twice (cpu)', async () => {
    const a = await train(config(net(3)));
    const b = await train(config(net(3)));
    expect(b.curve.map((e) => e.loss)).toEqual(a.curve.map((e) => e.loss));
    expect(b.test!.loss).toBe(a.test!.loss);
    const c = await train(config(net(3), { seed: 8 }));
    expect(c.curve.map((e) => e.loss)).not.toEqual(a.curve.map((e) => e.loss));
  });

  it('holds a flat number of live tensors', async () => {
    const m = net(4);
    const opt = createOptimizer('adam', m.namedParameters(), { lr: 0.01 });
    const before = g.memory().numTensors;
    await train(config(m, { optimizer: opt, epochs: 2 }));
    expect(g.memory().numTensors).toBe(before);
  });

  it('stops at a non-finite term, naming the step and the term, before touching the parameters', async () => {
    const m = net(5);
    let atStep3: number[] = [];
    const objective: Objective = (ctx) => {
      const r = crossEntropyObjective(ctx);
      if (ctx.step === 3) atStep3 = weights(ctx.model);
      const penalty = ctx.step === 3 ? g.div(g.sum(ctx.x), 0) : g.mul(r.loss, 0);
      return { loss: g.add(r.loss, penalty), terms: { ce: r.loss, penalty }, logits: r.logits };
    };
    const epochs: number[] = [];
    const r = await train(config(m, { objective }), { onEpochEnd: (rec) => void epochs.push(rec.epoch) });
    expect(r.status).toBe('diverged');
    expect(r.message).toMatch(/^step 3 \(epoch 1, batch 4\): term 'penalty' is Infinity/);
    expect(weights(m)).toEqual(atStep3);
    expect(r.steps).toBe(3);
    expect(r.test).toBeNull();
    expect(epochs).toEqual([]);
  });

  it('names the parameter whose gradient is not finite', async () => {
    const objective: Objective = (ctx) => {
      const r = crossEntropyObjective(ctx);
      const bias = ctx.model.namedParameters().find(([n]) => n === 'fc.bias')![1];
      // sqrt'(0) is infinite: the term is 0 but its gradient is NaN
      const odd = g.mul(g.sum(g.sqrt(g.abs(g.sub(bias, bias)))), 0);
      return { loss: g.add(r.loss, odd), terms: { ce: r.loss, odd } };
    };
    const r = await train(config(net(6), { objective }));
    expect(r.status).toBe('diverged');
    expect(r.message).toMatch(/^step 0 .*the gradient of parameter 'fc.bias' is not finite/);
  });

  it('an objective that computes the loss without recording (a lost flag) is an error naming a parameter, not a run of zero updates', async () => {
    const m = net(8);
    const before = weights(m);
    const objective: Objective = (ctx) => {
      const r = g.noGrad(() => crossEntropyObjective(ctx));
      return { loss: r.loss, terms: { ce: r.loss } };
    };
    await expect(train(config(m, { objective }))).rejects.toThrow(g.UnusedInputError);
    await expect(train(config(m, { objective }))).rejects.toThrow(/^train: the loss does not depend on parameter 'conv.weight' \(grad: input 0 \(float32 \[4,1,3,3\]\) is not reachable/);
    expect(weights(m)).toEqual(before);
  });

  it('a model with a parameter the loss never uses is named, rather than trained with a zero gradient for it', async () => {
    // A head registered but left out of forward (a typo in a model definition).
    class Forgetful extends Module {
      readonly body = this.addModule('body', net(9));
      readonly head = this.addModule('head', new Linear(3, 3, { seed: 1 }));
      forward(x: g.Tensor): g.Tensor {
        return this.body.forward(x);
      }
    }
    await expect(train(config(new Forgetful()))).rejects.toThrow(/^train: the loss does not depend on parameter 'head.weight'/);
  });

  it('an interrupted run resumed from its checkpoint ends exactly like an uninterrupted one', async () => {
    const full = net(9);
    const a = await train(config(full));

    const dir = mkdtempSync(join(tmpdir(), 'gradreg-train-'));
    const path = join(dir, 'ckpt.safetensors');
    const m1 = net(9);
    let steps = 0;
    const r1 = await train(config(m1), { onProgress: () => steps++, shouldStop: () => steps === 5 });
    expect(r1.status).toBe('interrupted');
    expect(r1.state).toMatchObject({ epoch: 1, batch: 1, step: 5 });
    await saveCheckpoint(path, m1, r1.optimizer, r1.state, { note: 'x' });

    // same construction seed (it fixes the dropout masks); every value comes from the checkpoint
    const m2 = net(9);
    const opt2 = createOptimizer('adam', m2.namedParameters(), { lr: 0.01 });
    const meta = loadCheckpoint(path, m2, opt2);
    expect(meta.extra).toEqual({ note: 'x' });
    expect(readCheckpointMeta(path).state!.step).toBe(5);
    const r2 = await train(config(m2, { optimizer: opt2, resume: meta.state as TrainState }));
    expect(r2.status).toBe('completed');
    expect(r2.curve.map((e) => e.loss)).toEqual(a.curve.map((e) => e.loss));
    expect(weights(m2)).toEqual(weights(full));
    expect(r2.test!.accuracy).toBe(a.test!.accuracy);
  });

  it('a checkpoint saved and loaded gives identical predictions', async () => {
    const m = net(11);
    const r = await train(config(m, { epochs: 1 }));
    const dir = mkdtempSync(join(tmpdir(), 'gradreg-train-'));
    const path = join(dir, 'c.safetensors');
    await saveCheckpoint(path, m, r.optimizer, r.state);
    const m2 = net(99);
    loadCheckpoint(path, m2);
    const x = g.rand([4, 1, 6, 6], { seed: 3 });
    m.eval();
    m2.eval();
    expect(Array.from(m2.forward(x).dataSync())).toEqual(Array.from(m.forward(x).dataSync()));
    const e1 = await evaluate(m, test, { normalization: unitScale(1) });
    const e2 = await evaluate(m2, test, { normalization: unitScale(1), batchSize: 4 });
    expect(e2.correct).toBe(e1.correct);
    expect(e2.loss).toBeCloseTo(e1.loss, 6);
  });

  it('loadCheckpoint rejects a checkpoint of another model, naming the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gradreg-train-'));
    const path = join(dir, 'c.safetensors');
    await saveCheckpoint(path, net(1), null, null);
    const other = new Sequential({ fc: new Linear(36, 3) });
    expect(() => loadCheckpoint(path, other)).toThrow(new RegExp(`${path}: tensor 'conv.weight' does not belong to this model`));
  });

  it('evaluate() counts argmax hits exactly', async () => {
    const m = new Sequential({ flatten: new Flatten(), fc: new Linear(36, 3, { bias: false, seed: 0 }) });
    // weights that read the bright row: class y <- row 1 + 2y
    const w = new Float32Array(3 * 36);
    for (let y = 0; y < 3; y++) for (let c = 0; c < 6; c++) w[y * 36 + (1 + 2 * y) * 6 + c] = 1;
    g.assign(m.parameters()[0]!, g.tensor(w, [3, 36]));
    const e = await evaluate(m, test, { normalization: unitScale(1), batchSize: 7 });
    expect(e.count).toBe(15);
    expect(e.correct).toBe(15);
    expect(e.accuracy).toBe(1);
  });
});
