// A small conv net trained with a gradient-norm penalty (double backprop through conv, batch norm,
// max-pool, dropout and cross-entropy) and fused Adam updates, step for step against the same run
// on the cpu reference. Shared by the host build and the real device.
import { describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { applyUpdate } from '../../src/optim/update.js';
import { sampleValues } from '../helpers/opinfo.js';

interface Run {
  losses: number[];
  params: Float64Array[];
}

async function train(device: g.DeviceName, dtype: 'float32' | 'float64'): Promise<Run> {
  const make = (shape: number[], seed: number, scale: number, requiresGrad = true): Tensor =>
    g.tensor(Float64Array.from(sampleValues({ shape }, seed), (v) => v * scale), shape, { dtype, device, requiresGrad });
  const x = make([4, 2, 8, 8], 1, 1, false);
  const labels = g.tensor(Int32Array.from([3, 0, 9, 4]), [4], { dtype: 'int32', device });
  // No conv bias: batch norm cancels it, so its gradient would be pure rounding noise that Adam
  // normalizes into full-size steps of either sign.
  const params = [make([4, 2, 3, 3], 2, 0.3), make([4], 4, 0.2), make([4], 5, 0.1), make([10, 64], 6, 0.2)];
  const [w1, gamma, beta, w2] = params as [Tensor, Tensor, Tensor, Tensor];
  const state = params.map((p) => [g.zerosLike(p), g.zerosLike(p)]);
  const forward = (input: Tensor, step: number): Tensor => {
    const h = g.conv2d(input, w1, null, { stride: 1, padding: 1 });
    const n = g.relu(g.batchNorm(h, gamma, beta, null, null, { training: true }));
    const p = g.dropout(g.maxPool2d(n, { kernel: 2 }), 0.25, { training: true, seed: 77 + step });
    return g.crossEntropy(g.matmul(g.flatten(p), g.transpose(w2)), labels);
  };
  const losses: number[] = [];
  for (let step = 1; step <= 3; step++) {
    const total = g.tidy(() => {
      const input = g.detach(x);
      input.requiresGrad = true;
      const loss = forward(input, step);
      // The input-gradient penalty: ||d loss / d x||^2, differentiated again below.
      const [gx] = g.grad(loss, [input], { createGraph: true });
      const objective = g.add(loss, g.mul(g.sum(g.mul(gx!, gx!)), 10));
      const grads = g.grad(objective, params);
      g.noGrad(() => params.forEach((p, i) => applyUpdate('adam', p, grads[i]!, state[i]!, {
        lr: 0.01, momentum: 0, beta1: 0.9, beta2: 0.999, eps: 1e-7, step, weightDecay: 1e-3, decoupledDecay: 0,
      })));
      return objective;
    });
    losses.push(await total.item());
    total.dispose();
  }
  return { losses, params: await Promise.all(params.map(async (p) => Float64Array.from(await p.data()))) };
}

function worst(got: Float64Array, want: Float64Array): number {
  const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 1e-3);
  return got.reduce((w, v, i) => Math.max(w, Math.abs(v - want[i]!) / scale), 0);
}

/** Define the comparison for `device`; `ready` initializes it (called inside the tests). */
export function defineTrainingSuite(label: string, enabled: boolean, device: g.DeviceName, ready: () => Promise<void>, tol32: number): void {
  describe.skipIf(!enabled)(`${label}: training with a gradient penalty matches the cpu reference`, () => {
    for (const [dtype, tol] of [['float32', tol32], ['float64', 1e-9]] as const) {
      it(`${dtype}: 3 Adam steps of conv + batch norm + max-pool + dropout + cross-entropy + ||grad_x||^2`, async () => {
        await ready();
        const ref = await train('cpu', dtype);
        const got = await train(device, dtype);
        got.losses.forEach((l, i) => expect(Math.abs(l - ref.losses[i]!) / Math.abs(ref.losses[i]!), `loss at step ${i + 1}`).toBeLessThan(tol));
        got.params.forEach((p, i) => expect(worst(p, ref.params[i]!), `parameter ${i}`).toBeLessThan(tol));
        // The run must actually move: the loss changes from step to step.
        expect(Math.abs(ref.losses[2]! - ref.losses[0]!)).toBeGreaterThan(1e-4);
      });
    }
  });
}
