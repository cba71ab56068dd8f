/**
 * The batched vjp (grad's `batched`, vjp's `{ batched: true }`): K cotangents through one recorded
 * forward. Every exact Jacobian penalty in '/batched' mode equals '/loop' to 1e-10 in float64 on the
 * papers' three models (the ResNet with batch norm), value and weight gradient; the batched vjp
 * differentiates correctly to order 2; it holds one copy of the forward's tensors.
 */
import { describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import * as R from '../../src/regularizers/index.js';
import { createModel } from '../../src/nn/index.js';
import { batchedFallbacks } from '../../src/autograd/grad.js';
import { setBatchNormDoubleBackward, setBatchNormStacks } from '../../src/ops/batchnorm.js';
import { setPoolStacks } from '../../src/ops/pool.js';
import { host, labels, t64, values } from './fixtures.js';

const C = 5;

type Pen = (f: (x: Tensor) => Tensor, x: Tensor, y: Tensor, mode: R.PullMode) => Tensor;
const PENALTIES: [string, Pen][] = [
  ['jac', (f, x, _y, mode) => R.jacReg(f, x, { classes: C, mode }).penalty],
  ['fob', (f, x, _y, mode) => R.frobReg(f, x, { classes: C, mode }).penalty],
  ['hsfob', (f, x, _y, mode) => R.hsfob(f, x, { classes: C, mode }).penalty],
  ['hsfob-db1', (f, x, y, mode) => R.hsfobDb1(f, x, y, { classes: C, mode }).penalty],
  ['hsfob-db2', (f, x, y, mode) => R.hsfobDb2(f, x, y, { classes: C, mode }).penalty],
];

const MODELS: [string, [number, number, number], number][] = [
  ['small', [1, 18, 18], 2],
  ['lenet5', [1, 28, 28], 2],
  ['resnet', [3, 8, 8], 3],
];

/** max |a - b| over max(1, max |a|): the agreement the tests require to be <= 1e-10. */
function relDiff(a: Float64Array | number[], b: Float64Array | number[]): number {
  let d = 0;
  let m = 1;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(a[i]!));
  }
  return d / m;
}

function hostAll(ts: readonly Tensor[]): number[] {
  return ts.flatMap((t) => Array.from(host(t)));
}

