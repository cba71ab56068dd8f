/**
 * The parts of `gradreg reproduce` that spread a plan over processes and machines: local worker
 * processes (--jobs), a shard's summary line, the native backend's thread count, the record of
 * the plan a results directory holds (plan.json) and the report that never silently replaces a
 * table with an emptier one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { DataError } from '../errors.js';
import type { RunConfig } from '../experiments/config.js';
import { loadCached } from '../experiments/data.js';
import { configKey } from '../experiments/hash.js';
import { PRESETS, type Plan, type PresetOptions } from '../experiments/presets.js';
import { writeReport } from '../experiments/report.js';
import { shardIndices, type ShardSpec } from '../experiments/shard.js';
import { planRecords, readUnion } from '../experiments/sweep.js';
import { UsageError } from './args.js';

/** `--sizes a,b,...`: training images per class, each an integer >= 1. */
export function sizeList(v: string | boolean | undefined): number[] | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.trim() === '') throw new UsageError('--sizes: expected a comma-separated list of training images per class');
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      const n = Number(s);
      if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`--sizes: expected training images per class, integers >= 1, got '${s}'`);
      return n;
    });
}

/**
 * Every run's training subset must exist in its dataset: each class needs perClass + validation
 * images. Checked for the whole plan before the first run (the datasets are loaded by then).
 */
export function checkPlanData(plan: Plan, dataDir?: string): void {
  const seen = new Set<string>();
  for (const c of plan.configs) {
    if (c.kind !== 'image') continue;
    const id = `${c.dataset}/${c.perClass}/${c.validation}`;
    if (seen.has(id)) continue;
    seen.add(id);
    if (c.perClass === 0) {
      if (c.validation > 0) throw new DataError(`--select validation: needs a per-class training size (the whole ${c.dataset} training set leaves nothing to hold out)`);
      continue;
    }
    const ds = loadCached(c.dataset, dataDir).data.train;
    const counts = new Array<number>(ds.classes).fill(0);
    for (let i = 0; i < ds.count; i++) counts[ds.labels[i]!]!++;
    const least = Math.min(...counts);
    if (least < c.perClass + c.validation) {
      const cls = counts.indexOf(least);
      const what = c.validation > 0 ? `${c.perClass} training + ${c.validation} validation (--val-per-class)` : `${c.perClass}`;
      throw new DataError(`--sizes: ${what} images per class is more than ${c.dataset} has (class ${cls} has ${least} training images)`);
    }
  }
}

/** Load the plan's datasets and check its training sizes (before worker processes start). */
export function checkDataUpFront(plan: Plan, dataDir: string | undefined, log: (s: string) => void): void {
  const datasets = new Set(plan.configs.flatMap((c) => (c.kind === 'image' ? [c.dataset] : [])));
  for (const d of datasets) {
    log(`loading ${d}`);
    loadCached(d, dataDir);
  }
  checkPlanData(plan, dataDir);
}

/**
 * The default of --jobs: on the native backend (the device picked, `device`) without --threads, one
 * single-threaded worker per core, as long as there is more than one run left. Measured with
 * bench/jobs.ts on the small model: 2 single-thread workers finish a sweep faster than one
 * 2-thread process (the small model's kernels are too short to keep two threads busy).
 */
export function defaultJobs(plan: Plan, storeFile: string, o: { device: string; threads: number | undefined }, log: (s: string) => void): number {
  if (o.threads !== undefined || o.device !== 'native') return 1;
  const done = new Set(planRecords(plan, storeFile, null).map((r) => r.key));
  const left = plan.configs.filter((c) => !done.has(configKey(c))).length;
  const jobs = Math.min(os.availableParallelism(), left);
  if (jobs > 1) log(`--jobs ${jobs} (the default on the native backend: one single-threaded worker per core; --jobs 1 for one process)`);
  return Math.max(1, jobs);
}


// ---- plan.json: the plan a results directory was made with, and what its table last showed ----

export function planFile(out: string): string {
  return path.join(out, 'plan.json');
}

interface PlanRecord {
  preset: string;
  options: PresetOptions;
  runs: number;
  /** The last report written: runs of its plan and how many were finished. */
  reported?: { preset: string; options: PresetOptions; runs: number; finished: number };
}

