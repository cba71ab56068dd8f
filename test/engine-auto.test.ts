import { describe, expect, it } from 'vitest';
import { Engine } from '../src/engine.js';
import { CpuBackend } from '../src/backends/cpu/index.js';
import type { Backend, DeviceName } from '../src/backends/backend.js';
import { DeviceError } from '../src/errors.js';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { filterDawnStderr, summarizeDawnStderr } from '../src/backends/webgpu/quiet.js';
import { runNative } from './native/native.js';

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

describe("setBackend('auto') is quiet: Dawn's native stderr is captured while probing", () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const probe = (env: Record<string, string>): { status: number | null; stdout: string; stderr: string } =>
    spawnSync(process.execPath, ['--import', 'tsx', 'test/helpers/auto-probe.ts'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? `/tmp/xdg-runtime-${process.getuid?.() ?? 0}`, ...env },
    });
  // The capture is the native addon's dup2 pair: outside CI a machine without the addon skips these.
  const run = runNative;

  it.runIf(run)('no limit notice or Vulkan loader noise on stderr with the machine\'s driver', () => {
    const r = probe({});
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/artificially reduced|vkCreateInstance|^Warning:/m);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout).value).toBe(12);
  });

  it.runIf(run)('without a Vulkan driver: stderr stays empty and the report says why webgpu was skipped, with what Dawn said', () => {
    const r = probe({ VK_ICD_FILENAMES: '/nonexistent/gradreg-no-driver.json', VK_DRIVER_FILES: '/nonexistent/gradreg-no-driver.json' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout) as { picked: string; skipped: { device: string; reason: string }[] };
    const webgpu = report.skipped.find((s) => s.device === 'webgpu');
    expect(webgpu?.reason).toMatch(/^webgpu: no WebGPU adapter .*; Dawn said: .+/);
    expect(webgpu?.reason).not.toMatch(/\n/);
  });
});

describe('filtering what Dawn printed', () => {
  it('drops the limit notices and blank lines, keeps everything else; the summary is one line without source locations', () => {
    const text = [
      'Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.',
      'Warning: maxDynamicStorageBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.',
      '',
      'Warning: vkCreateInstance failed with VK_ERROR_INCOMPATIBLE_DRIVER',
      '    at CheckVkSuccessImpl (/src/dawn/native/vulkan/VulkanError.cpp:106)',
      'Error: something real',
    ].join('\n');
    const lines = filterDawnStderr(text);
    expect(lines).toEqual([
      'Warning: vkCreateInstance failed with VK_ERROR_INCOMPATIBLE_DRIVER',
      '    at CheckVkSuccessImpl (/src/dawn/native/vulkan/VulkanError.cpp:106)',
      'Error: something real',
    ]);
    expect(summarizeDawnStderr(lines)).toBe('Warning: vkCreateInstance failed with VK_ERROR_INCOMPATIBLE_DRIVER; Error: something real');
    expect(summarizeDawnStderr(['x'.repeat(1000)], 50)).toHaveLength(50);
  });
});
