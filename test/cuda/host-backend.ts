/**
 * The `cuda-host` backend (tests only, never registered for users): the CudaBackend class driving
 * the host build of native/cuda, whose dispatchers and __host__ __device__ kernel bodies are the
 * ones the GPU runs, replayed on the CPU. It lets CI check the CUDA kernels' index arithmetic and
 * the whole TypeScript-to-native encoding without a GPU.
 */
import { existsSync } from 'node:fs';
import * as g from '../../src/index.js';
import { addonPath, loadAddon } from '../../src/backends/cuda/addon.js';
import { CudaBackend } from '../../src/backends/cuda/cuda-backend.js';

/** Not a user-facing device name; widened on purpose so the engine can hold it for tests. */
export const HOST_DEVICE = 'cuda-host' as string as g.DeviceName;

export interface HostStatus {
  ok: boolean;
  reason: string;
}

/** Whether the host build exists; in CI it must (the install step builds it). */
export function hostStatus(): HostStatus {
  const file = addonPath('host');
  if (existsSync(file)) return { ok: true, reason: '' };
  return { ok: false, reason: `${file} is not built (run 'npm run build:cuda')` };
}

/** A fresh CudaBackend over the host build (for kernel-level tests against the cpu backend). */
export function hostBackend(): CudaBackend {
  const addon = loadAddon('host');
  addon.init();
  return new CudaBackend(addon, HOST_DEVICE, 'host build of the CUDA kernels');
}

let registered = false;

/** Register and initialize `cuda-host` with the engine (for op-level tests: parity, autograd). */
export async function useHostDevice(): Promise<void> {
  if (!registered) {
    registered = true;
    g.registerBackend(HOST_DEVICE, async () => hostBackend());
  }
  await g.initBackend(HOST_DEVICE);
}