function readPlanJson(out: string): PlanRecord | null {
  try {
    const j = JSON.parse(fs.readFileSync(planFile(out), 'utf8')) as PlanRecord;
    return typeof j === 'object' && j !== null && typeof j.preset === 'string' && typeof j.options === 'object' ? j : null;
  } catch {
    return null;
  }
}

/** The options recorded for `preset` in <out>/plan.json, if any. */
export function readPlanFile(out: string, preset: string): { options: PresetOptions } | null {
  const j = readPlanJson(out);
  return j && j.preset === preset ? { options: j.options } : null;
}

function writeJsonAtomic(file: string, v: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${os.hostname()}-${process.pid}`;
  fs.writeFileSync(tmp, `${JSON.stringify(v, null, 2)}\n`);
  fs.renameSync(tmp, file);
}

/** Record the plan being run (every shard writes the same content). */
export function writePlanFile(out: string, preset: string, options: PresetOptions, plan: Plan): void {
  const prev = readPlanJson(out);
  writeJsonAtomic(planFile(out), { preset, options, runs: plan.configs.length, ...(prev?.reported ? { reported: prev.reported } : {}) } satisfies PlanRecord);
}

export interface GuardOptions {
  reportOnly: boolean;
  /** Whether plan-shaping options were given on the command line. */
  planFlagsGiven: boolean;
  log: (s: string) => void;
}

/**
 * The options of `preset` whose plan holds every stored run of the preset's kind, inferred from
 * the stored configurations (methods, lambdas, seeds, epochs, sizes, test points, batch, selection),
 * plain, --quick or --smoke; null when no such plan exists (runs of several option sets, another preset).
 */
export function inferOptions(preset: string, stored: readonly { key: string; config: RunConfig }[]): PresetOptions | null {
  const def = PRESETS[preset];
  if (!def) return null;
  const base = def.build({ quick: false, select: 'test', valPerClass: 100 });
  const cs = stored.filter((r) => r.config.kind === base.kind);
  if (cs.length === 0) return null;
  const uniqNum = (v: number[]): number[] => [...new Set(v)].sort((a, b) => a - b);
  const configs = cs.map((r) => r.config);
  const stMethods = [...new Set(configs.map((c) => c.regularizer))];
  const img = configs.filter((c): c is Extract<RunConfig, { kind: 'image' }> => c.kind === 'image');
  const val = uniqNum(img.map((c) => c.validation));
  const common: Omit<PresetOptions, 'quick' | 'methods'> = {
    select: val.length === 1 && val[0]! > 0 ? 'validation' : 'test',
    valPerClass: val.length === 1 && val[0]! > 0 ? val[0]! : 100,
    seeds: Math.max(...configs.map((c) => c.seed)) + 1,
    lambdas: uniqNum(configs.map((c) => c.lambda).filter((l) => base.kind === 'sin' || l > 0)),
  };
  const epochs = uniqNum(configs.map((c) => (c.kind === 'sin' ? c.steps : c.epochs)));
  if (epochs.length === 1) common.epochs = epochs[0];
  if (img.length) {
    common.sizes = uniqNum(img.map((c) => c.perClass));
    const tp = uniqNum(img.map((c) => c.testPoints));
    if (tp.length === 1) common.testPoints = tp[0];
    const wd = uniqNum(img.map((c) => c.weightDecay));
    if (wd.length === 1) common.weightDecay = wd[0];
    const batch = uniqNum(img.map((c) => c.batch));
    if (batch.length === 1) common.batch = batch[0];
  }
  const keys = new Set(cs.map((r) => r.key));
  // the variants whose default plan has exactly the stored methods first: their row order is the table's
  const variants = [{ quick: false }, { quick: true }, { quick: false, smoke: true }].map((v) => ({
    v,
    order: [...new Set(def.build({ ...v, select: 'test', valPerClass: 100 }).configs.map((c) => c.regularizer))],
  }));
  const same = (order: string[]): boolean => order.length === stMethods.length && order.every((m) => stMethods.includes(m));
  variants.sort((a, b) => Number(same(b.order)) - Number(same(a.order)));
  for (const { v: size, order } of variants) {
    try {
      // the methods in the order of that variant's default plan (the table's rows), others after
      const methods = [...order.filter((m) => stMethods.includes(m)), ...stMethods.filter((m) => !order.includes(m))];
      const o: PresetOptions = { ...size, ...common, methods };
      const planKeys = new Set(def.build(o).configs.map(configKey));
      if ([...keys].every((k) => planKeys.has(k))) return o;
    } catch {
      // not a plan of this preset
    }
  }
  return null;
}

/** Plan options as command-line flags, for messages. */
export function describeOptions(o: PresetOptions): string {
  const parts: string[] = [];
  if (o.methods) parts.push(`--methods ${o.methods.join(',')}`);
  if (o.lambdas) parts.push(`--lambdas ${o.lambdas.join(',')}`);
  if (o.seeds !== undefined) parts.push(`--seeds ${o.seeds}`);
  if (o.epochs !== undefined) parts.push(`--epochs ${o.epochs}`);
  if (o.sizes) parts.push(`--sizes ${o.sizes.join(',')}`);
  if (o.testPoints !== undefined) parts.push(`--test-points ${o.testPoints}`);
  if (o.batch !== undefined) parts.push(`--batch ${o.batch}`);
  if (o.select === 'validation') parts.push(`--select validation --val-per-class ${o.valPerClass}`);
  return parts.join(' ');
}

/** What the stored runs of the plan's kind were, as the options that select them, for the error message. */
function hint(plan: Plan, stored: readonly { config: RunConfig }[]): string {
  const cs = stored.map((r) => r.config).filter((c) => c.kind === plan.kind);
  if (cs.length === 0) return '';
  const uniq = <T>(v: T[]): T[] => [...new Set(v)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const nums = (v: number[]): string => uniq(v).sort((a, b) => a - b).join(',');
  const opts = [
    `--methods ${uniq(cs.map((c) => c.regularizer)).join(',')}`,
    `--lambdas ${nums(cs.map((c) => c.lambda).filter((l) => plan.kind === 'sin' || l > 0))}`,
    `--seeds ${Math.max(...cs.map((c) => c.seed)) + 1}`,
    `--epochs ${nums(cs.map((c) => (c.kind === 'sin' ? c.steps : c.epochs)))}`,
  ];
  const img = cs.filter((c): c is Extract<RunConfig, { kind: 'image' }> => c.kind === 'image');
  if (img.length) opts.push(`--sizes ${nums(img.map((c) => c.perClass))}`, `--test-points ${nums(img.map((c) => c.testPoints))}`);
  return ` (the stored runs are of ${opts.join(' ')}; --quick if they were made with it)`;
}

/**
 * Write the report of `plan` from every store file of `out`. With --report-only it refuses (exit 2,
 * the table left as it is) when the plan matches none of the stored runs, or fewer than the table
 * there showed; a run with other options replaces the table and says so.
 */
export function writeGuardedReport(plan: Plan, out: string, storeFile: string, o: GuardOptions): number {
  const log = o.log;
  const union = readUnion(storeFile, log);
  const records = planRecords(plan, storeFile, log);
  const prev = readPlanJson(out)?.reported;
  const table = path.join(out, 'table.md');
  const shown = prev && fs.existsSync(table) ? prev.finished : 0;
  const which = `${plan.preset}${o.planFlagsGiven ? ' with these options' : ''} has ${plan.configs.length} runs`;
  if (o.reportOnly) {
    if (union.records.length > 0 && records.length === 0) {
      throw new UsageError(`--report-only: none of the ${union.records.length} runs stored in ${out} belong to this plan (${which}); pass the options they were run with${hint(plan, union.records)}; ${table} left unchanged`);
    }
    if (records.length < shown) {
      throw new UsageError(`--report-only: this plan (${which}) has ${records.length} finished runs in ${out}, but ${table} shows ${shown}; pass the options it was made with (see ${planFile(out)}); ${table} left unchanged`);
    }
  } else if (records.length < shown) {
    log(`replacing ${table} (${shown} finished runs of ${prev!.preset}, ${prev!.runs} planned) with this plan's (${records.length} of ${plan.configs.length})`);
  }
  const rep = writeReport(plan, records, out);
  const j = readPlanJson(out);
  const reported = { preset: plan.preset, options: j?.options ?? ({} as PresetOptions), runs: plan.configs.length, finished: records.length };
  writeJsonAtomic(planFile(out), { preset: j?.preset ?? plan.preset, options: j?.options ?? reported.options, runs: j?.runs ?? plan.configs.length, reported } satisfies PlanRecord);
  process.stdout.write(`${rep.markdown}\n`);
  log(`wrote ${rep.written.length} files under ${out}`);
  return records.length === plan.configs.length ? 0 : 3;
}

