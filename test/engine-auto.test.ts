import { describe, expect, it } from 'vitest';
import { Engine } from '../src/engine.js';
import { CpuBackend } from '../src/backends/cpu/index.js';
import type { Backend, DeviceName } from '../src/backends/backend.js';
import { DeviceError } from '../src/errors.js';

/** A backend that is the cpu reference under another name, optionally claiming to be a software GPU. */
function fake(name: DeviceName, software: boolean): () => Promise<Backend> {
  return async () => Object.assign(Object.create(new CpuBackend()), { name, software, description: `fake ${name}` }) as Backend;
}
/** An engine as registerDefaultBackends() leaves it: the cpu reference installed. */
function engineWithCpu(): Engine {
  const e = new Engine();
  e.installBackend(new CpuBackend());
  return e;
}
const missing = (why: string) => async (): Promise<Backend> => {
  throw new DeviceError(why);
};

describe("setBackend('auto') ranking", () => {
  it('takes a hardware webgpu adapter first', async () => {
    const e = engineWithCpu();
    e.registerBackend('webgpu', fake('webgpu', false));
    e.registerBackend('native', fake('native', false));
    const r = await e.pickAuto();
    expect(r.picked).toBe('webgpu');
    expect(r.skipped).toEqual([]);
  });

  it('prefers the native addon over a software adapter, and says why', async () => {
    const e = engineWithCpu();
    e.registerBackend('webgpu', fake('webgpu', true));
    e.registerBackend('cuda', missing('cuda: no CUDA device'));
    e.registerBackend('native', fake('native', false));
    const r = await e.pickAuto();
    expect(r.picked).toBe('native');
    expect(r.skipped.map((s) => s.device)).toEqual(['webgpu', 'cuda']);
    expect(r.skipped[0]!.reason).toMatch(/software renderer/);
    expect(r.skipped[1]!.reason).toBe('cuda: no CUDA device');
  });

  it('takes a software adapter over the TypeScript reference when nothing native exists', async () => {
    const e = engineWithCpu();
    e.registerBackend('webgpu', fake('webgpu', true));
    e.registerBackend('native', missing('native: addon not built'));
    const r = await e.pickAuto();
    expect(r.picked).toBe('webgpu');
    expect(r.skipped.map((s) => s.device)).toEqual(['webgpu', 'native', 'cpu']);
  });

  it('falls back to cpu with every reason listed', async () => {
    const e = engineWithCpu();
    e.registerBackend('webgpu', missing('webgpu: no adapter'));
    e.registerBackend('native', missing('native: addon not built'));
    const r = await e.pickAuto();
    expect(r.picked).toBe('cpu');
    expect(r.skipped).toEqual([
      { device: 'webgpu', reason: 'webgpu: no adapter' },
      { device: 'native', reason: 'native: addon not built' },
    ]);
  });
});
