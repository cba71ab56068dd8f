// The cross-backend parity suite (forward, first and second order against the cpu reference)
// over every sample of OP_SAMPLES, run on the host build of the CUDA kernels; float32 through the
// shared harness, float64 with a tight tolerance.
import { describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import { engine } from '../../src/engine.js';
import { OP_SAMPLES } from '../helpers/opinfo.js';
import { parity } from '../helpers/parity.js';
import { HOST_DEVICE, hostStatus, useHostDevice } from './host-backend.js';
import { parity64 } from './parity64.js';

const status = hostStatus();
const mustHave = process.env.CI === 'true';
if (!status.ok) console.log(`test/cuda/host-parity: ${mustHave ? 'FAILING' : 'skipped'}: ${status.reason}`);

describe('cuda host build: the install step built it', () => {
  it.runIf(mustHave)('gradreg_cuda_host.node exists in CI', () => {
    expect(status.reason).toBe('');
  });
});

describe.skipIf(!status.ok)('cuda host build: parity with the cpu reference over OP_SAMPLES', () => {
  for (const sample of OP_SAMPLES) {
    it(`float32 ${sample.name}`, async () => {
      await useHostDevice();
      const r = await parity(sample, HOST_DEVICE);
      expect(r.forward, 'forward').toBeLessThanOrEqual(1);
      expect(r.first, 'first order').toBeLessThanOrEqual(1);
      expect(r.second, 'second order').toBeLessThanOrEqual(1);
    });
    it(`float64 ${sample.name}`, async () => {
      await useHostDevice();
      const [forward, first, second] = await parity64(sample, HOST_DEVICE);
      expect(forward, 'forward').toBeLessThanOrEqual(1);
      expect(first ?? 0, 'first order').toBeLessThanOrEqual(1);
      expect(second ?? 0, 'second order').toBeLessThanOrEqual(1);
    });
  }

  it('returns every byte once the tensors are gone', async () => {
    await useHostDevice();
    const before = engine.liveBytes()[HOST_DEVICE];
    const t = g.tidy(() => g.sum(g.exp(g.ones([64, 64], { device: HOST_DEVICE }))));
    expect(await t.item()).toBeCloseTo(4096 * Math.E, 1);
    t.dispose();
    expect(engine.liveBytes()[HOST_DEVICE]).toBe(before);
  });
});