/** The one line a shard prints when it stops: its own progress and the plan's. */
export function shardSummary(plan: Plan, shard: ShardSpec, out: string, storeFile: string): number {
  const stored = new Set(planRecords(plan, storeFile).map((r) => r.key));
  const mine = shardIndices(plan.configs, shard).map((i) => configKey(plan.configs[i]!));
  const done = mine.filter((k) => stored.has(k)).length;
  const hint = process.env.GRADREG_JOBS_WORKER === '1' ? '' : ` ('gradreg reproduce ${plan.preset} <the same options> --report-only --out ${out}' writes the merged table)`;
  process.stdout.write(`shard ${shard.index}/${shard.count}: ${done} of its ${mine.length} runs stored; ${stored.size} of the plan's ${plan.configs.length} runs are in ${out}${hint}\n`);
  return done === mine.length ? 0 : 3;
}

// ---- --jobs: worker processes on this machine ----

/** How to start this gradreg again: node, tsx's loader when running from the TypeScript source, and main. */
export function gradregCommand(): string[] {
  const self = fileURLToPath(import.meta.url);
  const ts = self.endsWith('.ts');
  const main = path.join(path.dirname(self), ts ? 'main.ts' : 'main.js');
  let tsx = 'tsx';
  try {
    tsx = import.meta.resolve('tsx');
  } catch {
    // import.meta.resolve is missing under some loaders (vitest): 'tsx' resolves from the working directory
  }
  return [process.execPath, ...(ts ? ['--import', tsx] : []), main];
}

