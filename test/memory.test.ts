/**
 * tidy() frees every intermediate: a training loop of double-backprop steps (small CNN with batch
 * norm and running statistics, tiny batch, parameter updates through assign) holds a flat number
 * of live tensors and live bytes.
 */
import { describe, expect, it } from 'vitest';
import * as g from '../src/index.js';
import type { Tensor } from '../src/index.js';

const opts = { dtype: 'float32' as const };

function smallCnn(): { params: Tensor[]; runMean: Tensor; runVar: Tensor } {
  const params = [
    g.randn([4, 1, 3, 3], { ...opts, seed: 1, std: 0.4, requiresGrad: true }),
    g.zeros([4], { ...opts, requiresGrad: true }),
    g.ones([4], { ...opts, requiresGrad: true }),
    g.zeros([4], { ...opts, requiresGrad: true }),
    g.randn([4 * 4 * 4, 10], { ...opts, seed: 2, std: 0.15, requiresGrad: true }),
    g.zeros([10], { ...opts, requiresGrad: true }),
  ];
  return { params, runMean: g.zeros([4], opts), runVar: g.ones([4], opts) };
}

/** One step: J = L + lambda ||dL/dx||^2 by double backprop, then p <- p - lr dJ/dp via assign. */
function step(x: Tensor, y: Tensor, m: ReturnType<typeof smallCnn>): number {
  return g.tidy(() => {
    const [w1, b1, gamma, beta, w2, b2] = m.params as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
    const xl = g.detach(x);
    xl.requiresGrad = true;
    let h = g.conv2d(xl, w1, b1, { padding: 1 });
    h = g.batchNorm(h, gamma, beta, m.runMean, m.runVar, { training: true, momentum: 0.1 });
    h = g.maxPool2d(g.relu(h), { kernel: 2 });
    const logits = g.add(g.matmul(g.flatten(h), w2), b2);
    const loss = g.crossEntropy(logits, y);
    const [gx] = g.grad(loss, [xl], { createGraph: true });
    const total = g.add(loss, g.mul(g.sum(g.square(gx!)), 0.1));
    const grads = g.grad(total, m.params);
    m.params.forEach((p, i) => g.assign(p, g.sub(p, g.mul(grads[i]!, 0.05))));
    return total.dataSync()[0]!;
  });
}

describe('memory', () => {
  it('100 double-backprop steps keep the live-tensor count and the cpu bytes flat', () => {
    const m = smallCnn();
    const x = g.rand([2, 1, 8, 8], { ...opts, seed: 3 });
    const y = g.tensor([3, 7], [2], { dtype: 'int32' });
    const losses: number[] = [step(x, y, m)];
    const before = g.memory();
    const paramBytes = m.params.reduce((s, p) => s + p.size * 4, 0);
    for (let i = 1; i < 100; i++) {
      losses.push(step(x, y, m));
      const now = g.memory();
      expect(now.numTensors).toBe(before.numTensors);
      expect(now.bytes['cpu']).toBe(before.bytes['cpu']);
    }
    // The parameters did move and training did make progress on the batch.
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[99]!).toBeLessThan(0.5 * losses[0]!);
    // Only the model state and the batch are alive: 6 params, 2 running stats, x and y.
    expect(g.memory().numTensors).toBe(10);
    expect(g.memory().bytes['cpu']).toBe(paramBytes + 2 * 4 * 4 + x.size * 4 + y.size * 4);
  });

  it('tidy frees everything a throwing function created, and nested scopes hand results outward', () => {
    const start = g.memory();
    expect(() =>
      g.tidy(() => {
        g.mul(g.ones([10]), 2);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(g.memory().numTensors).toBe(start.numTensors);
    const out = g.tidy(() => {
      const inner = g.tidy(() => {
        const a = g.ones([3]);
        return { a: g.add(a, 1), list: [g.mul(a, 3)] };
      });
      return g.add(inner.a, inner.list[0]!);
    });
    expect(Array.from(out.dataSync())).toEqual([5, 5, 5]);
    expect(g.memory().numTensors).toBe(start.numTensors + 1);
    out.dispose();
    expect(g.memory().numTensors).toBe(start.numTensors);
    expect(g.memory().bytes['cpu']).toBe(start.bytes['cpu']);
  });

  it('keep() lets a tensor outlive its scope; a returned Promise is refused', () => {
    const start = g.memory().numTensors;
    let kept: Tensor | null = null;
    g.tidy(() => {
      kept = g.keep(g.ones([2]));
      g.ones([2]);
    });
    expect(g.memory().numTensors).toBe(start + 1);
    kept!.dispose();
    expect(() => g.tidy(() => Promise.resolve(1))).toThrow('tidy: the function must be synchronous');
  });
});
