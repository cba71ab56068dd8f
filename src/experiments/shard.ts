/**
 * Splitting a plan over machines. A plan (a preset and its options) expands to the same ordered
 * list of runs everywhere, so run i of the plan is the same configuration on every machine. Shard
 * I of N takes the runs that a deterministic longest-first greedy assignment gives it, by an
 * estimated cost that depends on the configuration alone (never on the machine it is computed on:
 * every machine must draw the same shards). An exact Jacobian penalty at 1000 images per class
 * costs several hundred times a baseline run at 50 per class, so balancing by count would leave
 * one shard running for days after the rest finished.
 *
 * The relative step costs below are the ratios measured with `gradreg cost` on the native backend
 * (small model, MNIST, batch 50: plain 6.4 ms, db 13 ms, the exact penalties 66-68 ms); only their
 * ratios matter here. `gradreg plan` uses step times measured on the machine instead.
 */
import { ArgumentError } from '../errors.js';
import type { RunConfig } from './config.js';
import { JACOBIAN_PENALTIES, parseRegularizer, type RegularizerName } from '../regularizers/index.js';

/** Training-set sizes (all classes) and test-set sizes of the datasets, for perClass 0 and testPoints 0. */
const TRAIN_COUNT: Record<string, number> = { mnist: 60000, 'fashion-mnist': 60000, fashion: 60000, cifar10: 50000, cifar: 50000 };
const TEST_COUNT: Record<string, number> = { mnist: 10000, 'fashion-mnist': 10000, fashion: 10000, cifar10: 10000, cifar: 10000 };
const CLASSES = 10;

/** Step cost of a model relative to the small model on 1x28x28 inputs (forward + backward + Adam). */
const MODEL_UNITS: Record<string, number> = { small: 1, lenet5: 0.6, 'lenet5-bn': 0.7, resnet: 25 };

export function isCifar(dataset: string): boolean {
  return dataset.startsWith('cifar');
}

function modelUnits(model: string, dataset: string): number {
  const base = MODEL_UNITS[model] ?? 1;
  return model !== 'resnet' && isCifar(dataset) ? base * 1.6 : base;
}

/** A regularized step relative to a plain one (classes = width of the logits). */
export function methodUnits(regularizer: string): number {
  let spec;
  try {
    spec = parseRegularizer(regularizer, 1);
  } catch {
    return 1;
  }
  const name: RegularizerName = spec.name;
  if (name === 'baseline' || name === 'ni' || name === 'cp') return 1.05;
  if (name === 'db') return 2;
  if (name === 'spectreg') return 1 + (spec.projections ?? 1);
  if (JACOBIAN_PENALTIES.includes(name)) {
    const pulls = spec.projections ?? CLASSES;
    return 1 + pulls * 0.95 + (name === 'hsfob-db1' || name === 'hsfob-db2' ? 1 : 0);
  }
  return 2;
}

/** Training images of a run (all classes). */
export function trainCount(dataset: string, perClass: number): number {
  return perClass > 0 ? perClass * CLASSES : (TRAIN_COUNT[dataset] ?? 60000);
}

export function testCount(dataset: string, testPoints: number): number {
  const all = TEST_COUNT[dataset] ?? 10000;
  return testPoints > 0 ? Math.min(testPoints, all) : all;
}

/** Optimizer steps of a run (the last partial batch counts as a step). */
export function stepsOf(c: RunConfig): number {
  if (c.kind === 'sin') return c.steps;
  return c.epochs * Math.ceil(trainCount(c.dataset, c.perClass) / c.batch);
}

/**
 * Estimated cost of a run in "plain small-model steps at batch 50": training steps times the
 * model's and the regularizer's step cost (scaled by batch), plus the final evaluation (a forward
 * pass over the test images at about a third of a step, and the gradient norm and FGSM on the
 * robustness points at about one step per batch).
 */
export function runCostUnits(c: RunConfig): number {
  if (c.kind === 'sin') return c.steps * 0.02 * methodUnits(c.regularizer);
  const m = modelUnits(c.model, c.dataset);
  const perStep = m * (c.batch / 50) * methodUnits(c.regularizer);
  const evalUnits = m * ((testCount(c.dataset, c.testPoints) / 50) * 0.35 + (testCount(c.dataset, c.robustPoints) / 50) * (1 + c.fgsmEps.length * 0.35));
  return stepsOf(c) * perStep + evalUnits;
}

export interface ShardSpec {
  /** 0-based. */
  index: number;
  count: number;
}

/**
 * Shard of every run: runs sorted by estimated cost, largest first (ties by plan index), each given
 * to the shard with the least total so far (ties to the lowest shard). Deterministic.
 */
