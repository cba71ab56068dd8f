/**
 * Every op sample of the shared table (test/helpers/opinfo.ts) on WebGPU against the cpu reference
 * in float32: forward value, first-order gradients and second-order gradients (double backprop).
 * The table grows as ops are added; this file runs whatever it holds.
 */
import { describe, expect, it } from 'vitest';
import { OP_SAMPLES } from '../helpers/opinfo.js';
import { parity } from '../helpers/parity.js';
import { skipGpu, skipNote } from './env.js';

describe.skipIf(skipGpu)(`webgpu parity with cpu over OP_SAMPLES (forward, first and second order)${skipNote}`, () => {
  for (const sample of OP_SAMPLES) {
    it(sample.name, async () => {
      const r = await parity(sample, 'webgpu');
      expect(r.forward, 'forward').toBeLessThanOrEqual(1);
      expect(r.first, 'first order').toBeLessThanOrEqual(1);
      expect(r.second, 'second order').toBeLessThanOrEqual(1);
    });
  }
});
