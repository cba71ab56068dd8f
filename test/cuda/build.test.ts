// The addon build: in CI (CI=true, nvcc installed) the install step must have compiled the CUDA
// addon, so a CUDA compile error fails CI here. Everywhere, `create()` must say which piece is
// missing: the addon, a device, or a working driver.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DeviceError } from '../../src/errors.js';
import { addonPath, loadAddon } from '../../src/backends/cuda/addon.js';
import { create } from '../../src/backends/cuda/index.js';

const inCI = process.env.CI === 'true';
const cudaFile = addonPath('cuda');

describe('cuda addon build', () => {
  it.runIf(inCI)('CI compiled gradreg_cuda.node (scripts/build-cuda.mjs ran with nvcc)', () => {
    expect(existsSync(cudaFile), `${cudaFile} is missing: the CUDA build failed or was skipped`).toBe(true);
  });

  it.runIf(inCI)('CI compiled the host test build gradreg_cuda_host.node', () => {
    expect(existsSync(addonPath('host'))).toBe(true);
  });

  it('the built addon loads without a GPU and exposes the N-API surface', () => {
    if (!existsSync(cudaFile)) {
      console.log(`test/cuda/build: ${cudaFile} not built here; load check skipped`);
      return;
    }
    const addon = loadAddon('cuda');
    expect(addon.kind).toBe('cuda');
    for (const fn of ['init', 'alloc', 'free', 'upload', 'download', 'launch', 'synchronize', 'deviceInfo', 'memoryInfo'] as const) {
      expect(typeof addon[fn], fn).toBe('function');
    }
  });

  it('create() resolves to a backend, or throws a DeviceError naming what is missing', async () => {
    let backendName = '';
    let error: unknown = null;
    try {
      backendName = (await create()).name;
    } catch (e) {
      error = e;
    }
    if (error === null) {
      expect(backendName).toBe('cuda');
      return;
    }
    expect(error).toBeInstanceOf(DeviceError);
    const msg = (error as Error).message;
    if (!existsSync(cudaFile)) expect(msg).toMatch(/CUDA addon is not built .*npm run build:cuda/);
    else expect(msg).toMatch(/^cuda: (no CUDA device|CUDA driver error|the CUDA runtime failed to start): /);
  });
});