export function assignShards(configs: readonly RunConfig[], count: number, cost: (c: RunConfig) => number = runCostUnits): number[] {
  if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`assignShards: count must be an integer >= 1, got ${count}`);
  const costs = configs.map(cost);
  const order = configs.map((_, i) => i).sort((a, b) => costs[b]! - costs[a]! || a - b);
  const load = new Array<number>(count).fill(0);
  const shard = new Array<number>(configs.length).fill(0);
  for (const i of order) {
    let best = 0;
    for (let s = 1; s < count; s++) if (load[s]! < load[best]!) best = s;
    shard[i] = best;
    load[best]! += costs[i]!;
  }
  return shard;
}

/** Plan indices of shard `s.index` of `s.count`, in plan order. */
export function shardIndices(configs: readonly RunConfig[], s: ShardSpec, cost?: (c: RunConfig) => number): number[] {
  const a = assignShards(configs, s.count, cost);
  const out: number[] = [];
  a.forEach((sh, i) => {
    if (sh === s.index) out.push(i);
  });
  return out;
}

/** Parse "I/N" (0-based I). */
export function parseShard(text: string): ShardSpec | null {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) return null;
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(count) || count < 1 || index >= count) return null;
  return { index, count };
}

export interface ShardSource {
  shard: ShardSpec;
  /** Where it came from, for the log: "--shard 2/8", "SLURM_ARRAY_TASK_ID=5 ...", "JOB_COMPLETION_INDEX=3 ...". */
  source: string;
}

/**
 * The shard of this process: `--shard I/N` if given; else SLURM's array variables (the task id
 * minus SLURM_ARRAY_TASK_MIN of SLURM_ARRAY_TASK_COUNT tasks, or the task id itself of --shards N
 * when that is given, so that resubmitting a few tasks of an array keeps their indices); else
 * Kubernetes's JOB_COMPLETION_INDEX of --shards N. Null: run the whole plan. Throws an
 * ArgumentError on inconsistent values.
 */
export function detectShard(flagShard: string | undefined, flagShards: number | undefined, env: NodeJS.ProcessEnv): ShardSource | null {
  if (flagShard !== undefined) {
    const s = parseShard(flagShard);
    if (!s) throw new ArgumentError(`--shard: expected I/N with 0 <= I < N (e.g. 3/8), got '${flagShard}'`);
    if (flagShards !== undefined && flagShards !== s.count) throw new ArgumentError(`--shards ${flagShards} contradicts --shard ${flagShard}`);
    return { shard: s, source: `--shard ${s.index}/${s.count}` };
  }
  const int = (name: string): number | undefined => {
    const v = env[name];
    if (v === undefined || v.trim() === '') return undefined;
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 0) throw new ArgumentError(`${name}: expected a non-negative integer, got '${v}'`);
    return n;
  };
  const taskId = int('SLURM_ARRAY_TASK_ID');
  if (taskId !== undefined) {
    if (flagShards !== undefined) {
      if (taskId >= flagShards) throw new ArgumentError(`SLURM_ARRAY_TASK_ID=${taskId} is not a shard of --shards ${flagShards} (array indices must be 0..${flagShards - 1})`);
      return { shard: { index: taskId, count: flagShards }, source: `SLURM_ARRAY_TASK_ID=${taskId} of --shards ${flagShards}` };
    }
    const count = int('SLURM_ARRAY_TASK_COUNT');
    const min = int('SLURM_ARRAY_TASK_MIN') ?? 0;
    if (count === undefined || count < 1) throw new ArgumentError('SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not: pass --shards N');
    const index = taskId - min;
    if (index < 0 || index >= count) throw new ArgumentError(`SLURM_ARRAY_TASK_ID=${taskId} with SLURM_ARRAY_TASK_MIN=${min} and SLURM_ARRAY_TASK_COUNT=${count} is not a shard index (pass --shards N for sparse arrays)`);
    return { shard: { index, count }, source: `SLURM_ARRAY_TASK_ID=${taskId} - SLURM_ARRAY_TASK_MIN=${min} of SLURM_ARRAY_TASK_COUNT=${count}` };
  }
  const k8s = int('JOB_COMPLETION_INDEX');
  if (k8s !== undefined) {
    if (flagShards === undefined) throw new ArgumentError(`JOB_COMPLETION_INDEX=${k8s} is set (a Kubernetes Indexed Job): pass --shards N, the Job's completions`);
    if (k8s >= flagShards) throw new ArgumentError(`JOB_COMPLETION_INDEX=${k8s} is not a shard of --shards ${flagShards}`);
    return { shard: { index: k8s, count: flagShards }, source: `JOB_COMPLETION_INDEX=${k8s} of --shards ${flagShards}` };
  }
  if (flagShards !== undefined) throw new ArgumentError('--shards N needs --shard I/N, a SLURM array task or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX)');
  return null;
}
