// The real CUDA backend, whenever a device is present: the parity suite over OP_SAMPLES (forward,
// first and second order against the cpu reference, float32 and float64), the kernel-level suite
// and the training comparison. Without a device (or without the built addon) it skips and prints why.
import { describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import { engine } from '../../src/engine.js';
import { registerDefaultBackends } from '../../src/backends/registry.js';
import { OP_SAMPLES } from '../helpers/opinfo.js';
import { parity } from '../helpers/parity.js';
import { defineKernelSuite } from '../kernels/suite.js';
import { defineCudaKernelChecks } from './kernel-errors.js';
import { parity64 } from './parity64.js';
import { defineTrainingSuite } from './training-suite.js';

registerDefaultBackends();
const probe = await g.initBackend('cuda').then(
  () => ({ ok: true, reason: '' }),
  (e: unknown) => ({ ok: false, reason: e instanceof Error ? e.message : String(e) }),
);
if (probe.ok) console.log(`test/cuda/cuda-device: running on ${g.deviceInfo('cuda')}`);
else console.log(`test/cuda/cuda-device: skipped, no usable CUDA device: ${probe.reason}`);

describe.skipIf(!probe.ok)('cuda device: parity with the cpu reference over OP_SAMPLES', () => {
  for (const sample of OP_SAMPLES) {
    it(`float32 ${sample.name}`, async () => {
      const r = await parity(sample, 'cuda');
      expect(r.forward, 'forward').toBeLessThanOrEqual(1);
      expect(r.first, 'first order').toBeLessThanOrEqual(1);
      expect(r.second, 'second order').toBeLessThanOrEqual(1);
    });
    it(`float64 ${sample.name}`, async () => {
      const [forward, first, second] = await parity64(sample, 'cuda');
      expect(forward, 'forward').toBeLessThanOrEqual(1);
      expect(first ?? 0, 'first order').toBeLessThanOrEqual(1);
      expect(second ?? 0, 'second order').toBeLessThanOrEqual(1);
    });
  }
  it('returns every byte once the tensors are gone', async () => {
    const before = engine.liveBytes().cuda;
    const t = g.tidy(() => g.sum(g.exp(g.ones([64, 64], { device: 'cuda' }))));
    expect(await t.item()).toBeCloseTo(4096 * Math.E, 1);
    t.dispose();
    expect(engine.liveBytes().cuda).toBe(before);
  });
});

defineKernelSuite('cuda device', probe.ok, () => engine.backend('cuda'));
defineCudaKernelChecks('cuda device', probe.ok, () => engine.backend('cuda'));
defineTrainingSuite('cuda device', probe.ok, 'cuda', async () => {}, 1e-3);
