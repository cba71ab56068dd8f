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

function readShader(name: string): string {
  const url = new URL(`${name}.wgsl`, SHADER_DIR);
  try {
    return readFileSync(url, 'utf8');
  } catch (e) {
    throw new DeviceError(`webgpu: cannot read shader ${url.pathname}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** A family's WGSL with each `// #include NAME` line replaced by shaders/NAME.wgsl (WGSL has no includes). */
export function shaderSource(family: Family): string {
  let src = cache.get(family);
  if (src === undefined) {
    src = readShader(family).replace(/^\/\/ #include ([\w-]+)$/gm, (_, name: string) => readShader(name));
    cache.set(family, src);
  }
  return src;
}