/** argv without the flags named (and their values). */
export function dropFlags(argv: readonly string[], names: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const name = names.find((n) => a === `--${n}` || a.startsWith(`--${n}=`));
    if (name === undefined) {
      out.push(a);
      continue;
    }
    if (a === `--${name}`) i++;
  }
  return out;
}

export interface JobsOptions {
  jobs: number;
  threads: number | undefined;
  /** The backend the parent picked: every worker uses it (no worker probes devices again). */
  device: string;
  plan: Plan;
  out: string;
  storeFile: string;
  log: (s: string) => void;
}

/**
 * Run the plan as `jobs` worker processes, worker i being shard i/jobs with cores/jobs native
 * threads, then write the merged report. Ctrl-C is passed on to every worker (each stops after
 * its run in progress; a second Ctrl-C stops them at once).
 */
export async function runJobs(argv: readonly string[], o: JobsOptions): Promise<number> {
  const cores = os.availableParallelism();
  const threads = o.threads ?? Math.max(1, Math.floor(cores / o.jobs));
  const base = [...dropFlags(argv, ['jobs', 'threads', 'device']), '--device', o.device];
  const [node, ...pre] = gradregCommand();
  o.log(`--jobs ${o.jobs}: ${o.jobs} worker processes of ${threads} thread${threads > 1 ? 's' : ''} each (${cores} cores), worker i running shard i/${o.jobs}`);
  const children: ChildProcess[] = [];
  const codes: Promise<number>[] = [];
  for (let i = 0; i < o.jobs; i++) {
    const child = spawn(node!, [...pre, 'reproduce', ...base, '--shard', `${i}/${o.jobs}`, '--threads', String(threads)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env: { ...process.env, GRADREG_NATIVE_THREADS: String(threads), GRADREG_JOBS_WORKER: '1' },
    });
    children.push(child);
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => o.log(`[job ${i}] ${line}`));
    }
    codes.push(new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal === 'SIGINT' ? 130 : 1)))));
  }
  const forward = (sig: NodeJS.Signals) => (): void => {
    for (const c of children) if (c.exitCode === null) c.kill(sig);
  };
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  let results: number[];
  try {
    results = await Promise.all(codes);
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
  const failed = results.map((c, i) => [i, c] as const).filter(([, c]) => c !== 0 && c !== 3);
  if (failed.length) o.log(`--jobs: worker${failed.length > 1 ? 's' : ''} ${failed.map(([i, c]) => `${i} (exit ${c})`).join(', ')} failed`);
  const code = writeGuardedReport(o.plan, o.out, o.storeFile, { reportOnly: false, planFlagsGiven: true, log: o.log });
  if (failed.some(([, c]) => c === 2)) return 2;
  return failed.length ? 1 : code;
}
