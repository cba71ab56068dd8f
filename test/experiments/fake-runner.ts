/**
 * A deterministic stand-in for training, for the sweep tests: the "accuracy" is a function of the
 * configuration's key alone, so an interrupted and an uninterrupted sweep must produce identical
 * tables. It can also be run as a child process that performs a sweep (and is killed mid-way).
 */
import { createHash } from 'node:crypto';
import type { ImageRunResult, RunConfig, RunResult } from '../../src/experiments/config.js';
import { configKey } from '../../src/experiments/hash.js';
import { PRESETS, type PresetOptions } from '../../src/experiments/presets.js';
import { parseShard } from '../../src/experiments/shard.js';
import { runSweep } from '../../src/experiments/sweep.js';

export const PLAN_OPTIONS: PresetOptions = { quick: true, select: 'test', valPerClass: 100, seeds: 3, methods: ['baseline', 'db', 'hsfob'], lambdas: [1e-3, 1e-2, 1e-1], sizes: [50, 100] };

export function planForTest(): ReturnType<(typeof PRESETS)['thesis-table2']['build']> {
  return PRESETS['thesis-table2']!.build(PLAN_OPTIONS);
}

function unit(key: string, salt: string): number {
  const h = createHash('sha256').update(`${salt}:${key}`).digest();
  return h.readUInt32BE(0) / 2 ** 32;
}

export function fakeResult(cfg: RunConfig, delayMs = 0): Promise<RunResult> {
  const key = configKey(cfg);
  const acc = 0.8 + 0.15 * unit(key, 'acc');
  const res: ImageRunResult = {
    status: 'completed',
    testAccuracy: acc,
    testLoss: 1 - acc,
    valAccuracy: 0.8 + 0.15 * unit(key, 'val'),
    trainAccuracy: 1,
    curve: [{ epoch: 1, loss: 1 - acc, terms: { ce: 1 - acc } }],
    wallSeconds: delayMs / 1000,
    backend: 'cpu',
    steps: 1,
    gradNorm: unit(key, 'norm'),
    fgsm: [{ eps: 0.1, accuracy: acc / 2 }],
    robustPoints: 10,
  };
  return new Promise((resolve) => setTimeout(() => resolve(res), delayMs));
}

// As a child process: `node --import tsx fake-runner.ts <storeFile> <delayMs> [I/N]` runs the sweep (or shard I of N).
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const [file, delay, shard] = process.argv.slice(2);
  const s = shard ? parseShard(shard) ?? undefined : undefined;
  await runSweep(planForTest(), { storeFile: file!, runner: (c) => fakeResult(c, Number(delay)), ...(s ? { shard: s } : {}) });
}
