/**
 * Each penalty's value against a closed form on a linear model g(x) = W x, whose logits Jacobian is
 * W for every sample, with the softmax quantities computed by hand on the host.
 */
import { describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import * as R from '../../src/regularizers/index.js';
import {
  frob2, labels, linear, matmul, rows, scalar, softmaxHessian, softmaxHost, t64, transpose, values,
} from './fixtures.js';

const C = 4;
const D = 5;
const N = 3;
const wVals = values(C * D, 3, 1.2);
const xVals = values(N * D, 5, 1.5);
const ys = [2, 0, 3];
const W = rows(wVals, C, D);
const X = rows(xVals, N, D);
const w = t64(wVals, [C, D]);
const x = t64(xVals, [N, D]);
const y = labels(ys);
const f = linear(w);
const probs = X.map((xn) => softmaxHost(W.map((wc) => wc.reduce((s, v, k) => s + v * xn[k]!, 0))));
const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;
const draw = { seed: 1, step: 0 };

describe('penalties on a linear model: closed forms', () => {
  it('fob: ||J_g||_F^2 = ||W||_F^2 per sample, both exact paths', () => {
    for (const mode of ['loop', 'batched'] as const) {
      expect(scalar(R.frobReg(f, x, { classes: C, mode }).penalty)).toBeCloseTo(frob2(W), 10);
    }
  });

  it('jac: ||J_f||_F^2 = ||H_n W||_F^2 with H_n = diag(p) - p p^T (the softmax Jacobian)', () => {
    const want = mean(probs.map((p) => frob2(matmul(softmaxHessian(p), W))));
    for (const mode of ['loop', 'batched'] as const) {
      expect(scalar(R.jacReg(f, x, { classes: C, mode }).penalty)).toBeCloseTo(want, 10);
    }
  });

  it('hsfob: Tr(J H J^T) = sum_cc\' H_cc\' (W W^T)_cc\'', () => {
    const gram = matmul(W, transpose(W));
    const trace = probs.map((p) => {
      const h = softmaxHessian(p);
      return h.reduce((s, row, i) => s + row.reduce((t, v, j) => t + v * gram[i]![j]!, 0), 0);
    });
    for (const mode of ['loop', 'batched'] as const) {
      const v = R.hsfob(f, x, { classes: C, mode });
      expect(scalar(v.penalty)).toBeCloseTo(mean(trace), 10);
      Array.from(v.trace.dataSync()).forEach((t, n) => expect(t).toBeCloseTo(trace[n]!, 10));
    }
  });

  it('db: ||grad_x CE||^2 = ||W^T (p - e_y)||^2', () => {
    const sq = probs.map((p, n) => {
      const r = p.map((pc, c) => pc - (c === ys[n] ? 1 : 0));
      return transpose(W).reduce((s, col) => s + col.reduce((t, v, c) => t + v * r[c]!, 0) ** 2, 0);
    });
    expect(scalar(R.doubleBackprop(f, x, y).penalty)).toBeCloseTo(mean(sq), 10);
  });

  it('hsfob-db1 and hsfob-db2 (squared trace) add the db term through the same forward', () => {
    const gram = matmul(W, transpose(W));
    const trace = probs.map((p) => softmaxHessian(p).reduce((s, row, i) => s + row.reduce((t, v, j) => t + v * gram[i]![j]!, 0), 0));
    const db = scalar(R.doubleBackprop(f, x, y).penalty);
    for (const mode of ['loop', 'batched'] as const) {
      expect(scalar(R.hsfobDb1(f, x, y, { classes: C, mode }).penalty)).toBeCloseTo(mean(trace) + db, 10);
      expect(scalar(R.hsfobDb2(f, x, y, { classes: C, mode }).penalty)).toBeCloseTo(mean(trace.map((t) => t * t)) + db, 10);
    }
  });

  it('cp: the negative entropy sum_c p_c log p_c, batch mean', () => {
    const want = mean(probs.map((p) => p.reduce((s, v) => s + v * Math.log(v), 0)));
    expect(scalar(R.confidencePenalty(f, x).penalty)).toBeCloseTo(want, 12);
  });

  it('spectreg with one projection: ||W^T r_n||^2 for the drawn r', () => {
    const r = R.drawNormal([1, N, C], draw, R.Streams.projection, x).dataSync();
    const want = mean(X.map((_, n) => transpose(W).reduce((s, col) => s + col.reduce((t, v, c) => t + v * r[n * C + c]!, 0) ** 2, 0)));
    expect(scalar(R.spectReg(f, x, { draw }).penalty)).toBeCloseTo(want, 10);
  });

  it('ni: the loss at x + lambda eps, eps drawn by Philox from (seed, stream, step)', () => {
    const lambda = 0.3;
    const eps = R.drawNormal([N, D], draw, R.Streams.inputNoise, x).dataSync();
    const noisy = X.map((xn, n) => xn.map((v, k) => v + lambda * eps[n * D + k]!));
    const want = mean(noisy.map((xn, n) => {
      const p = softmaxHost(W.map((wc) => wc.reduce((s, v, k) => s + v * xn[k]!, 0)));
      return -Math.log(p[ys[n]!]!);
    }));
    const z = R.noisyLogits(f, x, lambda, draw);
    expect(scalar(g.crossEntropy(z, y))).toBeCloseTo(want, 10);
    // the same key draws the same noise; the next step draws new noise
    expect(Array.from(R.noisyLogits(f, x, lambda, draw).dataSync())).toEqual(Array.from(z.dataSync()));
    expect(Array.from(R.noisyLogits(f, x, lambda, { seed: 1, step: 1 }).dataSync())).not.toEqual(Array.from(z.dataSync()));
  });
});

describe('the softmax Hessian of cross-entropy', () => {
  it('softmaxHvp(p, e_c) is column c of diag(p) - p p^T, and equals the CE Hessian in the logits', () => {
    const zVals = values(N * C, 9, 2);
    const z = t64(zVals, [N, C]);
    const p = g.softmax(z, -1);
    const ph = rows(Array.from(p.dataSync()), N, C);
    for (let c = 0; c < C; c++) {
      const e = t64(Array.from({ length: N * C }, (_, i) => (i % C === c ? 1 : 0)), [N, C]);
      const col = rows(Array.from(g.softmaxHvp(p, e).dataSync()), N, C);
      // d^2 (sum_n CE_n) / dz^2 applied to e_c, by the engine's hvp
      const { hvps } = g.hvp((zz) => g.crossEntropy(zz, y, 'sum'), [z], [e]);
      const hv = rows(Array.from(hvps[0]!.dataSync()), N, C);
      for (let n = 0; n < N; n++) {
        const h = softmaxHessian(ph[n]!);
        for (let i = 0; i < C; i++) {
          expect(col[n]![i]!).toBeCloseTo(h[i]![c]!, 12);
          expect(hv[n]![i]!).toBeCloseTo(h[i]![c]!, 10);
        }
      }
    }
  });
});
