/** `gradreg plan`, `gradreg slurm` (the script, without submitting) and `gradreg status`. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { captureOutput } from '../helpers/capture.js';
import { planCommand, slurmCommand, statusCommand } from '../../src/cli/cluster.js';
import { registerDefaultBackends } from '../../src/backends/registry.js';
import { fmtHours, runSeconds, stepKey, stepKinds } from '../../src/experiments/estimate.js';
import { PRESETS } from '../../src/experiments/presets.js';
import { ResultStore } from '../../src/experiments/store.js';
import { runSweep } from '../../src/experiments/sweep.js';
import { fakeResult, planForTest, PLAN_OPTIONS } from './fake-runner.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gradreg-cluster-cmd-'));
let printed = '';
captureOutput({ out: (s) => (printed += s), cleanup: () => fs.rmSync(root, { recursive: true, force: true }) });

describe('gradreg plan', () => {
  it('counts the runs and prices them from the cached step times (no measurement when cached)', async () => {
    const plan = PRESETS['thesis-table2']!.build({ quick: false, select: 'test', valPerClass: 100 });
    const kinds = stepKinds(plan);
    expect(kinds.map((k) => k.variant).sort()).toEqual(['baseline', 'db', 'fob', 'hsfob', 'hsfob-db1', 'hsfob-db2', 'jac', 'ni']);
    // the cache as a measurement on this machine with the cpu backend (1 thread) would leave it
    const cacheFile = path.join(root, 'steps.json');
    const ms: Record<string, number> = { baseline: 6, ni: 6, db: 12, jac: 66, fob: 66, hsfob: 66, 'hsfob-db1': 70, 'hsfob-db2': 70 };
    const cache: Record<string, { ms: number; measured: string }> = {};
    for (const k of kinds) cache[stepKey({ host: os.hostname(), device: 'cpu', threads: 1 }, k)] = { ms: ms[k.variant]!, measured: '2026-01-01T00:00:00Z' };
    fs.writeFileSync(cacheFile, JSON.stringify(cache));
    registerDefaultBackends();
    printed = '';
    expect(await planCommand(['thesis-table2', '--device', 'cpu', '--cache', cacheFile])).toBe(0);
    expect(printed).toMatch(/^# thesis-table2: 2280 runs, about [\d.]+ core-hours/);
    expect(printed).toContain('| method | 50 | 100 | 200 | 1000 | total |');
    // jac at 1000 per class: 80 runs (8 lambdas x 10 seeds) of 100 epochs x 10000/batch steps of 66 ms, plus evaluation
    const jac = plan.configs.find((c) => c.kind === 'image' && c.regularizer === 'jac' && c.perClass === 1000)!;
    const batch = jac.kind === 'image' ? jac.batch : 0;
    const hours = (80 * runSeconds(jac, 66, 6)) / 3600;
    expect(hours).toBeGreaterThan((80 * 100 * Math.ceil(10000 / batch) * 0.066) / 3600);
    expect(hours).toBeLessThan((80 * 100 * Math.ceil(10000 / batch) * 0.066) / 3600 * 1.1);
    const row = printed.split('\n').find((l) => l.startsWith('| jac |'))!;
    expect(row.split('|')[5]!.trim()).toBe(`80 / ${fmtHours(hours)}`);
    expect(printed).toContain('| total | 570 / ');
    // nothing was measured: the cache is unchanged
    expect(JSON.parse(fs.readFileSync(cacheFile, 'utf8'))).toEqual(cache);
  });
});

describe('gradreg slurm', () => {
  it('writes an array script: one task per shard, the #SBATCH options, the shard count and threads on the command line', async () => {
    const out = path.join(root, 'slurm-out');
    printed = '';
    const code = await slurmCommand([
      'varga-sin', '--quick', '--seeds', '2', '--out', out, '--shards', '5', '--partition', 'gpu', '--time', '1:00:00', '--cpus-per-task', '4', '--mem', '2G',
      '--array-parallel', '2', '--sbatch', 'account=lab', '--sbatch=#SBATCH --qos=low', '--sbatch=--exclusive',
    ]);
    expect(code).toBe(0);
    const script = path.join(out, 'slurm', 'varga-sin.sbatch');
    expect(printed.trim()).toBe(script);
    const text = fs.readFileSync(script, 'utf8');
    for (const l of ['#SBATCH --array=0-4%2', '#SBATCH --cpus-per-task=4', '#SBATCH --partition=gpu', '#SBATCH --time=1:00:00', '#SBATCH --mem=2G', '#SBATCH --account=lab', '#SBATCH --qos=low', '#SBATCH --exclusive', '#SBATCH --requeue']) {
      expect(text).toContain(`${l}\n`);
    }
    expect(text).toMatch(/#SBATCH --output=\/.*slurm-out\/slurm\/%A_%a\.log/);
    expect(text).toMatch(/reproduce varga-sin --quick --seeds 2 --out \/\S+slurm-out --shards 5 --threads "\$threads"\n/);
    expect(text).toContain('threads="${SLURM_CPUS_PER_TASK:-4}"');
    await expect(slurmCommand(['varga-sin', '--shard', '1/2'])).rejects.toThrow(/not options of an array job/);
    await expect(slurmCommand(['varga-sin', '--out', out, '--sbatch', 'a\nb'])).rejects.toThrow(/--sbatch: expected one line/);
  });
});

describe('gradreg status', () => {
  it('shows done / running / missing per shard', async () => {
    const plan = planForTest();
    const out = path.join(root, 'status');
    const storeFile = path.join(out, 'results.jsonl');
    await runSweep(plan, { storeFile, shard: { index: 0, count: 3 }, runner: (c) => fakeResult(c) });
    await runSweep(plan, { storeFile, shard: { index: 1, count: 3 }, maxRuns: 2, runner: (c) => fakeResult(c) });
    // shard 2 is being written by a live process (this one)
    const live = ResultStore.open(path.join(out, 'results-shard-2-of-3.jsonl'));
    live.heartbeat('mnist/small db lambda=0.01 n=50/class seed=1');
    const args = ['thesis-table2', '--quick', '--seeds', String(PLAN_OPTIONS.seeds), '--methods', PLAN_OPTIONS.methods!.join(','), '--lambdas', PLAN_OPTIONS.lambdas!.join(','), '--sizes', PLAN_OPTIONS.sizes!.join(','), '--out', out];
    printed = '';
    try {
      expect(await statusCommand(args)).toBe(3);
    } finally {
      live.close();
    }
    const rows = printed.split('\n').filter((l) => /^\| \d/.test(l)).map((l) => l.split('|').map((c) => c.trim()));
    expect(rows).toHaveLength(3);
    const [s0, s1, s2] = rows;
    expect(s0![3]).toBe(s0![2]); // shard 0 done
    expect(s0![5]).toBe('0');
    expect(s1![3]).toBe('2');
    expect(s1![4]).toBe('');
    expect(Number(s1![5])).toBe(Number(s1![2]) - 2);
    expect(s2![4]).toBe('yes');
    expect(s2![6]).toContain(`pid ${process.pid}: mnist/small db`);
    expect(Number(s2![5])).toBe(Number(s2![2]) - 1);
    expect(printed).toMatch(new RegExp(`^# thesis-table2: ${Number(s0![2]) + 2} of ${plan.configs.length} runs done .*3 shards: 1 complete, 1 running, 1 waiting or stopped`));
  });
});
