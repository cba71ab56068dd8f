/**
 * The cluster commands: `gradreg plan` (runs and estimated core-hours before anything runs),
 * `gradreg slurm` (an sbatch array script, one task per shard, optionally submitted) and
 * `gradreg status` (done / running / missing per shard of a results directory).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { deviceInfo, type DeviceName } from '../index.js';
import { engine } from '../engine.js';
import { measureCost } from '../experiments/cost.js';
import { configKey } from '../experiments/hash.js';
import {
  defaultCacheFile, estimateMarkdown, estimatePlan, fmtHours, loadSnapshot, otherCores, readStepCache, stepKey, stepKinds, writeStepCache,
  type StepContext, type StepKind,
} from '../experiments/estimate.js';
import { PRESETS } from '../experiments/presets.js';
import { shardIndices } from '../experiments/shard.js';
import { pidAlive, readLock, shardOfFile, shardStoreFile, storeFiles } from '../experiments/store.js';
import { planRecords } from '../experiments/sweep.js';
import { UsageError, checkOutputDir, intFlag, type FlagSpec } from './args.js';
import { DEVICE_HELP, selectDevice } from './device.js';
import { parsePlanArgs } from './reproduce.js';
import { dropFlags, gradregCommand } from './shards.js';

const presetList = Object.keys(PRESETS).join(', ');
const PLAN_OPTIONS_NOTE = `Plan options are those of 'gradreg reproduce' (--quick, --seeds, --epochs, --lambdas, --sizes,
--methods, --test-points, --select, --dropout, --weight-decay, --out): the same options give the same
runs, in the same order, on every machine.`;

// ---- gradreg plan ----

export const PLAN_USAGE = `Usage: gradreg plan <preset> [plan options] [options]

Before anything runs: the number of runs and the estimated core-hours per method and training size,
from training-step times measured on this machine (a few steps per model and regularizer, cached).
Presets: ${presetList}.

Options:
  --device NAME     backend the step times are measured on: ${DEVICE_HELP}
  --threads N       native threads per run while measuring (default 1, as each worker of --jobs runs;
                    pass a SLURM task's --cpus-per-task to price that); core-hours = hours x N
  --reps N          timed steps per regularizer after a warm-up step (default 2)
  --cache FILE      the step-time cache (default ${defaultCacheFile().replace(os.homedir(), '~')})
  --remeasure       measure again even when the cache has the step times

${PLAN_OPTIONS_NOTE}
Cells are "runs / core-hours": training steps x measured step time, plus the final evaluation.`;

const PLAN_OWN: FlagSpec = { reps: { type: 'string' }, cache: { type: 'string' }, remeasure: { type: 'boolean' } };

export async function planCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${PLAN_USAGE}\n`);
    return 0;
  }
  const { preset, plan, values: v } = await parsePlanArgs('plan', argv, PLAN_OWN);
  const log = (s: string): void => void process.stderr.write(`${s}\n`);
  const reps = intFlag('reps', v.reps, 2);
  const cacheFile = typeof v.cache === 'string' ? v.cache : defaultCacheFile();
  const kinds = stepKinds(plan);
  const sinOnly = kinds.length === 0;
  // the sin MLP has no step kind: it is priced in units of a small-model baseline step at batch 50
  const unitKind: StepKind = { model: 'small', input: 'mnist', batch: 50, variant: 'baseline' };
  if (sinOnly) kinds.push(unitKind);
  const device = (await selectDevice(v.device, log)).picked;
  let threads = 1;
  if (device === 'native') {
    const b = engine.backend('native') as unknown as { setThreads(n: number): void; isaInfo(): { threads: number } };
    b.setThreads(intFlag('threads', v.threads, 1));
    threads = b.isaInfo().threads;
  }
  const ctx: StepContext = { host: os.hostname(), device, threads };
  const cache = readStepCache(cacheFile);
  const missing = kinds.filter((k) => v.remeasure === true || cache[stepKey(ctx, k)] === undefined);
  const groups = new Map<string, StepKind[]>();
  for (const k of missing) {
    const id = `${k.model}|${k.input}|${k.batch}`;
    groups.set(id, [...(groups.get(id) ?? []), k]);
  }
  for (const ks of groups.values()) {
    const k0 = ks[0]!;
    log(`plan: measuring ${ks.length} step time${ks.length > 1 ? 's' : ''} of ${k0.model} (${k0.input}, batch ${k0.batch}) on ${device}, ${threads} thread${threads > 1 ? 's' : ''}`);
    const before = loadSnapshot();
    const rows = await measureCost({
      model: k0.model, batch: k0.batch, reps, variants: ks.map((k) => k.variant),
      inputShape: k0.input === 'cifar' ? [3, 32, 32] : [1, 28, 28], classes: 10, log,
    });
    const load = otherCores(before, loadSnapshot());
    for (const r of rows) {
      if (r.error || !Number.isFinite(r.ms)) throw new UsageError(`plan: measuring ${r.variant} on ${k0.model} failed: ${r.error ?? 'no time'}`);
      cache[stepKey(ctx, { ...k0, variant: r.variant })] = { ms: r.ms, measured: new Date().toISOString(), ...(Number.isFinite(load) ? { otherCores: Math.round(load * 100) / 100 } : {}) };
    }
    writeStepCache(cacheFile, cache);
  }
  const msOf = (k: StepKind): number => {
    const c = cache[stepKey(ctx, k)];
    if (!c) throw new Error(`plan: no step time for ${stepKey(ctx, k)}`);
    return c.ms;
  };
  const e = estimatePlan(plan, msOf, threads, sinOnly ? msOf(unitKind) : 0);
  const measured = kinds.map((k) => cache[stepKey(ctx, k)]!.measured).sort();
  const loads = kinds.map((k) => cache[stepKey(ctx, k)]!.otherCores).filter((x): x is number => x !== undefined);
  const busiest = loads.length ? Math.max(...loads) : undefined;
  const info = deviceInfo(device as DeviceName).replace(/, \d+ threads?/, '');
  const lines = [
    `# ${preset}: ${e.runs} runs, about ${fmtHours(e.coreHours)} core-hours`,
    '',
    `${plan.title}. Cells: runs / core-hours (per method and ${plan.kind === 'sin' ? 'setting' : 'training images per class'}).`,
    '',
    estimateMarkdown(e),
    '',
    `Step times measured on ${os.hostname()} (${info}), ${threads} thread${threads > 1 ? 's' : ''}, ${measured[0]?.slice(0, 16)}${measured.length > 1 && measured[measured.length - 1]!.slice(0, 16) !== measured[0]!.slice(0, 16) ? ` to ${measured[measured.length - 1]!.slice(0, 16)}` : ''} UTC; cached in ${cacheFile} (--remeasure to refresh).`,
    ...(busiest !== undefined && busiest >= 0.25
      ? [`Under load: other processes used up to ${busiest.toFixed(2)} of ${os.availableParallelism()} cores while the step times were measured, so these estimates run high; run 'gradreg plan ... --remeasure' on an idle machine.`]
      : []),
    `The longest run takes about ${fmtHours(e.longestRunHours)} h of wall time: no split of the plan finishes sooner. On this machine alone: about ${fmtHours(e.coreHours / Math.max(1, os.availableParallelism()))} h on ${os.availableParallelism()} cores.`,
    ...(sinOnly ? ['The sin(5x) MLP is priced from a small-model baseline step (it has no step measurement of its own).'] : []),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

// ---- gradreg slurm ----

export const SLURM_USAGE = `Usage: gradreg slurm <preset> [plan options] [options]

Write an sbatch script that runs the plan as a SLURM job array, one task per shard (shards are
balanced by estimated cost), each task with its own results file in --out (a filesystem every node
sees); with --submit, submit it and print the job id. A requeued or resubmitted task skips the runs
it finished. When the array is done, 'gradreg reproduce <preset> [plan options] --report-only --out DIR'
writes the merged table, and 'gradreg status' shows done / running / missing per shard.

Options:
  --shards N            array tasks (default: the runs of the plan, at most 64)
  --partition NAME      #SBATCH --partition
  --time T              #SBATCH --time, per task (e.g. 2-00:00:00)
  --cpus-per-task C     #SBATCH --cpus-per-task, and the native threads of each task (default 2)
  --mem M               #SBATCH --mem (e.g. 4G)
  --array-parallel K    at most K tasks at once (--array=0-(N-1)%K)
  --job-name NAME       #SBATCH --job-name (default gradreg-<preset>)
  --sbatch LINE         an extra #SBATCH line (repeatable): --sbatch account=lab or --sbatch=--account=lab
  --script FILE         where to write the script (default <out>/slurm/<preset>.sbatch)
  --submit              submit it with sbatch and print the job id

${PLAN_OPTIONS_NOTE}`;

const SLURM_OWN: FlagSpec = {
  partition: { type: 'string' },
  time: { type: 'string' },
  'cpus-per-task': { type: 'string' },
  mem: { type: 'string' },
  'array-parallel': { type: 'string' },
  'job-name': { type: 'string' },
  sbatch: { type: 'string', multiple: true },
  script: { type: 'string' },
  submit: { type: 'boolean' },
};

const shq = (s: string): string => (/^[A-Za-z0-9_./:=,@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

function noNewline(name: string, v: string): string {
  if (/[\n\r]/.test(v)) throw new UsageError(`--${name}: expected one line, got '${v.replace(/[\n\r]/g, '\\n')}'`);
  return v;
}

export async function slurmCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${SLURM_USAGE}\n`);
    return 0;
  }
  const { preset, plan, values: v, out } = await parsePlanArgs('slurm', argv, SLURM_OWN);
  if (v.shard !== undefined || v.jobs !== undefined || v['report-only'] !== undefined) {
    throw new UsageError('slurm: --shard, --jobs and --report-only are not options of an array job (each task is one shard of --shards N)');
  }
  const shards = intFlag('shards', v.shards, Math.min(plan.configs.length, 64));
  const cpus = intFlag('cpus-per-task', v['cpus-per-task'], 2);
  const parallel = v['array-parallel'] === undefined ? undefined : intFlag('array-parallel', v['array-parallel'], 1);
  const absOut = checkOutputDir('--out', out);
  const script = path.resolve(typeof v.script === 'string' ? v.script : path.join(out, 'slurm', `${preset}.sbatch`));
  // the task's command: this gradreg, the plan's own options, absolute paths (the job starts elsewhere)
  const own = ['partition', 'time', 'cpus-per-task', 'mem', 'array-parallel', 'job-name', 'sbatch', 'script', 'submit', 'out', 'shards', 'threads', 'data-dir', 'max-runs'];
  const planArgs = dropFlags(argv.slice(1), own);
  const extra = [
    ...(typeof v['data-dir'] === 'string' ? ['--data-dir', path.resolve(v['data-dir'])] : []),
    ...(typeof v['max-runs'] === 'string' ? ['--max-runs', v['max-runs']] : []),
  ];
  const cmd = [...gradregCommand(), 'reproduce', preset, ...planArgs, ...extra, '--out', absOut, '--shards', String(shards)];
  const sb: string[] = [
    `--job-name=${noNewline('job-name', typeof v['job-name'] === 'string' ? v['job-name'] : `gradreg-${preset}`)}`,
    `--array=0-${shards - 1}${parallel ? `%${parallel}` : ''}`,
    `--cpus-per-task=${cpus}`,
    '--ntasks=1',
    ...(typeof v.partition === 'string' ? [`--partition=${noNewline('partition', v.partition)}`] : []),
    ...(typeof v.time === 'string' ? [`--time=${noNewline('time', v.time)}`] : []),
    ...(typeof v.mem === 'string' ? [`--mem=${noNewline('mem', v.mem)}`] : []),
    `--output=${path.join(absOut, 'slurm', '%A_%a.log')}`,
    '--open-mode=append',
    '--requeue',
    `--chdir=${process.cwd()}`,
    ...((v.sbatch as unknown as string[] | undefined) ?? []).map((l) => noNewline('sbatch', l).replace(/^\s*#SBATCH\s+/, '').trim()).map((l) => (l.startsWith('-') ? l : `--${l}`)),
  ];
  const text = [
    '#!/bin/bash',
    `# ${plan.title}: ${plan.configs.length} runs in ${shards} shards balanced by estimated cost.`,
    `# Written by: gradreg slurm ${argv.map(shq).join(' ')}`,
    ...sb.map((l) => `#SBATCH ${l}`),
    'set -euo pipefail',
    `threads="\${SLURM_CPUS_PER_TASK:-${cpus}}"`,
    'export GRADREG_NATIVE_THREADS="$threads"',
    '# shard = SLURM_ARRAY_TASK_ID of --shards; finished runs are skipped, so a requeued task resumes',
    `exec ${cmd.map(shq).join(' ')} --threads "$threads"`,
    '',
  ].join('\n');
  fs.mkdirSync(path.join(absOut, 'slurm'), { recursive: true });
  fs.mkdirSync(path.dirname(script), { recursive: true });
  fs.writeFileSync(script, text, { mode: 0o755 });
  process.stderr.write(`wrote ${script}: ${plan.configs.length} runs as an array of ${shards} tasks (${cpus} cpus each)\n`);
  if (v.submit !== true) {
    process.stdout.write(`${script}\n`);
    return 0;
  }
  const r = spawnSync('sbatch', ['--parsable', script], { encoding: 'utf8' });
  if (r.error) throw new UsageError(`--submit: could not run sbatch (${(r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found on PATH' : r.error.message})`);
  if (r.status !== 0) throw new UsageError(`--submit: sbatch failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().split('\n')[0]}`);
  const id = r.stdout.trim().split(';')[0]!;
  if (!/^\d+$/.test(id)) throw new UsageError(`--submit: sbatch printed '${r.stdout.trim()}', not a job id`);
  fs.appendFileSync(path.join(absOut, 'slurm', 'jobs.txt'), `${id} ${new Date().toISOString()} ${script}\n`);
  process.stdout.write(`${id}\n`);
  process.stderr.write(`submitted job ${id} (array 0-${shards - 1}); 'squeue -j ${id}' or 'gradreg status ${preset} [plan options] --out ${out}' to follow it\n`);
  return 0;
}

// ---- gradreg status ----

export const STATUS_USAGE = `Usage: gradreg status <preset> [plan options] [--out DIR] [--shards N]

Done / running / missing runs per shard of a results directory (every shard's file merged; a
run stored by any shard, or by an unsharded sweep, counts as done). A shard is running while its
results file is locked by a live writer (a heartbeat refreshed at least every 30 s of training).

Options:
  --shards N     the shard count (default: the one of the shard files in the directory)
  --stale S      seconds after which another machine's heartbeat counts as gone (default 600)

${PLAN_OPTIONS_NOTE}
Exit status: 0 when every run of the plan is done, 3 otherwise.`;

export async function statusCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${STATUS_USAGE}\n`);
    return 0;
  }
  const { preset, plan, values: v, out } = await parsePlanArgs('status', argv, { stale: { type: 'string' } });
  const stale = intFlag('stale', v.stale, 600);
  const files = storeFiles(out);
  const counts = files.map(shardOfFile).filter((s): s is { index: number; count: number } => s !== null).map((s) => s.count);
  const lockCounts = fs.existsSync(out)
    ? fs.readdirSync(out).filter((n) => n.endsWith('.jsonl.lock')).map((n) => shardOfFile(n.slice(0, -5))?.count).filter((c): c is number => c !== undefined)
    : [];
  const seen = [...counts, ...lockCounts];
  const common = seen.length ? seen.sort((a, b) => seen.filter((x) => x === b).length - seen.filter((x) => x === a).length)[0]! : 1;
  const shards = intFlag('shards', v.shards, common);
  const done = new Set(planRecords(plan, path.join(out, 'results.jsonl')).map((r) => r.key));
  const rows: string[] = ['| shard | runs | done | running | missing | writer |', '| ---: | ---: | ---: | --- | ---: | --- |'];
  let totalDone = 0;
  let running = 0;
  let incomplete = 0;
  for (let i = 0; i < shards; i++) {
    const idx = shardIndices(plan.configs, { index: i, count: shards });
    const d = idx.filter((j) => done.has(configKey(plan.configs[j]!))).length;
    const file = shards === 1 && !files.some((f) => shardOfFile(f)) ? path.join(out, 'results.jsonl') : shardStoreFile(out, i, shards);
    const lock = readLock(`${file}.lock`);
    const live = lock !== null && (lock.host === os.hostname() ? pidAlive(lock.pid) : Date.now() - lock.mtimeMs < stale * 1000);
    const run = live && d < idx.length ? 1 : 0;
    totalDone += d;
    running += run;
    if (d < idx.length) incomplete++;
    const writer = live ? `${lock!.host} pid ${lock!.pid}${lock!.run ? `: ${lock!.run}` : ''}` : lock ? `stale lock of ${lock.host} pid ${lock.pid}` : '';
    rows.push(`| ${i} | ${idx.length} | ${d} | ${run ? 'yes' : ''} | ${idx.length - d - run} | ${writer.replace(/\|/g, '/')} |`);
  }
  const lines = [
    `# ${preset}: ${totalDone} of ${plan.configs.length} runs done in ${out} (${shards} shard${shards > 1 ? 's' : ''}: ${shards - incomplete} complete, ${running} running, ${incomplete - running} waiting or stopped)`,
    '',
    ...rows,
  ];
  if (totalDone < plan.configs.length && files.length === 0) lines.push('', `No results files in ${out} yet.`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return totalDone === plan.configs.length ? 0 : 3;
}
