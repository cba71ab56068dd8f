/**
 * Each penalty's parameter gradient against finite differences (float64): the penalty contains an
 * input gradient built with createGraph, so this checks double backprop through every op it uses.
 */
import { describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import * as R from '../../src/regularizers/index.js';
import { labels, mlp, t64, values } from './fixtures.js';

const D = 3;
const H = 4;
const C = 3;
const N = 2;
const net = mlp(D, H, C);
const x = t64(values(N * D, 21, 1.3), [N, D]);
const y = labels([1, 2]);
const draw = { seed: 5, step: 3 };

const cases: [string, (f: (x: Tensor) => Tensor) => Tensor][] = [
  ['db', (f) => R.doubleBackprop(f, x, y).penalty],
  ['jac exact (loop)', (f) => R.jacReg(f, x, { classes: C, mode: 'loop' }).penalty],
  ['jac k=2 (batched)', (f) => R.jacReg(f, x, { classes: C, projections: 2, draw }).penalty],
  ['fob exact (batched)', (f) => R.frobReg(f, x, { classes: C, mode: 'batched' }).penalty],
  ['spectreg', (f) => R.spectReg(f, x, { draw }).penalty],
  ['spectreg spherical k=2', (f) => R.spectReg(f, x, { draw, projections: 2, spherical: true }).penalty],
  ['hsfob exact (loop)', (f) => R.hsfob(f, x, { classes: C, mode: 'loop' }).penalty],
  ['hsfob k=2 (batched)', (f) => R.hsfob(f, x, { classes: C, projections: 2, draw }).penalty],
  ['hsfob-db1 exact (batched)', (f) => R.hsfobDb1(f, x, y, { classes: C }).penalty],
  ['hsfob-db2 exact (loop)', (f) => R.hsfobDb2(f, x, y, { classes: C, mode: 'loop' }).penalty],
  ['hsfob-db2 k=2', (f) => R.hsfobDb2(f, x, y, { classes: C, projections: 2, draw }).penalty],
  ['cp', (f) => R.confidencePenalty(f, x).penalty],
  ['ni', (f) => g.crossEntropy(R.noisyLogits(f, x, 0.2, draw), y)],
];

describe('penalty parameter gradients by gradcheck', () => {
  for (const [name, penalty] of cases) {
    it(name, () => {
      const report = g.gradcheck((...ps: Tensor[]) => penalty(net.on(ps)), net.params, { order: 1, atol: 1e-6, rtol: 1e-4 });
      expect(report.ok).toBe(true);
    });
  }

  it('a whole objective: ce + lambda * hsfob-db2 + weight decay', () => {
    const obj = R.makeObjective({ name: 'hsfob-db2', lambda: 0.7, weightDecay: 0.01 }, { classes: C, seed: 1 });
    const report = g.gradcheck(
      (...ps: Tensor[]) => obj({ model: { forward: net.on(ps), parameters: () => ps }, x, y, step: 0, training: true }).loss,
      net.params,
      { order: 1, atol: 1e-6, rtol: 1e-4 },
    );
    expect(report.ok).toBe(true);
  });
});
