/**
 * `gradreg slurm --submit` on a real SLURM: a plan submitted as an array job of 3 shards gives the
 * table of a single-process run; a task cancelled mid-run with scancel and the array resubmitted
 * lose and duplicate nothing.
 *
 * Needs a running SLURM (scripts/setup-slurm-ci.sh starts a single-node one; .ci/run does so and
 * stops it with scripts/stop-slurm-ci.sh). With CI=true a SLURM that is not there fails this file;
 * elsewhere it is skipped, with the reason printed.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { captureOutput } from '../helpers/capture.js';
import { slurmCommand, statusCommand } from '../../src/cli/cluster.js';
import { run as reproduce } from '../../src/cli/reproduce.js';
import { configKey } from '../../src/experiments/hash.js';
import { PRESETS } from '../../src/experiments/presets.js';
import { readStore, readStoreDir, shardStoreFile, storeFiles } from '../../src/experiments/store.js';

const defaultConf = path.join(process.env.GRADREG_SLURM_DIR ?? '/tmp/gradreg-slurm', 'slurm.conf');
if (!process.env.SLURM_CONF && fs.existsSync(defaultConf) && !fs.existsSync('/etc/slurm/slurm.conf')) process.env.SLURM_CONF = defaultConf;

function sh(cmd: string, args: string[]): { code: number; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 30_000 });
  return { code: r.error ? -1 : (r.status ?? -1), out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

/** Why SLURM cannot be used here, or null. */
function unavailable(): string | null {
  for (const c of ['sbatch', 'squeue', 'scancel', 'scontrol']) {
    if (sh(c, ['--version']).code !== 0) return `${c} is not installed (scripts/setup-slurm-ci.sh installs slurm-wlm and munge)`;
  }
  const ping = sh('scontrol', ['ping']);
  if (!/is UP/.test(ping.out)) return `no slurmctld answers (scontrol ping: ${ping.out.split('\n')[0] || `exit ${ping.code}`}); start one with scripts/setup-slurm-ci.sh`;
  const nodes = sh('sinfo', ['-h', '-o', '%T']);
  if (!/idle|mixed|allocated/.test(nodes.out)) return `no usable compute node (sinfo: ${nodes.out || 'nothing'})`;
  return null;
}

const reason = unavailable();
const ci = process.env.CI === 'true';
if (reason && !ci) process.stdout.write(`test/cluster/slurm.test.ts: skipped: ${reason}\n`);

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gradreg-slurm-e2e-'));
// 12 cheap runs (the sin(5x) MLP on the TypeScript backend), 3 shards of 1 cpu each
const planArgs = ['varga-sin', '--seeds', '2', '--methods', 'spectreg,db', '--lambdas', '0,0.1,1', '--epochs', '150', '--device', 'cpu'];
const plan = PRESETS['varga-sin']!.build({ quick: false, select: 'test', valPerClass: 100, seeds: 2, methods: ['spectreg', 'db'], lambdas: [0, 0.1, 1], epochs: 150 });
let printed = '';

async function submit(out: string): Promise<string> {
  printed = '';
  expect(await slurmCommand([...planArgs, '--out', out, '--shards', '3', '--cpus-per-task', '1', '--time', '30:00', '--submit'])).toBe(0);
  const id = printed.trim();
  expect(id).toMatch(/^\d+$/);
  return id;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitUntil(what: string, ok: () => boolean, limitMs: number): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > limitMs) throw new Error(`timed out after ${limitMs / 1000} s waiting for ${what}`);
    await sleep(500);
  }
}

const queued = (id: string): string[] => sh('squeue', ['-h', '-j', id, '-o', '%i %T']).out.split('\n').filter(Boolean);
const logs = (out: string): string =>
  fs.existsSync(path.join(out, 'slurm')) ? fs.readdirSync(path.join(out, 'slurm')).filter((f) => f.endsWith('.log')).map((f) => fs.readFileSync(path.join(out, 'slurm', f), 'utf8')).join('\n') : '';

function table(dir: string): string {
  return fs.readFileSync(path.join(dir, 'table.md'), 'utf8');
}

