/**
 * The WGSL sources, one file per kernel family in the repository's `shaders/` directory (shipped
 * with the package). Read once per process, on first use.
 */
import { readFileSync } from 'node:fs';
import { DeviceError } from '../../errors.js';

export const FAMILIES = [
  'elementwise', 'fill', 'layout', 'reduce', 'matmul', 'conv', 'pool', 'batchnorm', 'softmax', 'random', 'optim',
] as const;
export type Family = (typeof FAMILIES)[number];

const cache = new Map<Family, string>();

/** Directory of the .wgsl files: `<root>/shaders`, from both `src/backends/webgpu` and `dist/backends/webgpu`. */
export const SHADER_DIR = new URL('../../../shaders/', import.meta.url);

export function shaderSource(family: Family): string {
  let src = cache.get(family);
  if (src === undefined) {
    const url = new URL(`${family}.wgsl`, SHADER_DIR);
    try {
      src = readFileSync(url, 'utf8');
    } catch (e) {
      throw new DeviceError(`webgpu: cannot read shader ${url.pathname}: ${e instanceof Error ? e.message : String(e)}`);
    }
    cache.set(family, src);
  }
  return src;
}
