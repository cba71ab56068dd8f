// Checks of the CUDA backends (host build and device) beyond the shared kernel suite: exact
// memory accounting and the DeviceErrors the addon raises, naming the kernel.
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/backend.js';
import { DeviceError } from '../../src/errors.js';

export function defineCudaKernelChecks(label: string, enabled: boolean, get: () => Backend): void {
  let cached: Backend | null = null;
  const devOf = (): Backend => (cached ??= get());
  describe.skipIf(!enabled)(`${label}: memory and errors`, () => {
    it('frees everything it allocates', async () => {
      const before = devOf().liveBytes();
      const s = devOf().fill(100, 1, 'float64');
      expect(devOf().liveBytes() - before).toBe(800);
      const t = devOf().unary('exp', { storage: s, shape: [100], dtype: 'float64' }, 0);
      expect(Array.from(await devOf().read(t)).every((v) => Math.abs(v - Math.E) < 1e-15)).toBe(true);
      devOf().dispose(s);
      devOf().dispose(t);
      expect(devOf().liveBytes()).toBe(before);
    });

    it('a freed buffer and a short buffer are DeviceErrors that name the kernel', () => {
      const s = devOf().fill(4, 1, 'float32');
      devOf().dispose(s);
      expect(() => devOf().unary('exp', { storage: s, shape: [4], dtype: 'float32' }, 0)).toThrow(DeviceError);
      expect(() => devOf().unary('exp', { storage: s, shape: [4], dtype: 'float32' }, 0)).toThrow(/unary.*freed buffer handle/);
      const small = devOf().fill(2, 1, 'float32');
      expect(() => devOf().unary('exp', { storage: small, shape: [4], dtype: 'float32' }, 0)).toThrow(/kernel 'unary': buffer 1 holds 8 bytes, needs 16/);
      devOf().dispose(small);
    });

    it('kernels that need floats reject int32 with a DeviceError naming the kernel', () => {
      const s = devOf().fill(6, 1, 'int32');
      expect(() => devOf().softmax({ storage: s, shape: [2, 3], dtype: 'int32' })).toThrow(/kernel 'softmax': dtype int32 is not supported/);
      devOf().dispose(s);
    });
  });

}
