import { describe, expect, it } from 'vitest';
import * as g from '../src/index.js';

describe('engine smoke', () => {
  it('differentiates exp(x) * x twice', () => {
    const x = g.tensor([1, 2, 3, 4], [2, 2], { dtype: 'float64', requiresGrad: true });
    const [gx] = g.grad(g.sum(g.mul(g.exp(x), x)), [x], { createGraph: true });
    const [ggx] = g.grad(g.sum(gx!), [x]);
    const want = [1, 2, 3, 4].map((v) => Math.exp(v) * (v + 2));
    const got = Array.from(ggx!.dataSync());
    got.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 10));
  });
});
