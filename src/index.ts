/** gradreg: reverse-mode autodiff whose gradients are themselves differentiable. */
import { registerDefaultBackends } from './backends/registry.js';

// The optional backends (webgpu, cuda, native) are registered here and loaded only when asked for.
registerDefaultBackends();

export * from './api.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export * as data from './data/index.js';
export * as training from './train/index.js';
