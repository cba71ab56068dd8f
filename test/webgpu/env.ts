/**
 * WebGPU availability for the tests. In CI (CI=true) a missing adapter is a failure; elsewhere the
 * WebGPU tests skip and print why.
 */
import * as g from '../../src/index.js';
import { registerDefaultBackends } from '../../src/backends/registry.js';
import type { WebGPUBackend } from '../../src/backends/webgpu/index.js';
import { engine } from '../../src/engine.js';

registerDefaultBackends();

async function probe(): Promise<{ backend: WebGPUBackend | null; reason: string }> {
  try {
    await g.initBackend('webgpu');
    return { backend: engine.backend('webgpu') as WebGPUBackend, reason: '' };
  } catch (e) {
    return { backend: null, reason: e instanceof Error ? e.message : String(e) };
  }
}

const found = await probe();

export const inCI = process.env.CI === 'true';
/** The shared WebGPU backend, or null when there is no adapter. */
export const gpu = found.backend;
export const noAdapterReason = found.reason;
/** Skip the WebGPU tests: no adapter and not in CI (in CI they run and fail). */
export const skipGpu = gpu === null && !inCI;

if (gpu === null) {
  console.log(`webgpu tests: no WebGPU adapter (${noAdapterReason})${inCI ? ' - failing because CI=true' : ' - skipping'}`);
}

/** Suffix for describe() titles: says why the WebGPU tests are skipped when they are. */
export const skipNote = skipGpu ? ` (skipped: no WebGPU adapter: ${noAdapterReason})` : '';

/** The backend, or a failure naming why there is none (used inside tests, so CI fails loudly). */
export function backend(): WebGPUBackend {
  if (!gpu) throw new Error(`no WebGPU adapter: ${noAdapterReason}`);
  return gpu;
}