describe('batched vjp equals the loop of vjps (float64, 1e-10)', () => {
  for (const [name, shape, n] of MODELS) {
    it(`${name}: every exact penalty, value and weight gradient`, () => {
      const model = createModel(name, { inputShape: shape, classes: C, seed: 3, dtype: 'float64' });
      const params = model.parameters();
      expect(params.every((p) => p.dtype === 'float64')).toBe(true);
      const x = t64(values(n * shape[0] * shape[1] * shape[2], 17, 1), [n, ...shape]);
      const y = labels(Array.from({ length: n }, (_, i) => (i * 3 + 1) % C));
      const f = (xx: Tensor): Tensor => model.forward(xx);
      batchedFallbacks.clear();
      for (const [pen, fn] of PENALTIES) {
        g.tidy(() => {
          const a = fn(f, x, y, 'loop');
          const b = fn(f, x, y, 'batched');
          const ga = g.grad(a, [...params], { retainGraph: true, allowUnused: true });
          const gb = g.grad(b, [...params], { retainGraph: true, allowUnused: true });
          expect(relDiff(host(a), host(b)), `${name} ${pen} value`).toBeLessThanOrEqual(1e-10);
          expect(relDiff(hostAll(ga), hostAll(gb)), `${name} ${pen} weight gradient`).toBeLessThanOrEqual(1e-10);
          // not vacuous: the gradient is nonzero
          expect(Math.max(...hostAll(gb).map(Math.abs))).toBeGreaterThan(1e-8);
        });
      }
      // every op of the model's forward ran its batched rule, none once per cotangent
      expect(Object.fromEntries(batchedFallbacks)).toEqual({});
      model.dispose();
    });
  }

  for (const bnMode of ['closed-form', 'composite'] as const) {
    it(`the ResNet with batch norm's double backward '${bnMode}': fob and hsfob-db1 batched equal loop`, () => {
      const [, shape, n] = MODELS[2]!;
      const prev = setBatchNormDoubleBackward(bnMode);
      try {
        const model = createModel('resnet', { inputShape: shape, classes: C, seed: 3, dtype: 'float64' });
        const params = model.parameters();
        const x = t64(values(n * shape[0] * shape[1] * shape[2], 19, 1), [n, ...shape]);
        const y = labels(Array.from({ length: n }, (_, i) => i % C));
        for (const [, fn] of [PENALTIES[1]!, PENALTIES[3]!]) {
          g.tidy(() => {
            const a = fn((xx) => model.forward(xx), x, y, 'loop');
            const b = fn((xx) => model.forward(xx), x, y, 'batched');
            expect(relDiff(host(a), host(b))).toBeLessThanOrEqual(1e-10);
            expect(relDiff(hostAll(g.grad(a, [...params], { allowUnused: true })), hostAll(g.grad(b, [...params], { allowUnused: true })))).toBeLessThanOrEqual(1e-10);
          });
        }
        model.dispose();
      } finally {
        setBatchNormDoubleBackward(prev);
      }
    });
  }

  it('the whole cotangent stack in one batch-norm or max-pool call equals one call per block (small CNN, ResNet: fob, value and weight gradient)', () => {
    for (const [name, shape, n] of [MODELS[0]!, MODELS[2]!]) {
      const model = createModel(name as 'small' | 'resnet', { inputShape: shape, classes: C, seed: 5, dtype: 'float64' });
      const params = model.parameters();
      const x = t64(values(n * shape[0] * shape[1] * shape[2], 23, 1), [n, ...shape]);
      const run = (stacks: boolean): number[] => {
        const prevBn = setBatchNormStacks(stacks);
        const prevPool = setPoolStacks(stacks);
        try {
          return g.tidy(() => {
            const p = R.frobReg((xx) => model.forward(xx), x, { classes: C, mode: 'batched' }).penalty;
            return [...Array.from(host(p)), ...hostAll(g.grad(p, [...params], { allowUnused: true }))];
          });
        } finally {
          setBatchNormStacks(prevBn);
          setPoolStacks(prevPool);
        }
      };
      const one = run(true), perBlock = run(false);
      expect(relDiff(one, perBlock), name).toBeLessThanOrEqual(1e-12);
      expect(Math.max(...one.map(Math.abs)), name).toBeGreaterThan(1e-8);
      model.dispose();
    }
  });

  it('the ResNet: replicating the batch instead (the earlier /batched) mixes the cotangents in batch norm', () => {
    const [, shape, n] = MODELS[2]!;
    const model = createModel('resnet', { inputShape: shape, classes: C, seed: 3, dtype: 'float64' });
    const x = t64(values(n * shape[0] * shape[1] * shape[2], 17, 1), [n, ...shape]);
    g.tidy(() => {
      const loop = R.pullback((xx) => model.forward(xx), x, 'logits', R.allClasses(C), 'loop').rows;
      const batched = R.pullback((xx) => model.forward(xx), x, 'logits', R.allClasses(C), 'batched').rows;
      // the replicated form: C copies of the batch, one vjp with the C cotangent blocks stacked
      const xr = g.detach(g.concat(new Array<Tensor>(C).fill(x), 0));
      xr.requiresGrad = true;
      const zr = g.withGrad(true, () => model.forward(xr));
      const u = g.concat(R.allClasses(C).map((cot) => cot(g.slice(zr, [0, 0], [n, C]), 0)), 0);
      const [r] = g.grad(zr, [xr], { gradOutputs: [u] });
      const replicated = g.reshape(r!, loop.shape);
      expect(relDiff(host(loop), host(batched))).toBeLessThanOrEqual(1e-10);
      expect(relDiff(host(loop), host(replicated))).toBeGreaterThan(1e-3);
    });
    model.dispose();
  });
});

/** conv -> batch norm -> tanh -> max pool -> dense -> softmax, on explicit parameters. */
function tinyNet(x: Tensor, w: Tensor, gamma: Tensor, beta: Tensor, v: Tensor): Tensor {
  const h = g.conv2d(x, w, null, { padding: 1 });
  const b = g.batchNorm(h, gamma, beta, null, null, { training: true });
  const p = g.maxPool2d(g.tanh(b), { kernel: 2 });
  return g.softmax(g.matmulT(g.flatten(p), v, false, true), -1);
}

