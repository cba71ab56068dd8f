/**
 * Lazy registration of the optional backends. Each factory imports its backend only when asked,
 * so a machine without Dawn, CUDA or the native addon never loads them. The cpu backend is built in.
 * `auto` tries them in the order webgpu, cuda, native, cpu.
 */
import { engine } from '../engine.js';

let registered = false;

export function registerDefaultBackends(): void {
  if (registered) return;
  registered = true;
  engine.registerBackend('cuda', () => import('./cuda/index.js').then((m) => m.create()));
  engine.registerBackend('native', () => import('./native/index.js').then((m) => m.create()));
  engine.registerBackend('webgpu', () => import('./webgpu/index.js').then((m) => m.create()));
}