/** Every run of the plan stored exactly once over all the shard files. */
function expectComplete(out: string): void {
  const lines = storeFiles(out).reduce((n, f) => n + readStore(f).records.length, 0);
  const merged = readStoreDir(out);
  expect(merged.duplicates).toEqual([]);
  expect(merged.damage).toEqual([]);
  expect(new Set(merged.records.map((r) => r.key))).toEqual(new Set(plan.configs.map(configKey)));
  expect(lines).toBe(plan.configs.length);
}

describe.runIf(ci || reason === null)('SLURM', () => {
  it('is usable (with CI=true scripts/setup-slurm-ci.sh must have started it)', () => {
    expect(reason, `SLURM is not usable: ${reason}`).toBeNull();
    expect(sh('sinfo', ['-h', '-o', '%T']).out).toMatch(/idle|mixed|allocated/);
  });
});

describe.runIf(reason === null)('gradreg slurm --submit on a real SLURM', () => {
  const ref = path.join(root, 'single');

  captureOutput({ out: (s) => (printed += s), cleanup: () => fs.rmSync(root, { recursive: true, force: true }) });
  beforeAll(async () => {
    // the single-process run of the same plan
    expect(await reproduce([...planArgs, '--out', ref])).toBe(0);
  }, 600_000);

  it('an array of 3 shards gives the table of one process', async () => {
    const out = path.join(root, 'array');
    const id = await submit(out);
    await waitUntil(`job ${id} to finish`, () => queued(id).length === 0, 480_000);
    expect(logs(out)).toMatch(/shard 0\/3 \(from SLURM_ARRAY_TASK_ID=0 of --shards 3\)/);
    expect(storeFiles(out).map((f) => path.basename(f))).toEqual([0, 1, 2].map((i) => path.basename(shardStoreFile(out, i, 3))));
    expectComplete(out);
    printed = '';
    expect(await statusCommand([...planArgs, '--out', out])).toBe(0);
    expect(printed).toContain(`12 of 12 runs done`);
    expect(await reproduce([...planArgs, '--report-only', '--out', out])).toBe(0);
    expect(table(out)).toBe(table(ref));
  }, 600_000);

  it('a task cancelled mid-run with scancel, then the array resubmitted: nothing lost, nothing run twice', async () => {
    const out = path.join(root, 'cancelled');
    const id = await submit(out);
    const victim = shardStoreFile(out, 0, 3);
    // cancel task 0 once it has stored a run and is running the next
    await waitUntil(`task ${id}_0 to store a run`, () => readStore(victim).records.length >= 1 || queued(id).length === 0, 480_000);
    const before = readStore(victim).records.length;
    expect(queued(id).some((l) => l.startsWith(`${id}_0 RUNNING`)), `task 0 finished before it could be cancelled (${before} runs)`).toBe(true);
    expect(sh('scancel', [`${id}_0`]).code).toBe(0);
    await waitUntil(`job ${id} to finish`, () => queued(id).length === 0, 480_000);
    const mine = readStore(victim).records.length;
    expect(mine).toBeLessThan(4); // shard 0 of 3 has 4 of the 12 runs: it was stopped mid-way
    printed = '';
    expect(await statusCommand([...planArgs, '--out', out])).toBe(3);
    expect(printed).toMatch(new RegExp(`^\\| 0 \\| 4 \\| ${mine} \\| +\\| ${4 - mine} \\|`, 'm'));

    const again = await submit(out);
    await waitUntil(`job ${again} to finish`, () => queued(again).length === 0, 480_000);
    // the finished shards ran nothing; shard 0 ran only what it had not stored
    expect(logs(out)).toMatch(new RegExp(`shard 0/3: 4 of the plan's 12 runs, ${mine} already in`));
    expect(logs(out)).toMatch(/shard 1\/3: 4 of the plan's 12 runs, 4 already in .*, 0 to go/);
    expectComplete(out);
    expect(await reproduce([...planArgs, '--report-only', '--out', out])).toBe(0);
    expect(table(out)).toBe(table(ref));
  }, 900_000);
});
