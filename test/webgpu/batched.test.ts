/**
 * The batched vjp on WebGPU (float32): the exact penalties' '/batched' mode equals '/loop' on the
 * ResNet (batch norm's per-block fused kernels) and the small CNN (the pooling blocks), value and
 * weight gradient, so the blocked kernels and their stacking run on the device too.
 */
import { describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { createModel } from '../../src/nn/index.js';
import * as R from '../../src/regularizers/index.js';
import { skipGpu, skipNote } from './env.js';

async function flat(ts: readonly Tensor[]): Promise<number[]> {
  const parts = await Promise.all(ts.map((t) => t.data()));
  return parts.flatMap((p) => Array.from(p as Float32Array));
}

function relDiff(a: number[], b: number[]): number {
  let d = 0;
  let m = 1e-6;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(a[i]!));
  }
  return d / m;
}

describe.skipIf(skipGpu)(`webgpu batched vjp${skipNote}`, () => {
  for (const [name, shape] of [['small', [1, 18, 18]], ['resnet', [3, 8, 8]]] as const) {
    it(`${name}: hsfob-db1 batched equals loop (float32)`, async () => {
      const model = createModel(name, { inputShape: shape, classes: 5, seed: 3, device: 'webgpu' });
      const params = model.parameters();
      const x = g.rand([3, ...shape], { device: 'webgpu', seed: 5 });
      const y = g.tensor([0, 3, 1], [3], { dtype: 'int32', device: 'webgpu' });
      const run = (mode: R.PullMode): Tensor[] =>
        g.tidy(() => {
          const p = R.hsfobDb1((xx) => model.forward(xx), x, y, { classes: 5, mode }).penalty;
          return [p, ...g.grad(p, [...params], { allowUnused: true })];
        });
      const a = await flat(run('loop'));
      const b = await flat(run('batched'));
      expect(a.length).toBe(b.length);
      expect(relDiff(a, b)).toBeLessThan(2e-4);
      model.dispose();
      x.dispose();
      y.dispose();
    }, 120_000);
  }
});
