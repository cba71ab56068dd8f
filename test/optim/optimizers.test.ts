import { describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import { createOptimizer, makeSchedule, stepSchedule, applyUpdate, type OptimizerOptions } from '../../src/optim/index.js';

const f64 = { dtype: 'float64' as const };
const W0 = [1, -2];
const GRADS = [
  [0.5, 0.1],
  [-0.3, 0.4],
  [0.2, -0.2],
];

/** Run `name` for the three gradients above and return w after each step. */
function run(name: string, o: OptimizerOptions): number[][] {
  const w = g.tensor(W0, [2], { ...f64, requiresGrad: true });
  const opt = createOptimizer(name, [['w', w]], o);
  return GRADS.map((gr) => {
    opt.step([g.tensor(gr, [2], f64)]);
    return Array.from(w.dataSync());
  });
}

function expectClose(got: number[][], want: number[][]): void {
  got.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(want[i]![j]!, 12)));
}

/** The thesis's equations written out directly, one parameter at a time (the oracle). */
function reference(name: string, o: Required<Pick<OptimizerOptions, 'momentum' | 'beta1' | 'beta2' | 'eps'>> & { lrs: number[]; wd?: number; dwd?: number }): number[][] {
  const out: number[][] = [];
  const w = [...W0];
  const s1 = [0, 0];
  const s2 = [0, 0];
  GRADS.forEach((gr, k) => {
    const a = o.lrs[k]!;
    const t = k + 1;
    for (let i = 0; i < 2; i++) {
      const gi = gr[i]! + (o.wd ?? 0) * w[i]!;
      let wi = w[i]! * (1 - a * (o.dwd ?? 0));
      switch (name) {
        case 'sgd': // eq. 8
          wi -= a * gi;
          break;
        case 'momentum': // eq. 9-10
          s1[i] = o.momentum * s1[i]! + (1 - o.momentum) * gi;
          wi -= a * s1[i]!;
          break;
        case 'nesterov':
          s1[i] = o.momentum * s1[i]! - a * gi;
          wi += o.momentum * s1[i]! - a * gi;
          break;
        case 'adagrad': // eq. 11-12
          s1[i] = s1[i]! + gi * gi;
          wi -= (a * gi) / (Math.sqrt(s1[i]!) + o.eps);
          break;
        case 'rmsprop': // eq. 13-14
          s1[i] = o.beta2 * s1[i]! + (1 - o.beta2) * gi * gi;
          wi -= (a * gi) / (Math.sqrt(s1[i]!) + o.eps);
          break;
        case 'adam': {
          // eq. 15-19 (eps outside the root, as the fused kernel)
          s1[i] = o.beta1 * s1[i]! + (1 - o.beta1) * gi;
          s2[i] = o.beta2 * s2[i]! + (1 - o.beta2) * gi * gi;
          const mh = s1[i]! / (1 - o.beta1 ** t);
          const vh = s2[i]! / (1 - o.beta2 ** t);
          wi -= (a * mh) / (Math.sqrt(vh) + o.eps);
          break;
        }
      }
      w[i] = wi;
    }
    out.push([...w]);
  });
  return out;
}

const HP = { momentum: 0.9, beta1: 0.9, beta2: 0.999, eps: 1e-7 };

