import { describe, expect, it } from 'vitest';
import { OP_SAMPLES } from '../helpers/opinfo.js';
import { parity } from '../helpers/parity.js';
import { missingReason, nativeBackend, runNative } from './native.js';

describe.runIf(runNative)('native backend parity with the cpu reference (forward, first and second order)', () => {
  it('the addon is built and loads', () => {
    expect(missingReason).toBeNull();
  });

  for (const sample of OP_SAMPLES) {
    it(sample.name, async () => {
      await nativeBackend();
      const r = await parity(sample, 'native');
      expect(r.forward, 'forward').toBeLessThanOrEqual(1);
      expect(r.first, 'first order').toBeLessThanOrEqual(1);
      expect(r.second, 'second order').toBeLessThanOrEqual(1);
    });
  }
});

// The convolution samples again with each of the fused convolution's algorithms forced (auto picks
// one per geometry; these small samples would otherwise never reach most of them), first and second
// order through each. 'winograd' runs Winograd F(2x2, 3x3) on the 3x3 stride-1 samples under the
// AVX-512 micro-kernel (auto on the others), 'winograd4' F(4x4, 3x3); 'flat' the pixel-major batch
// GEMM on all; 'polyphase' the input gradient of the strided samples (float32), phase by phase. The
// Winograd ones twice: their input gradient as the forward's adjoint and as the
// convolution of the padded gy (GRADREG_NATIVE_WINOGRAD_DX).
describe.runIf(runNative)('native parity of the convolution samples under every forced conv algorithm', () => {
  for (const sample of OP_SAMPLES.filter((s) => s.name.includes('conv2d'))) {
    const algos = ['im2col', 'implicit', 'direct', 'winograd', 'winograd4', 'flat', 'polyphase'] as const;
    for (const [algo, dx] of algos.flatMap((a): [(typeof algos)[number], string][] => (a.startsWith('winograd') ? [[a, 'adjoint'], [a, 'conv']] : [[a, '']]))) {
      it(`${sample.name} [${algo}${dx ? ` dx ${dx}` : ''}]`, async () => {
        const be = await nativeBackend();
        const prev = be.setConvAlgorithm(algo);
        const prevDx = process.env.GRADREG_NATIVE_WINOGRAD_DX;
        process.env.GRADREG_NATIVE_WINOGRAD_DX = dx;
        try {
          const r = await parity(sample, 'native');
          expect(r.forward, 'forward').toBeLessThanOrEqual(1);
          expect(r.first, 'first order').toBeLessThanOrEqual(1);
          expect(r.second, 'second order').toBeLessThanOrEqual(1);
        } finally {
          be.setConvAlgorithm(prev);
          if (prevDx === undefined) delete process.env.GRADREG_NATIVE_WINOGRAD_DX;
          else process.env.GRADREG_NATIVE_WINOGRAD_DX = prevDx;
        }
      });
    }
  }
});
