/**
 * 200 double-backprop training steps of the small CNN on WebGPU: the loss follows the cpu run and
 * goes down, and the number of live GPU buffers, their bytes and the pool's bytes stay flat (no
 * buffer is created after warm-up).
 */
import { describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import { engine } from '../../src/engine.js';
import { backend, skipGpu, skipNote } from './env.js';
import { initCnn, trainStep } from './cnn.js';

describe.skipIf(skipGpu)(`webgpu training loop${skipNote}`, () => {
  it('200 double-backprop steps of the small CNN keep live buffers and pool bytes flat', async () => {
    const be = backend();
    const batch = 2;
    const x = g.rand([batch, 1, 28, 28], { device: 'webgpu', seed: 21 });
    const y = g.tensor([3, 7], [batch], { dtype: 'int32', device: 'webgpu' });
    const m = initCnn('webgpu');
    const losses: number[] = [];
    let warm: ReturnType<typeof be.stats> | null = null;
    let warmTensors = 0;
    for (let step = 0; step < 200; step++) {
      const loss = trainStep(m, be, x, y, 0.1, 0.02);
      if (step % 20 === 0 || step === 199) losses.push(await loss.item());
      loss.dispose();
      be.flush();
      if (step === 10) {
        await be.finish();
        warm = be.stats();
        warmTensors = g.memory().numTensors;
      }
    }
    await be.finish();
    const end = be.stats();
    expect(end.liveStorages).toBe(warm!.liveStorages);
    expect(end.liveBytes).toBe(warm!.liveBytes);
    expect(end.pool.liveClassBytes + end.pool.pooledBytes).toBe(warm!.pool.liveClassBytes + warm!.pool.pooledBytes);
    expect(end.pool.created).toBe(warm!.pool.created);
    expect(g.memory().numTensors).toBe(warmTensors);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[losses.length - 1]!).toBeLessThan(losses[0]! * 0.5);

    // The first steps agree with the cpu reference (same seeds, same data).
    const cpuM = initCnn('cpu');
    const xc = g.rand([batch, 1, 28, 28], { device: 'cpu', seed: 21 });
    const yc = g.tensor([3, 7], [batch], { dtype: 'int32' });
    const cpuLoss = trainStep(cpuM, engine.backend('cpu'), xc, yc, 0.1, 0.02);
    expect(await cpuLoss.item()).toBeCloseTo(losses[0]!, 3);
    for (const t of [...m.params, ...cpuM.params, x, y, xc, yc, cpuLoss]) t.dispose();
  });
});
