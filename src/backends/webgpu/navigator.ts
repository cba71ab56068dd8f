/**
 * The browser's WebGPU in place of the `webgpu` npm package (Dawn for Node): the browser build
 * (scripts/build-browser.ts) resolves `webgpu` to this module, so the runtime is the same code on
 * both. `create` returns `navigator.gpu`, with a requestAdapter that says why when there is none
 * (the runtime puts its "webgpu: requesting an adapter failed:" before these messages);
 * the browser defines the GPU* classes itself, so there are no globals to add.
 */
/// <reference types="@webgpu/types" />
import { DeviceError } from '../../errors.js';

export const globals: Record<string, unknown> = {};

/** The page's GPU (the Dawn flags of the Node package do not apply in a browser). */
export function create(_flags: string[]): GPU {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  const gpu = nav?.gpu;
  if (!gpu) {
    throw new DeviceError(
      'this page has no navigator.gpu (the browser lacks WebGPU or has it switched off; it is only exposed to secure contexts such as https:// or http://localhost)',
    );
  }
  const wrapped: GPU = {
    __brand: 'GPU',
    wgslLanguageFeatures: gpu.wgslLanguageFeatures,
    getPreferredCanvasFormat: () => gpu.getPreferredCanvasFormat(),
    requestAdapter: async (options?: GPURequestAdapterOptions): Promise<GPUAdapter | null> => {
      const adapter = await gpu.requestAdapter(options);
      if (!adapter) {
        throw new DeviceError(
          'navigator.gpu.requestAdapter() returned no adapter (the browser blocklists this GPU or found none; Chromium on a machine without a GPU needs --enable-unsafe-webgpu for its SwiftShader adapter)',
        );
      }
      return adapter;
    },
  };
  return wrapped;
}
