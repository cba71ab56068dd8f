/**
 * Shards of a plan: stable indices, a partition of the plan for every N, balanced by estimated
 * cost; two processes appending to one results directory; a sharded report identical to the
 * unsharded one; the shard read from SLURM's and Kubernetes's variables.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ArgumentError } from '../../src/errors.js';
import { configKey } from '../../src/experiments/hash.js';
import { PRESETS } from '../../src/experiments/presets.js';
import { writeReport } from '../../src/experiments/report.js';
import { assignShards, detectShard, parseShard, runCostUnits, shardIndices } from '../../src/experiments/shard.js';
import { readStore, readStoreDir, storeFiles } from '../../src/experiments/store.js';
import { planRecords, runSweep } from '../../src/experiments/sweep.js';
import { fakeResult, planForTest } from './fake-runner.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gradreg-shard-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const full = (): ReturnType<(typeof PRESETS)['thesis-table2']['build']> => PRESETS['thesis-table2']!.build({ quick: false, select: 'test', valPerClass: 100 });

describe('a plan and its shards', () => {
  it('expands to the same ordered runs every time (stable indices)', () => {
    const a = full().configs.map(configKey);
    const b = full().configs.map(configKey);
    expect(a).toHaveLength(2280);
    expect(b).toEqual(a);
    expect(new Set(a).size).toBe(a.length);
  });

  it('shards 0..N-1 partition the plan exactly, for several N', () => {
    const plan = full();
    const all = plan.configs.map((_, i) => i);
    for (const n of [1, 2, 3, 7, 16, 64]) {
      const parts = Array.from({ length: n }, (_, i) => shardIndices(plan.configs, { index: i, count: n }));
      const union = parts.flat().sort((x, y) => x - y);
      expect(union).toEqual(all); // every run once: nothing missing, nothing in two shards
      for (const p of parts) expect(p).toEqual([...p].sort((x, y) => x - y));
    }
    // as many shards as runs, and more: one run per shard, then some shards empty
    for (const n of [2280, 3000]) {
      const shard = assignShards(plan.configs, n);
      expect(shard.every((s) => Number.isInteger(s) && s >= 0 && s < n)).toBe(true);
      expect(new Set(shard).size).toBe(Math.min(n, plan.configs.length));
    }
  });

  it('are balanced by estimated cost, not by count', () => {
    const plan = full();
    const costs = plan.configs.map(runCostUnits);
    // an exact penalty at 1000 per class costs hundreds of baseline runs at 50 per class
    const at = (m: string, n: number): number => costs[plan.configs.findIndex((c) => c.kind === 'image' && c.regularizer === m && c.perClass === n)]!;
    expect(at('jac', 1000) / at('baseline', 50)).toBeGreaterThan(100);
    const total = costs.reduce((x, y) => x + y, 0);
    for (const n of [8, 32]) {
      const shard = assignShards(plan.configs, n);
      const load = new Array<number>(n).fill(0);
      shard.forEach((sh, i) => (load[sh]! += costs[i]!));
      const max = Math.max(...load);
      // the greedy bound: no shard exceeds the mean by more than one run; here within 2%
      expect(max).toBeLessThanOrEqual(total / n + Math.max(...costs));
      expect(max / (total / n)).toBeLessThan(1.02);
      // equal counts (consecutive runs of the plan, or every n-th run) are far off
      const blocks = new Array<number>(n).fill(0);
      costs.forEach((c, i) => (blocks[Math.floor((i * n) / costs.length)]! += c));
      expect(Math.max(...blocks) / (total / n)).toBeGreaterThan(1.3);
      const strided = new Array<number>(n).fill(0);
      costs.forEach((c, i) => (strided[i % n]! += c));
      if (n === 32) expect(Math.max(...strided) / (total / n)).toBeGreaterThan(1.05);
    }
  });

  it('reads --shard, SLURM array variables and JOB_COMPLETION_INDEX, and says which', () => {
    expect(parseShard('3/8')).toEqual({ index: 3, count: 8 });
    expect(parseShard('8/8')).toBeNull();
    expect(detectShard(undefined, undefined, {})).toBeNull();
    expect(detectShard('2/5', undefined, { SLURM_ARRAY_TASK_ID: '9' })).toEqual({ shard: { index: 2, count: 5 }, source: '--shard 2/5' });
    const slurm = detectShard(undefined, undefined, { SLURM_ARRAY_TASK_ID: '12', SLURM_ARRAY_TASK_MIN: '10', SLURM_ARRAY_TASK_COUNT: '4' });
    expect(slurm?.shard).toEqual({ index: 2, count: 4 });
    expect(slurm?.source).toMatch(/SLURM_ARRAY_TASK_ID=12 - SLURM_ARRAY_TASK_MIN=10 of SLURM_ARRAY_TASK_COUNT=4/);
    // a resubmitted single task of an array keeps its index with --shards
    expect(detectShard(undefined, 8, { SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_MIN: '5', SLURM_ARRAY_TASK_COUNT: '1' })?.shard).toEqual({ index: 5, count: 8 });
    const k8s = detectShard(undefined, 6, { JOB_COMPLETION_INDEX: '4' });
    expect(k8s).toEqual({ shard: { index: 4, count: 6 }, source: 'JOB_COMPLETION_INDEX=4 of --shards 6' });
    expect(() => detectShard(undefined, undefined, { JOB_COMPLETION_INDEX: '4' })).toThrow(/pass --shards N/);
    expect(() => detectShard(undefined, 4, { JOB_COMPLETION_INDEX: '4' })).toThrow(ArgumentError);
    expect(() => detectShard('1/2', 3, {})).toThrow(/contradicts/);
    expect(() => detectShard(undefined, 3, {})).toThrow(/--shards N needs/);
  });
});

function lines(dir: string): number {
  return storeFiles(dir).reduce((n, f) => n + fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).length, 0);
}

describe('one results directory, many writers', () => {
  it('two processes (shards 0/2 and 1/2) appending concurrently lose and duplicate nothing', async () => {
    const plan = planForTest();
    const dir = path.join(root, 'two');
    const runner = fileURLToPath(new URL('./fake-runner.ts', import.meta.url));
    const kids = ['0/2', '1/2'].map((s) => spawn(process.execPath, ['--import', 'tsx', runner, path.join(dir, 'results.jsonl'), '5', s], { stdio: 'ignore' }));
    const codes = await Promise.all(kids.map((k) => new Promise<number | null>((r) => k.on('exit', (c) => r(c)))));
    expect(codes).toEqual([0, 0]);
    expect(storeFiles(dir).map((f) => path.basename(f))).toEqual(['results-shard-0-of-2.jsonl', 'results-shard-1-of-2.jsonl']);
    const merged = readStoreDir(dir);
    expect(merged.duplicates).toEqual([]);
    expect(merged.damage).toEqual([]);
    expect(new Set(merged.records.map((r) => r.key))).toEqual(new Set(plan.configs.map(configKey)));
    expect(lines(dir)).toBe(plan.configs.length);
    // a rerun of either shard, or an unsharded run, finds nothing to do
    for (const shard of [{ index: 0, count: 2 }, { index: 1, count: 2 }, undefined]) {
      const again = await runSweep(plan, { storeFile: path.join(dir, 'results.jsonl'), ...(shard ? { shard } : {}), runner: () => Promise.reject(new Error('must not run')) });
      expect(again.ran).toBe(0);
    }
    expect(lines(dir)).toBe(plan.configs.length);
  }, 120_000);

  it('a requeued shard that was killed mid-way runs only what it had not finished', async () => {
    const plan = planForTest();
    const dir = path.join(root, 'requeue');
    const storeFile = path.join(dir, 'results.jsonl');
    const shard = { index: 1, count: 3 };
    const mine = shardIndices(plan.configs, shard).length;
    let calls = 0;
    const first = await runSweep(plan, { storeFile, shard, maxRuns: 2, runner: (c) => (calls++, fakeResult(c)) });
    expect(first.ran).toBe(2);
    // the preempted write of the third run: half a line
    fs.appendFileSync(path.join(dir, 'results-shard-1-of-3.jsonl'), '{"key":"ab');
    const logs: string[] = [];
    const second = await runSweep(plan, { storeFile, shard, log: (s) => logs.push(s), runner: (c) => (calls++, fakeResult(c)) });
    expect(second.skipped).toBe(2);
    expect(second.ran).toBe(mine - 2);
    expect(calls).toBe(mine);
    expect(logs.filter((l) => l.includes('cut off a torn last line'))).toHaveLength(1);
    expect(readStore(path.join(dir, 'results-shard-1-of-3.jsonl')).skipped).toEqual([]);
  });

  it('the report of a sharded run equals the unsharded one bit for bit', async () => {
    const plan = planForTest();
    const one = path.join(root, 'one');
    await runSweep(plan, { storeFile: path.join(one, 'results.jsonl'), runner: (c) => fakeResult(c) });
    const sharded = path.join(root, 'sharded');
    for (const index of [2, 0, 3, 1]) await runSweep(plan, { storeFile: path.join(sharded, 'results.jsonl'), shard: { index, count: 4 }, runner: (c) => fakeResult(c) });
    const a = writeReport(plan, planRecords(plan, path.join(one, 'results.jsonl')), path.join(one, 'report'));
    const b = writeReport(plan, planRecords(plan, path.join(sharded, 'results.jsonl')), path.join(sharded, 'report'));
    expect(a.markdown).toContain(`${plan.configs.length} of ${plan.configs.length} runs finished`);
    const rel = (files: string[], dir: string): string[] => files.map((f) => path.relative(dir, f)).sort();
    expect(rel(b.written, path.join(sharded, 'report'))).toEqual(rel(a.written, path.join(one, 'report')));
    for (const f of rel(a.written, path.join(one, 'report'))) {
      const x = fs.readFileSync(path.join(one, 'report', f));
      const y = fs.readFileSync(path.join(sharded, 'report', f));
      // runs.csv carries the keys and the (fake, equal) wall times; every file is identical
      expect(y.equals(x), f).toBe(true);
    }
  });
});

describe('damaged store lines are reported, once', () => {
  it('a garbage line in the middle and an unfinished last line each give one message per process', () => {
    const plan = planForTest();
    const dir = path.join(root, 'damaged');
    fs.mkdirSync(dir, { recursive: true });
    const f = path.join(dir, 'results.jsonl');
    const rec = (i: number): string => `${JSON.stringify({ key: configKey(plan.configs[i]!), config: plan.configs[i], result: { status: 'completed' }, written: '' })}\n`;
    fs.writeFileSync(f, `${rec(0)}garbage{{\n${rec(1)}{"key":"torn`);
    const logs: string[] = [];
    const r1 = planRecords(plan, f, (s) => logs.push(s));
    const r2 = planRecords(plan, f, (s) => logs.push(s));
    expect(r1.map((r) => r.key)).toEqual([configKey(plan.configs[0]!), configKey(plan.configs[1]!)]);
    expect(r2).toHaveLength(2);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/skipped 1 unreadable line \(line 2\).*ignored an unfinished last line \(line 4/);
  });
});
