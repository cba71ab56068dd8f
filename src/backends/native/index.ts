/** Entry point of the native CPU backend, loaded lazily by the backend registry. */
import type { Backend } from '../backend.js';
import { DeviceError } from '../../errors.js';
import { loadAddon } from './addon.js';
import { NativeBackend } from './backend.js';

export { NativeBackend } from './backend.js';
export { NativeStorage, sizeClass } from './buffers.js';
export { addonPath, loadAddon, type Isa, type NativeAddon } from './addon.js';

/** The native backend, or a DeviceError saying why the addon cannot be used. */
export async function create(): Promise<Backend> {
  const addon = loadAddon();
  if (typeof addon === 'string') throw new DeviceError(`native: unavailable: ${addon}`);
  return new NativeBackend(addon);
}
