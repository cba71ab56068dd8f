/**
 * Shared setup of the native backend tests: the backend instance when the addon is built, or the
 * reason it is not. Outside CI a missing addon skips these tests with that reason printed; in CI
 * (CI=true) it fails them, since CI's `npm install` builds the addon.
 */
import * as g from '../../src/index.js';
import { registerDefaultBackends } from '../../src/backends/registry.js';
import { engine } from '../../src/engine.js';
import { loadAddon } from '../../src/backends/native/addon.js';
import type { NativeBackend } from '../../src/backends/native/backend.js';

const loaded = loadAddon();
export const missingReason: string | null = typeof loaded === 'string' ? loaded : null;
export const inCI = process.env.CI === 'true';

if (missingReason && !inCI) console.log(`skipping the native backend tests: ${missingReason}`);

/** Initialize the registered native backend and return it. */
export async function nativeBackend(): Promise<NativeBackend> {
  registerDefaultBackends();
  await g.initBackend('native');
  return engine.backend('native') as NativeBackend;
}

/** Whether the suites should run (in CI they always run, so a missing addon fails them). */
export const runNative = missingReason === null || inCI;
