/**
 * The backends of a process: the cpu reference, installed at once (it needs no initialization),
 * and lazy registration of the optional backends. Each factory imports its backend only when
 * asked, so a machine without Dawn, CUDA or the native addon never loads them. `auto` tries them
 * in the order webgpu, cuda, native, cpu. src/index.ts runs this on import.
 */
import { engine } from '../engine.js';
import { CpuBackend } from './cpu/index.js';

let registered = false;

export function registerDefaultBackends(): void {
  if (registered) return;
  registered = true;
  engine.installBackend(new CpuBackend());
  engine.registerBackend('cuda', () => import('./cuda/index.js').then((m) => m.create()));
  engine.registerBackend('native', () => import('./native/index.js').then((m) => m.create()));
  engine.registerBackend('webgpu', () => import('./webgpu/index.js').then((m) => m.create()));
}
