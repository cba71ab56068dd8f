/**
 * `gradreg reproduce` across processes and from the stored results alone: --jobs, --shard,
 * --report-only without the original options (it must report what is stored, and never replace a
 * table with an emptier one), and a plan validated whole before its first run.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { captureOutput } from '../helpers/capture.js';
import { UsageError } from '../../src/cli/args.js';
import { run } from '../../src/cli/reproduce.js';
import { DataError } from '../../src/errors.js';
import { readStore, readStoreDir, storeFiles } from '../../src/experiments/store.js';
import { defaultJobs, inferOptions } from '../../src/cli/shards.js';
import type { RunConfig } from '../../src/experiments/config.js';
import { configKey } from '../../src/experiments/hash.js';
import { PRESETS } from '../../src/experiments/presets.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gradreg-cluster-cli-'));
const sin = ['varga-sin', '--quick', '--seeds', '2', '--lambdas', '0,1', '--methods', 'spectreg', '--epochs', '30', '--device', 'cpu'];
let printed = '';
let errs = '';

captureOutput({ out: (s) => (printed += s), err: (s) => (errs += s), cleanup: () => fs.rmSync(root, { recursive: true, force: true }) });

const table = (dir: string): string => fs.readFileSync(path.join(dir, 'table.md'), 'utf8');

describe('reproduce --report-only (issue 15, bug 2)', () => {
  it('without the original options reports the stored plan, and never replaces a table with an emptier one', async () => {
    const out = path.join(root, 'report-only');
    expect(await run([...sin, '--out', out])).toBe(0);
    const before = table(out);
    expect(before).toContain('4 of 4 runs finished');
    // no options: the plan recorded in plan.json, not the preset's full default plan
    expect(await run(['varga-sin', '--report-only', '--out', out])).toBe(0);
    expect(table(out)).toBe(before);
    // options that select fewer of the stored runs than the table shows: refused, table kept
    await expect(run(['varga-sin', '--quick', '--seeds', '1', '--lambdas', '0,1', '--methods', 'spectreg', '--epochs', '30', '--report-only', '--out', out])).rejects.toThrow(
      /has 2 finished runs .* shows 4.*left unchanged/,
    );
    // no plan.json (an older results directory): the plan that holds every stored run
    fs.rmSync(path.join(out, 'plan.json'));
    errs = '';
    expect(await run(['varga-sin', '--report-only', '--out', out])).toBe(0);
    expect(errs).toMatch(/no .*plan\.json; the stored runs are those of varga-sin( --quick)? with --methods spectreg --lambdas 0,1 --seeds 2 --epochs 30 \(4 runs\)/);
    expect(table(out)).toBe(before);
    // runs of two option sets and no plan.json: no plan holds them all, the default plan none of them
    expect(await run([...sin.map((a) => (a === '30' ? '40' : a)), '--out', out])).toBe(0);
    const second = table(out);
    fs.rmSync(path.join(out, 'plan.json'));
    await expect(run(['varga-sin', '--report-only', '--out', out])).rejects.toThrow(/none of the 8 runs stored in .* belong to this plan \(varga-sin has 100 runs\).*--methods spectreg --lambdas 0,1 --seeds 2 --epochs 30,40.*left unchanged/);
    expect(table(out)).toBe(second);
    await expect(run(['varga-sin', '--report-only', '--out', out])).rejects.toBeInstanceOf(UsageError);
  }, 120_000);
});

describe('the plan of stored runs without plan.json', () => {
  it('is found for the quick Table 2 (the case of issue 15, bug 2), and not for runs of two option sets', () => {
    const quick = PRESETS['thesis-table2']!.build({ quick: true, select: 'test', valPerClass: 100 });
    const recs = quick.configs.map((c) => ({ key: configKey(c), config: c }));
    const o = inferOptions('thesis-table2', recs);
    expect(o?.quick).toBe(true);
    const keys = (p: { configs: RunConfig[] }): string[] => p.configs.map(configKey);
    expect(keys(PRESETS['thesis-table2']!.build(o!))).toEqual(keys(quick));
    const other = PRESETS['thesis-table2']!.build({ quick: true, select: 'test', valPerClass: 100, epochs: 3 });
    expect(inferOptions('thesis-table2', [...recs, { key: configKey(other.configs[0]!), config: other.configs[0]! }])).toBeNull();
  });
});

describe('reproduce validates the whole plan before the first run (issue 15, bug 5)', () => {
  it('--sizes 0 is a usage error, not the whole training set', async () => {
    await expect(run(['thesis-table2', '--sizes', '0', '--out', path.join(root, 'zero')])).rejects.toThrow(/--sizes: expected training images per class, integers >= 1, got '0'/);
  });

  it('a size the dataset cannot give fails before any run, not when that size is reached', async () => {
    const out = path.join(root, 'too-big');
    const args = ['thesis-table2', '--methods', 'baseline', '--seeds', '1', '--epochs', '1', '--sizes', '5,6000', '--test-points', '50', '--device', 'cpu', '--out', out];
    await expect(run(args)).rejects.toThrow(DataError);
    await expect(run(args)).rejects.toThrow(/--sizes: 6000 images per class is more than mnist has \(class \d has \d+ training images\)/);
    expect(readStore(path.join(out, 'results.jsonl')).records).toHaveLength(0);
  }, 120_000);
});

describe('reproduce --shard and --jobs', () => {
  it('shards run separately, then --report-only merges them into the table of one process; --jobs 2 gives it too', async () => {
    const one = path.join(root, 'one');
    expect(await run([...sin, '--out', one])).toBe(0);
    const sharded = path.join(root, 'sharded');
    printed = '';
    for (const s of ['2/3', '0/3', '1/3']) expect(await run([...sin, '--shard', s, '--out', sharded])).toBe(0);
    expect(printed).toMatch(/shard 1\/3: \d of its \d runs stored; 4 of the plan's 4 runs are in/);
    expect(fs.existsSync(path.join(sharded, 'table.md'))).toBe(false); // a shard writes no table
    expect(storeFiles(sharded).map((f) => path.basename(f))).toEqual(['results-shard-0-of-3.jsonl', 'results-shard-1-of-3.jsonl', 'results-shard-2-of-3.jsonl']);
    expect(await run(['varga-sin', '--report-only', '--out', sharded])).toBe(0);
    expect(table(sharded)).toBe(table(one));

    const jobs = path.join(root, 'jobs');
    errs = '';
    expect(await run([...sin, '--jobs', '2', '--out', jobs])).toBe(0);
    expect(errs).toMatch(/--jobs 2: 2 worker processes of \d+ threads? each/);
    expect(errs).toMatch(/\[job 1\] shard 1\/2 \(from --shard 1\/2\)/);
    const merged = readStoreDir(jobs);
    expect(merged.records).toHaveLength(4);
    expect(merged.duplicates).toEqual([]);
    expect(storeFiles(jobs)).toHaveLength(2);
    expect(table(jobs)).toBe(table(one));
  }, 240_000);

  it('--jobs defaults to one single-threaded worker per core when the native backend is picked and runs are left', async () => {
    const plan = PRESETS['varga-sin']!.build({ quick: true, select: 'test', valPerClass: 100, seeds: 2, methods: ['spectreg'], lambdas: [0, 1], epochs: 30 });
    const none = path.join(root, 'jobs-default', 'results.jsonl');
    const log = (): void => {};
    const cores = os.availableParallelism();
    expect(defaultJobs(plan, none, { device: 'native', threads: undefined }, log)).toBe(Math.min(cores, 4));
    expect(defaultJobs(plan, none, { device: 'cpu', threads: undefined }, log)).toBe(1);
    expect(defaultJobs(plan, none, { device: 'webgpu', threads: undefined }, log)).toBe(1);
    expect(defaultJobs(plan, none, { device: 'native', threads: 2 }, log)).toBe(1);
    // every run stored (the directory of the single-process run above): nothing to spread
    expect(defaultJobs(plan, path.join(root, 'one', 'results.jsonl'), { device: 'native', threads: undefined }, log)).toBe(1);
  });

  it('says where the shard came from, and rejects inconsistent shard options', async () => {
    const out = path.join(root, 'env');
    errs = '';
    vi.stubEnv('SLURM_ARRAY_TASK_ID', '1');
    vi.stubEnv('SLURM_ARRAY_TASK_MIN', '0');
    vi.stubEnv('SLURM_ARRAY_TASK_COUNT', '2');
    try {
      expect(await run([...sin, '--out', out])).toBe(0);
    } finally {
      vi.unstubAllEnvs();
    }
    expect(errs).toContain('shard 1/2 (from SLURM_ARRAY_TASK_ID=1 - SLURM_ARRAY_TASK_MIN=0 of SLURM_ARRAY_TASK_COUNT=2)');
    expect(storeFiles(out).map((f) => path.basename(f))).toEqual(['results-shard-1-of-2.jsonl']);
    // the other half as a Kubernetes Indexed Job's index 0 of --shards 2: then the plan is complete
    errs = '';
    vi.stubEnv('JOB_COMPLETION_INDEX', '0');
    try {
      expect(await run([...sin, '--shards', '2', '--out', out])).toBe(0);
    } finally {
      vi.unstubAllEnvs();
    }
    expect(errs).toContain('shard 0/2 (from JOB_COMPLETION_INDEX=0 of --shards 2)');
    expect(readStoreDir(out).records).toHaveLength(4);
    await expect(run([...sin, '--shard', '2/2', '--out', out])).rejects.toThrow(/--shard: expected I\/N/);
    await expect(run([...sin, '--shard', '0/2', '--jobs', '2', '--out', out])).rejects.toThrow(/--jobs 2: a shard/);
    await expect(run([...sin, '--shards', '4', '--out', out])).rejects.toThrow(/--shards N needs/);
  }, 120_000);
});
