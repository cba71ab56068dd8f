/** gradreg: reverse-mode autodiff whose gradients are themselves differentiable. */
import { registerDefaultBackends } from './backends/registry.js';

// The cpu reference is installed and the optional backends (webgpu, cuda, native) are registered
// here, loaded only when asked for.
registerDefaultBackends();

export * from './api.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export * as data from './data/index.js';
export * as training from './train/index.js';