describe('the batched vjp itself', () => {
  const n = 3;
  const x = t64(values(n * 2 * 4 * 4, 5, 1), [n, 2, 4, 4]);
  const w = t64(values(3 * 2 * 9, 6, 0.5), [3, 2, 3, 3]);
  const gamma = t64(values(3, 7, 0.4).map((v) => v + 1), [3]);
  const beta = t64(values(3, 8, 0.3), [3]);
  const v = t64(values(4 * 12, 9, 0.6), [4, 12]);
  const K = 3;
  const u = t64(values(K * n * 4, 10, 1), [K, n, 4]);

  it('row j is the vjp of cotangent j (grad and vjp APIs)', () => {
    g.tidy(() => {
      const f = (xx: Tensor, ww: Tensor): Tensor => tinyNet(xx, ww, gamma, beta, v);
      const { grads } = g.vjp(f, [x, w], u, { batched: true });
      expect(grads[0]!.shape).toEqual([K, ...x.shape]);
      expect(grads[1]!.shape).toEqual([K, ...w.shape]);
      for (let j = 0; j < K; j++) {
        const uj = g.reshape(g.slice(u, [j, 0, 0], [1, n, 4]), [n, 4]);
        const one = g.vjp(f, [x, w], uj).grads;
        for (let i = 0; i < 2; i++) {
          const row = g.reshape(g.slice(grads[i]!, [j, ...one[i]!.shape.map(() => 0)], [1, ...one[i]!.shape]), one[i]!.shape);
          expect(relDiff(host(one[i]!), host(row))).toBeLessThanOrEqual(1e-12);
        }
      }
    });
  });

  it('gradcheck at order 2 in x, the weights, batch norm and the cotangents', () => {
    const fn = (xx: Tensor, ww: Tensor, ga: Tensor, be: Tensor, vv: Tensor, uu: Tensor): Tensor => {
      const xl = g.detach(xx);
      const leaves = [xx.requiresGrad ? xx : xl];
      leaves[0]!.requiresGrad = true;
      const out = tinyNet(leaves[0]!, ww, ga, be, vv);
      const [r] = g.grad(out, leaves, { gradOutputs: [uu], batched: true, createGraph: true });
      return r!;
    };
    const report = g.gradcheck(fn, [x, w, gamma, beta, v, u], { order: 2, atol: 1e-6, rtol: 1e-4 });
    expect(report.ok).toBe(true);
    expect(report.orders.map((o) => o.order)).toEqual([1, 2]);
  });

  it('errors name the expected shape', () => {
    const f = (xx: Tensor): Tensor => tinyNet(xx, w, gamma, beta, v);
    expect(() => g.vjp(f, [x], g.reshape(u, [K * n, 4]), { batched: true })).toThrow(/batched cotangents must have shape \[K, 3, 4\]/);
    expect(() => g.vjp(f, [x], undefined, { batched: true })).toThrow(g.ArgumentError);
  });

  it('holds one copy of the forward (live bytes), and a backward graph the size of the loop one', () => {
    const model = createModel('small', { inputShape: [1, 18, 18], classes: C, seed: 3, dtype: 'float64' });
    const xs = t64(values(4 * 18 * 18, 21, 1), [4, 1, 18, 18]);
    const bytes = (): number => g.memory().bytes.cpu ?? 0;
    const measure = (mode: 'loop' | 'batched'): { forward: number; total: number } =>
      g.tidy(() => {
        const before = bytes();
        let forward = -1;
        R.pullback((xx) => {
          const z = model.forward(xx);
          forward = bytes() - before;
          return z;
        }, xs, 'logits', R.allClasses(C), mode);
        return { forward, total: bytes() - before };
      });
    const single = g.tidy(() => {
      const before = bytes();
      const xl = g.detach(xs);
      xl.requiresGrad = true;
      g.withGrad(true, () => model.forward(xl));
      return bytes() - before;
    });
    const loop = measure('loop');
    const batched = measure('batched');
    expect(single).toBeGreaterThan(0);
    // the forward the C cotangents go through is held once (the replicated form held C copies)
    expect(batched.forward).toBe(single);
    expect(loop.forward).toBe(single);
    // the backward graph: the same K-sized gradients as the loop's K passes, give or take the
    // batched rules' own intermediates (the stacked cotangents, the pooling blocks' concat)
    expect(batched.total - batched.forward).toBeLessThanOrEqual(1.25 * (loop.total - loop.forward));
    model.dispose();
  });
});
