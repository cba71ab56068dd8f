/**
 * The CUDA backend, created lazily by the registry (`engine.registerBackend('cuda', ...)`).
 * `create()` throws a DeviceError that says what is missing: the addon (not built), a device, or
 * a working driver.
 */
import { DeviceError } from '../../errors.js';
import type { Backend } from '../backend.js';
import { addonErrorCode, loadAddon } from './addon.js';
import { CudaBackend } from './cuda-backend.js';

export { CudaBackend } from './cuda-backend.js';

/** One line for `deviceInfo()`: GPU, compute capability, memory, GEMM path. */
export function describeDevice(info: Record<string, string>): string {
  const gib = (Number(info.totalMemory ?? 0) / 2 ** 30).toFixed(1);
  return `CUDA ${info.name ?? 'device'} (sm ${info.computeCapability ?? '?'}, ${gib} GiB, driver ${info.driverVersion ?? '?'}, runtime ${info.runtimeVersion ?? '?'}; GEMM: ${info.gemm ?? '?'})`;
}

export async function create(): Promise<Backend> {
  const addon = loadAddon('cuda');
  let info: Record<string, string>;
  try {
    info = addon.init();
  } catch (e) {
    const code = addonErrorCode(e);
    const msg = e instanceof Error ? e.message : String(e);
    if (code === 'GR_NO_DEVICE') throw new DeviceError(`cuda: no CUDA device: ${msg}`);
    if (code === 'GR_DRIVER') throw new DeviceError(`cuda: CUDA driver error: ${msg}`);
    throw new DeviceError(`cuda: the CUDA runtime failed to start: ${msg}`);
  }
  return new CudaBackend(addon, 'cuda', describeDevice(info));
}
