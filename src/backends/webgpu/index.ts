/**
 * Entry point of the WebGPU backend, loaded lazily by the backend registry. `create()` returns the
 * process-wide backend (one Dawn device per process); `openBackend()` opens a separate device
 * (tests use it to check device loss without touching the shared one).
 */
import type { Backend } from '../backend.js';
import { WebGPUBackend } from './backend.js';
import { Runtime, type OpenOptions } from './runtime.js';

export { WebGPUBackend } from './backend.js';
export type { RuntimeStats } from './runtime.js';

let shared: Promise<WebGPUBackend> | null = null;

/** The process-wide WebGPU backend. Throws DeviceError (with the reason) when no adapter exists. */
export async function create(): Promise<Backend> {
  if (!shared) {
    shared = Runtime.open().then((rt) => new WebGPUBackend(rt));
    shared.catch(() => {
      shared = null;
    });
  }
  return shared;
}

/** A backend on its own new device. */
export async function openBackend(opts: OpenOptions = {}): Promise<WebGPUBackend> {
  return new WebGPUBackend(await Runtime.open(opts));
}
