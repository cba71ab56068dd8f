/**
 * Every fused kernel equals its composite twin in primitive ops: the softmax-Hessian product, the
 * softmax cross-entropy gradient (fused when grad mode is off, composite under createGraph), and
 * the batch-norm backward (fused kernel vs composite formula vs autograd of the composite forward).
 */
import { describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { hashValues } from '../helpers/naive.js';

type F = 'float32' | 'float64';
const tol = (d: F): number => (d === 'float64' ? 1e-12 : 2e-5);
const vals = (t: Tensor): number[] => Array.from(t.dataSync());

function expectClose(got: Tensor, want: Tensor, d: F): void {
  expect(got.shape).toEqual(want.shape);
  const a = vals(got);
  const b = vals(want);
  const scale = Math.max(1, ...b.map(Math.abs));
  a.forEach((v, i) => {
    if (!(Math.abs(v - b[i]!) <= tol(d) * scale)) throw new Error(`element ${i}: fused ${v} vs composite ${b[i]}`);
  });
}

const mk = (shape: number[], seed: number, d: F, scale = 1): Tensor =>
  g.tensor(hashValues(shape.reduce((a, b) => a * b, 1), seed).map((v) => v * scale), shape, { dtype: d });

for (const d of ['float64', 'float32'] as const) {
  describe(`fused kernels equal their composite twins (${d})`, () => {
    it('softmaxHvp equals softmaxHvpComposite, forward and first/second-order gradients', () => {
      for (const shape of [[4, 7], [2, 3, 5], [1, 10], [6]]) {
        g.tidy(() => {
          const z = mk(shape, 1, d, 3);
          const p = g.softmax(z);
          const v = mk(shape, 2, d);
          expectClose(g.softmaxHvp(p, v), g.softmaxHvpComposite(p, v), d);
          // gradients of <u, J_p v> with respect to p and v, with createGraph, then once more
          const u = mk(shape, 3, d);
          const w = mk(shape, 4, d);
          const grads = (f: (p: Tensor, v: Tensor) => Tensor): Tensor[] => {
            const pl = g.detach(p);
            const vl = g.detach(v);
            pl.requiresGrad = true;
            vl.requiresGrad = true;
            const first = g.grad(g.sum(g.mul(f(pl, vl), u)), [pl, vl], { createGraph: true });
            const s = g.add(g.sum(g.mul(first[0]!, w)), g.sum(g.mul(first[1]!, w)));
            return [...first, ...g.grad(s, [pl, vl], { unusedAsNull: false })];
          };
          const fused = grads(g.softmaxHvp);
          const comp = grads(g.softmaxHvpComposite);
          fused.forEach((t, i) => expectClose(t, comp[i]!, d));
        });
      }
    });

    it('the fused cross-entropy gradient (grad mode off) equals the composite path (createGraph) and softmax(z) - onehot(y)', () => {
      for (const reduction of ['mean', 'sum', 'none'] as const) {
        g.tidy(() => {
          const [n, c] = [5, 7];
          const z = mk([n, c], 5, d, 4);
          z.requiresGrad = true;
          const y = g.tensor([0, 6, 3, 3, 1], [n], { dtype: 'int32' });
          const seed = reduction === 'none' ? mk([n], 6, d) : undefined;
          const loss = (): Tensor => g.crossEntropy(z, y, reduction);
          const opts = { gradOutputs: seed ? [seed] : undefined };
          const [fused] = g.grad(loss(), [z], opts);
          const [composite] = g.grad(loss(), [z], { ...opts, createGraph: true });
          expect(fused!.requiresGrad).toBe(false);
          expect(composite!.requiresGrad).toBe(true);
          expectClose(fused!, composite!, d);
          // closed form: (softmax(z) - onehot(y)) * dL/drow
          const rowScale = seed ? g.reshape(seed, [n, 1]) : reduction === 'mean' ? 1 / n : 1;
          const want = g.mul(g.sub(g.softmax(g.detach(z)), g.oneHot(y, c, d)), rowScale);
          expectClose(fused!, want, d);
          // second order goes through the composite path; it equals the softmax Hessian product
          const v = mk([n, c], 7, d);
          const [hv] = g.grad(g.sum(g.mul(composite!, v)), [z]);
          const p = g.softmax(g.detach(z));
          expectClose(hv!, g.mul(g.softmaxHvpComposite(p, v), rowScale), d);
        });
      }
    });

    for (const shape of [[6, 3], [3, 4, 2, 3], [1, 2, 3, 3]]) {
      it(`batchNorm fused backward = batchNormBackwardComposite = autograd of batchNormTrainComposite, input [${shape}]`, () => {
        g.tidy(() => {
          const c = shape[1]!;
          const x = mk(shape, 8, d, 2);
          const gamma = g.add(mk([c], 9, d), 1);
          const beta = mk([c], 10, d);
          const gy = mk(shape, 11, d);
          const eps = 1e-3;
          const track = (t: Tensor): Tensor => {
            const l = g.detach(t);
            l.requiresGrad = true;
            return l;
          };
          const [xl, gl, bl] = [track(x), track(gamma), track(beta)];
          // grad mode off in grad(): the fused kernel runs
          const fused = g.grad(g.batchNorm(xl, gl, bl, null, null, { training: true, eps }), [xl, gl, bl], { gradOutputs: [gy] });
          const composite = g.batchNormBackwardComposite(x, gy, gamma, eps);
          const [xa, ga, ba] = [track(x), track(gamma), track(beta)];
          const auto = g.grad(g.batchNormTrainComposite(xa, ga, ba, eps), [xa, ga, ba], { gradOutputs: [gy] });
          // createGraph: the op's own composite backward runs
          const [xc, gc, bc] = [track(x), track(gamma), track(beta)];
          const recorded = g.grad(g.batchNorm(xc, gc, bc, null, null, { training: true, eps }), [xc, gc, bc], { gradOutputs: [gy], createGraph: true });
          for (let i = 0; i < 3; i++) {
            expectClose(fused[i]!, composite[i]!, d);
            expectClose(fused[i]!, auto[i]!, d);
            expectClose(recorded[i]!, auto[i]!, d);
          }
        });
      });
    }
  });
}
