/**
 * Loading the compiled addon (build/Release/gradreg_cpu.node, built by scripts/build-cpu-addon.mjs)
 * and its JavaScript-facing shape. Arguments travel through `params`, a Float64Array over native
 * memory: a kernel call writes its operands there and makes one argument-free N-API call.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface NativeAddon {
  readonly params: Float64Array;
  /** 64-byte aligned native memory; its address is left in params[0], its control handle in params[1]. */
  alloc(bytes: number): ArrayBuffer;
  /** Detach `buf` (its views become empty) and free its memory now. */
  free(buf: ArrayBuffer, handle: number): void;
  unary(): void;
  binary(): void;
  binaryScalar(): void;
  where(): void;
  cast(): void;
  fill(): void;
  random(): void;
  reduce(): void;
  argReduce(): void;
  copy(): void;
  matmul(): void;
  /** Sum over the batch of a batched matmul (params: dt, a, b, out, transA, transB, M, N, K, batch). */
  matmulSum(): void;
  im2col(): void;
  col2im(): void;
  /** Fused convolution (params: dt, in0, in1, out, geometry at 4..15, output channels at 16). */
  conv2d(): void;
  conv2dBackwardInput(): void;
  conv2dBackwardWeight(): void;
  maxPool2d(): void;
  /** params: dt, x, idx, out, geometry at 4..15, blocks (a stack of K inputs) at 16. */
  maxPoolGather(): void;
  maxPoolScatter(): void;
  avgPool2d(): void;
  avgPool2dBackward(): void;
  batchNormForward(): void;
  /** params: dt, x, g, u, mean, var, gamma, eps, n, c, s, gx, gg, dgamma, blocks (g and u stacks of K). */
  batchNormDoubleBackward(): void;
  /** params: dt, x, gy, mean, var, gamma, eps, n, c, s, dx, dgamma, dbeta, blocks (gy a stack of K). */
  batchNormBackward(): void;
  softmax(): void;
  softmaxHvp(): void;
  crossEntropy(): void;
  softmaxCrossEntropyGrad(): void;
  oneHot(): void;
  applyUpdate(): void;
  info(): { isa: Isa; supported: Isa[]; threads: number };
  setIsa(isa: Isa): boolean;
  /** Fused convolution algorithm: 0 auto, 1 im2col chunks, 2 implicit GEMM, 3 direct, 4 Winograd (where they apply). Returns the previous one. */
  setConvMode(mode: number): number;
  setThreads(n: number): void;
  /** GFLOP/s of independent FMA chains on every thread (null for the portable kernel). */
  probePeak(iters: number): number | null;
  /**
   * Point the process's file descriptor 2 at `path` (created, truncated); returns a copy of the
   * previous fd 2 for stderrRestore, or -errno. Native libraries (Dawn) print there directly.
   */
  stderrRedirect?(path: string): number;
  /** Put back the fd 2 that stderrRedirect saved. */
  stderrRestore?(saved: number): boolean;
}

export type Isa = 'portable' | 'avx2' | 'avx512';

/** Where the addon is expected: GRADREG_NATIVE_ADDON, else build/Release under the package root. */
export function addonPath(): string {
  const env = process.env.GRADREG_NATIVE_ADDON;
  if (env) return resolve(env);
  // src/backends/native and dist/backends/native are both three levels below the package root.
  const here = dirname(fileURLToPath(import.meta.url));
  return join(here, '..', '..', '..', 'build', 'Release', 'gradreg_cpu.node');
}

/** The addon, or a string saying why it cannot be loaded. */
export function loadAddon(): NativeAddon | string {
  const file = addonPath();
  if (!existsSync(file)) {
    return `the native CPU addon is not built (no ${file}); run 'node scripts/build-cpu-addon.mjs'`;
  }
  if (process.arch !== 'x64') return `the native CPU addon supports x64 only, this is ${process.arch}`;
  try {
    const req = createRequire(import.meta.url);
    return req(file) as NativeAddon;
  } catch (e) {
    return `loading ${file} failed: ${e instanceof Error ? e.message : String(e)}`;
  }
}
