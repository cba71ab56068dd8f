/**
 * gradreg in a browser tab: the public API of the Node entry (src/api.ts) with the backends a page
 * can run, the built-in TypeScript `cpu` and `webgpu` on `navigator.gpu` (the same runtime and WGSL
 * kernels as on Dawn), and the namespaces without their file-system parts (safetensors files,
 * checkpoints, IDX files on disk). `npm run build` bundles it, with the WGSL sources inlined, into
 * dist/gradreg.browser.js, the package's `gradreg/browser` export.
 */
import { engine } from './engine.js';
import { CpuBackend } from './backends/cpu/index.js';

// The cpu reference (a no-op when the Node entry installed it), and webgpu registered once even
// when the Node entry was loaded too (both share one engine).
engine.installBackend(new CpuBackend());
if (!engine.deviceNames().includes('webgpu')) {
  engine.registerBackend('webgpu', () => import('./backends/webgpu/index.js').then((m) => m.create()));
}

export * from './api.js';
export * as nn from './browser/nn.js';
export * as optim from './optim/index.js';
export * as data from './browser/data.js';
export * as training from './browser/training.js';
