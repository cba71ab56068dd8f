/**
 * Loading the native addons built from native/cuda (see scripts/build-cuda.mjs): `cuda` is the
 * CUDA backend, `host` the same kernel bodies compiled for the CPU (used by the tests). Loaded
 * lazily, so a machine without them never touches native code.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { TypedArray } from '../../dtype.js';
import { DeviceError } from '../../errors.js';

export type AddonKind = 'cuda' | 'host';

export interface AddonMemory {
  liveBytes: number;
  liveBuffers: number;
  cachedBytes: number;
  peakBytes: number;
  deviceAllocs: number;
}

/** The N-API surface of native/cuda/addon/addon.cpp. Failures throw Errors with a `code` GR_*. */
export interface NativeAddon {
  readonly kind: AddonKind;
  /** Create the device runtime (once); returns deviceInfo(). */
  init(): Record<string, string>;
  alloc(bytes: number): number;
  free(handle: number): void;
  upload(handle: number, data: TypedArray): void;
  download(handle: number, bytes: number): Promise<ArrayBuffer>;
  /** Buffers are outputs first, then inputs; params are the kernel's numbers in dispatcher order. */
  launch(kernel: string, handles: Uint32Array, params: Float64Array): void;
  synchronize(): void;
  deviceInfo(): Record<string, string>;
  memoryInfo(): AddonMemory;
}

const FILES: Record<AddonKind, string> = { cuda: 'gradreg_cuda.node', host: 'gradreg_cuda_host.node' };

/** Where scripts/build-cuda.mjs puts an addon (the same from src/ and from dist/). */
export function addonPath(kind: AddonKind): string {
  return fileURLToPath(new URL(`../../../build/cuda/Release/${FILES[kind]}`, import.meta.url));
}

const loaded = new Map<AddonKind, NativeAddon>();

/** Load an addon, or throw a DeviceError saying it is not built or why it failed to load. */
export function loadAddon(kind: AddonKind): NativeAddon {
  const have = loaded.get(kind);
  if (have) return have;
  const file = addonPath(kind);
  if (!existsSync(file)) {
    const needs = kind === 'cuda' ? 'nvcc, cmake and a C++ compiler' : 'cmake and a C++ compiler';
    throw new DeviceError(`cuda: the ${kind === 'cuda' ? 'CUDA' : 'host test'} addon is not built (${file} is missing); run 'npm run build:cuda' (needs ${needs})`);
  }
  let addon: NativeAddon;
  try {
    addon = createRequire(import.meta.url)(file) as NativeAddon;
  } catch (e) {
    throw new DeviceError(`cuda: the addon ${file} failed to load: ${e instanceof Error ? e.message : String(e)}`);
  }
  loaded.set(kind, addon);
  return addon;
}

/** The GR_* code of an addon failure, if it is one. */
export function addonErrorCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('GR_') ? code : undefined;
}