describe('optimizers against hand-computed updates', () => {
  it('first steps by hand: SGD, momentum (eq. 9-10) and Adam', () => {
    // SGD, lr 0.1: w1 = w0 - 0.1 g1 = [0.95, -2.01]; w2 = w1 - 0.1 g2 = [0.98, -2.05]
    expectClose(run('sgd', { lr: 0.1 }).slice(0, 2), [[0.95, -2.01], [0.98, -2.05]]);
    // momentum b = 0.9, lr 0.1: v1 = 0.1 g1 = [0.05, 0.01], w1 = [0.995, -2.001];
    // v2 = 0.9 v1 + 0.1 g2 = [0.015, 0.049], w2 = [0.9935, -2.0059]
    expectClose(run('momentum', { lr: 0.1, momentum: 0.9 }).slice(0, 2), [[0.995, -2.001], [0.9935, -2.0059]]);
    // Adam step 1: m_hat = g, v_hat = g^2, so w1 = w0 - lr g / (|g| + eps)
    const a1 = run('adam', { lr: 0.01 })[0]!;
    expect(a1[0]).toBeCloseTo(1 - (0.01 * 0.5) / (0.5 + 1e-7), 13);
    expect(a1[1]).toBeCloseTo(-2 - (0.01 * 0.1) / (0.1 + 1e-7), 13);
  });

  it.each(['sgd', 'momentum', 'nesterov', 'adagrad', 'rmsprop', 'adam'])('%s matches its equations for 3 steps', (name) => {
    const beta2 = name === 'rmsprop' ? 0.9 : 0.999;
    expectClose(run(name, { lr: 0.05 }), reference(name, { ...HP, beta2, lrs: [0.05, 0.05, 0.05] }));
  });

  it.each(['sgd', 'momentum', 'nesterov', 'adagrad', 'rmsprop', 'adam'])('%s with coupled L2 weight decay (eq. 30)', (name) => {
    const beta2 = name === 'rmsprop' ? 0.9 : 0.999;
    expectClose(run(name, { lr: 0.05, weightDecay: 0.1 }), reference(name, { ...HP, beta2, lrs: [0.05, 0.05, 0.05], wd: 0.1 }));
  });

  it.each(['sgd', 'momentum', 'adam'])('%s with decoupled weight decay', (name) => {
    expectClose(run(name, { lr: 0.05, decoupledWeightDecay: 0.2 }), reference(name, { ...HP, lrs: [0.05, 0.05, 0.05], dwd: 0.2 }));
  });

  it('SGD with coupled decay is eq. 66: w <- (1 - 2 a lambda) w - a grad', () => {
    const lambda = 0.05;
    const w = run('sgd', { lr: 0.1, weightDecay: 2 * lambda })[0]!;
    expect(w[0]).toBeCloseTo((1 - 2 * 0.1 * lambda) * 1 - 0.1 * 0.5, 14);
  });

  it.each(['momentum', 'adam', 'sgd'])('%s follows a learning-rate schedule exactly (eq. 9-10 kept across lr changes)', (name) => {
    // 3 steps with milestones at 1/3 and 2/3: lr 0.1, 0.01, 0.001
    const sched = stepSchedule(0.1, 3, [1 / 3, 2 / 3], [1, 0.1, 0.01]);
    expectClose(run(name, { lr: 0.1, schedule: sched }), reference(name, { ...HP, lrs: [0.1, 0.01, 0.001] }));
  });

  it('excludes parameters from decay by name', () => {
    const a = g.tensor([1], [1], { ...f64, requiresGrad: true });
    const b = g.tensor([1], [1], { ...f64, requiresGrad: true });
    const opt = createOptimizer('sgd', [['w', a], ['bias', b]], { lr: 0.1, weightDecay: 1, decayFilter: (n) => n !== 'bias' });
    opt.step([g.zeros([1], f64), g.zeros([1], f64)]);
    expect(a.dataSync()[0]).toBeCloseTo(0.9, 14);
    expect(b.dataSync()[0]).toBe(1);
  });

  it('updates parameters in place: same tensor, still a leaf that requires grad', () => {
    const w = g.tensor([1, 2], [2], { requiresGrad: true });
    const opt = createOptimizer('adam', [['w', w]], { lr: 0.1 });
    opt.step([g.ones([2])]);
    expect(w.requiresGrad).toBe(true);
    expect(w.dataSync()[0]).toBeCloseTo(0.9, 5);
    const [gw] = g.grad(g.sum(g.mul(w, w)), [w]);
    expect(gw!.dataSync()[0]).toBeCloseTo(1.8, 5);
  });

  it('state dict and meta restore an optimizer exactly', () => {
    const wa = g.tensor(W0, [2], { ...f64, requiresGrad: true });
    const a = createOptimizer('adam', [['w', wa]], { lr: 0.05 });
    a.step([g.tensor(GRADS[0]!, [2], f64)]);
    const wb = g.tensor(Array.from(wa.dataSync()), [2], { ...f64, requiresGrad: true });
    const b = createOptimizer('adam', [['w', wb]], { lr: 0.05 });
    b.loadStateDict(a.stateDict(), a.meta());
    for (const opt of [a, b]) opt.step([g.tensor(GRADS[1]!, [2], f64)]);
    expect(Array.from(wb.dataSync())).toEqual(Array.from(wa.dataSync()));
    expect(Object.keys(a.stateDict())).toEqual(['w.m', 'w.v']);
    expect(a.meta()).toEqual({ name: 'adam', step: 2, scaledLr: null });
  });

  it('rejects bad hyper-parameters and gradients', () => {
    const w = g.tensor([1], [1], { requiresGrad: true });
    expect(() => createOptimizer('lbfgs', [['w', w]], { lr: 1 })).toThrow(/unknown name 'lbfgs'/);
    expect(() => createOptimizer('adam', [['w', w]], { lr: -1 })).toThrow(/lr must be/);
    expect(() => createOptimizer('momentum', [['w', w]], { lr: 1, momentum: 1 })).toThrow(/momentum must be/);
    const opt = createOptimizer('sgd', [['w', w]], { lr: 1 });
    expect(() => opt.step([g.zeros([2])])).toThrow(g.ShapeError);
    expect(() => opt.step([])).toThrow(/got 0 gradients for 1 parameters/);
    expect(() => applyUpdate('adam', w, g.zeros([1]), [], { lr: 1, momentum: 0, beta1: 0.9, beta2: 0.9, eps: 0, step: 1, weightDecay: 0, decoupledDecay: 0 })).toThrow(/needs 2 state buffers/);
    expect(() => applyUpdate('sgd', w, g.zeros([1], f64), [], { lr: 1, momentum: 0, beta1: 0.9, beta2: 0.9, eps: 0, step: 1, weightDecay: 0, decoupledDecay: 0 })).toThrow(g.DTypeError);
  });
});

describe('learning-rate schedules', () => {
  it('the replication report\'s step schedule: 0.1, 0.01 from 50%, 0.001 from 75%', () => {
    const s = makeSchedule({ kind: 'step' }, 0.1, 10000);
    expect(s(0)).toBe(0.1);
    expect(s(4999)).toBe(0.1);
    expect(s(5000)).toBeCloseTo(0.01, 15);
    expect(s(7499)).toBeCloseTo(0.01, 15);
    expect(s(7500)).toBeCloseTo(0.001, 15);
    expect(s(9999)).toBeCloseTo(0.001, 15);
  });

  it('constant and validation', () => {
    expect(makeSchedule({ kind: 'constant' }, 0.3, 5)(4)).toBe(0.3);
    expect(() => stepSchedule(0.1, 10, [0.5], [1])).toThrow(/one more factor/);
    expect(() => stepSchedule(0.1, 10, [0.7, 0.5], [1, 2, 3])).toThrow(/increasing/);
  });
});
