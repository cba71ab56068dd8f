/**
 * The two exact paths agree, and the stochastic estimators are unbiased: the mean over many seeded
 * projections matches the exact value within a few standard errors.
 */
import { describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import * as R from '../../src/regularizers/index.js';
import { convNet, host, labels, mlp, scalar, t64, values } from './fixtures.js';

const C = 4;
const net = mlp(3, 5, C);
const x = t64(values(2 * 3, 31, 1.4), [2, 3]);
const y = labels([0, 3]);

describe('exact Jacobian penalties: C separate vjps equal one batched pass', () => {
  const conv = convNet(3);
  const xc = t64(values(2 * 25, 41, 1), [2, 1, 5, 5]);
  const yc = labels([2, 1]);
  const penalties: [string, (f: (x: Tensor) => Tensor, xx: Tensor, yy: Tensor, c: number, mode: R.PullMode) => R.PenaltyValue][] = [
    ['jac', (f, xx, _yy, c, mode) => R.jacReg(f, xx, { classes: c, mode })],
    ['fob', (f, xx, _yy, c, mode) => R.frobReg(f, xx, { classes: c, mode })],
    ['hsfob', (f, xx, _yy, c, mode) => R.hsfob(f, xx, { classes: c, mode })],
    ['hsfob-db2', (f, xx, yy, c, mode) => R.hsfobDb2(f, xx, yy, { classes: c, mode })],
  ];
  for (const [name, pen] of penalties) {
    for (const [model, params, xx, yy, c] of [
      ['mlp', net.params, x, y, C],
      ['conv', conv.params, xc, yc, 3],
    ] as const) {
      it(`${name} on the ${model}: value and parameter gradient`, () => {
        const f = model === 'mlp' ? net.f : conv.f;
        const a = pen(f, xx, yy, c, 'loop');
        const b = pen(f, xx, yy, c, 'batched');
        expect(scalar(b.penalty)).toBeCloseTo(scalar(a.penalty), 11);
        expect(host(b.logits)).toEqual(host(a.logits).map((v) => expect.closeTo(v, 12)));
        // allowUnused: the last layer's bias does not appear in the Jacobian of the logits (fob), so
        // that penalty does not depend on it and its gradient there is exactly zero.
        const ga = g.grad(a.penalty, [...params], { allowUnused: true });
        const gb = g.grad(b.penalty, [...params], { allowUnused: true });
        ga.forEach((t, i) => host(gb[i]!).forEach((v, k) => expect(v).toBeCloseTo(host(t)[k]!, 10)));
      });
    }
  }
});

/** Mean and standard error of `samples` estimates, each from its own step's draw. */
function estimate(samples: number, one: (step: number) => number): { mean: number; se: number } {
  const v = Array.from({ length: samples }, (_, s) => g.tidy(() => one(s)));
  const mean = v.reduce((a, b) => a + b, 0) / samples;
  const variance = v.reduce((a, b) => a + (b - mean) ** 2, 0) / (samples - 1);
  return { mean, se: Math.sqrt(variance / samples) };
}

describe('stochastic estimators are unbiased', () => {
  const S = 600;
  const seed = 77;
  const within = (e: { mean: number; se: number }, exact: number): void => {
    expect(e.se).toBeGreaterThan(0);
    expect(Math.abs(e.mean - exact)).toBeLessThan(4 * e.se);
  };

  it('spectreg (= fob with Gaussian projections) estimates ||J_g||_F^2', () => {
    const exact = scalar(R.frobReg(net.f, x, { classes: C }).penalty);
    within(estimate(S, (step) => scalar(R.spectReg(net.f, x, { draw: { seed, step } }).penalty)), exact);
    within(estimate(S, (step) => scalar(R.frobReg(net.f, x, { classes: C, projections: 1, draw: { seed, step } }).penalty)), exact);
  });

  it('spherical spectreg estimates ||J_g||_F^2 / C', () => {
    const exact = scalar(R.frobReg(net.f, x, { classes: C }).penalty) / C;
    within(estimate(S, (step) => scalar(R.spectReg(net.f, x, { spherical: true, draw: { seed, step } }).penalty)), exact);
  });

  it('jac with projections estimates ||J_f||_F^2', () => {
    const exact = scalar(R.jacReg(net.f, x, { classes: C }).penalty);
    within(estimate(S, (step) => scalar(R.jacReg(net.f, x, { classes: C, projections: 1, draw: { seed, step } }).penalty)), exact);
  });

  it('hsfob with s = sqrt(p) r - p (sqrt(p).r) estimates Tr(J H J^T); k projections average', () => {
    const exact = scalar(R.hsfob(net.f, x, { classes: C }).penalty);
    within(estimate(S, (step) => scalar(R.hsfob(net.f, x, { classes: C, projections: 1, draw: { seed, step } }).penalty)), exact);
    const k4 = estimate(S / 4, (step) => scalar(R.hsfob(net.f, x, { classes: C, projections: 4, mode: 'loop', draw: { seed, step } }).penalty));
    within(k4, exact);
  });

  it('hsfob-db2 with two independent halves estimates the squared trace', () => {
    const exact = scalar(R.hsfobDb2(net.f, x, y, { classes: C }).penalty);
    within(estimate(S, (step) => scalar(R.hsfobDb2(net.f, x, y, { classes: C, projections: 2, draw: { seed, step } }).penalty)), exact);
  });

  it('the gradient of the hsfob estimate is unbiased too (first parameter)', () => {
    const exact = g.tidy(() => host(g.grad(R.hsfob(net.f, x, { classes: C }).penalty, [net.params[0]!])[0]!)[0]!);
    const e = estimate(S, (step) => host(g.grad(R.hsfob(net.f, x, { classes: C, projections: 1, draw: { seed, step } }).penalty, [net.params[0]!])[0]!)[0]!);
    within(e, exact);
  });

  it('draws are reproducible and differ between steps and seeds', () => {
    const v = (seed: number, step: number): number => scalar(R.spectReg(net.f, x, { draw: { seed, step } }).penalty);
    expect(v(1, 4)).toBe(v(1, 4));
    expect(v(1, 4)).not.toBe(v(1, 5));
    expect(v(1, 4)).not.toBe(v(2, 4));
  });
});
