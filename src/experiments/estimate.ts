/**
 * What a plan costs before it runs: each run's training steps times a step time measured on this
 * machine (one `gradreg cost`-style measurement per model, input, batch and regularizer, cached),
 * plus its final evaluation, summed per method and training size as core-hours (wall time times
 * the threads the step was measured with).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RunConfig } from './config.js';
import type { Plan } from './presets.js';
import { runCostUnits, stepsOf, testCount } from './shard.js';

/** One step's measurement context. */
export interface StepContext {
  host: string;
  device: string;
  threads: number;
}

/** What a run's step depends on: model, input shape, batch and the regularizer (modifiers kept). */
export interface StepKind {
  model: string;
  input: 'mnist' | 'cifar';
  batch: number;
  variant: string;
}

export function stepKindOf(c: RunConfig): StepKind | null {
  if (c.kind !== 'image') return null;
  return { model: c.model, input: c.dataset.startsWith('cifar') ? 'cifar' : 'mnist', batch: c.batch, variant: c.regularizer };
}

export function stepKey(ctx: StepContext, k: StepKind): string {
  return `${ctx.host}|${ctx.device}|${ctx.threads}t|${k.model}|${k.input}|b${k.batch}|${k.variant}`;
}

export function defaultCacheFile(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'gradreg', 'step-times.json');
}

export interface CachedStep {
  ms: number;
  measured: string;
  /** Cores other processes used on average while it was measured (from /proc/stat); absent if unknown. */
  otherCores?: number;
}

/** Machine busy seconds (all cores, from /proc/stat) and this process's CPU seconds, for the load during a measurement. */
export function loadSnapshot(): { wall: number; busy: number; own: number } {
  let busy = NaN;
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    busy = (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + (f[7] ?? 0)) / 100;
  } catch {
    // not Linux: unknown
  }
  const u = process.cpuUsage();
  return { wall: performance.now() / 1000, busy, own: (u.user + u.system) / 1e6 };
}

/** Cores used by other processes between two snapshots (NaN when unknown). */
export function otherCores(a: ReturnType<typeof loadSnapshot>, b: ReturnType<typeof loadSnapshot>): number {
  const wall = b.wall - a.wall;
  return wall > 0 ? Math.max(0, (b.busy - a.busy - (b.own - a.own)) / wall) : NaN;
}

export function readStepCache(file: string): Record<string, CachedStep> {
  try {
    const j = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, CachedStep>;
    return typeof j === 'object' && j !== null ? j : {};
  } catch {
    return {};
  }
}

export function writeStepCache(file: string, cache: Record<string, CachedStep>): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, `${JSON.stringify(cache, null, 1)}\n`);
  fs.renameSync(tmp, file);
}

/** The distinct step kinds of a plan, baseline of each (model, input, batch) included (evaluation is priced by it). */
export function stepKinds(plan: Plan): StepKind[] {
  const out = new Map<string, StepKind>();
  for (const c of plan.configs) {
    const k = stepKindOf(c);
    if (!k) continue;
    for (const v of ['baseline', k.variant]) {
      const kk = { ...k, variant: v };
      out.set(JSON.stringify(kk), kk);
    }
  }
  return [...out.values()];
}

/** Seconds of one run, from the step time of its kind and of a baseline step (for evaluation). */
export function runSeconds(c: RunConfig, stepMs: number, baselineMs: number): number {
  if (c.kind !== 'image') return 0;
  const evalMs = baselineMs * ((testCount(c.dataset, c.testPoints) / c.batch) * 0.35 + (testCount(c.dataset, c.robustPoints) / c.batch) * (1 + c.fgsmEps.length * 0.35));
  return (stepsOf(c) * stepMs + evalMs) / 1000;
}

export interface EstimateCell {
  method: string;
  size: string;
  runs: number;
  coreHours: number;
}

export interface Estimate {
  cells: EstimateCell[];
  methods: string[];
  sizes: string[];
  runs: number;
  coreHours: number;
  /** The longest single run, hours of wall time. */
  longestRunHours: number;
}

/**
 * Runs and core-hours per method and size. `stepMs(kind)` gives a measured step time; sin runs
 * (no step measurement) are priced by the static cost units at `unitMs` per unit.
 */
export function estimatePlan(plan: Plan, stepMs: (k: StepKind) => number, threads: number, unitMs: number): Estimate {
  const cells = new Map<string, EstimateCell>();
  const methods: string[] = [];
  const sizes: string[] = [];
  let longest = 0;
  for (const c of plan.configs) {
    const method = c.regularizer;
    const size = c.kind === 'image' ? String(c.perClass === 0 ? 'all' : c.perClass) : `${c.points} points`;
    if (!methods.includes(method)) methods.push(method);
    if (!sizes.includes(size)) sizes.push(size);
    const k = stepKindOf(c);
    const sec = k ? runSeconds(c, stepMs(k), stepMs({ ...k, variant: 'baseline' })) : (runCostUnits(c) * unitMs) / 1000;
    longest = Math.max(longest, sec / 3600);
    const id = `${method}\u0000${size}`;
    const cell = cells.get(id) ?? { method, size, runs: 0, coreHours: 0 };
    cell.runs++;
    cell.coreHours += (sec * threads) / 3600;
    cells.set(id, cell);
  }
  const all = [...cells.values()];
  return {
    cells: all,
    methods,
    sizes,
    runs: plan.configs.length,
    coreHours: all.reduce((a, x) => a + x.coreHours, 0),
    longestRunHours: longest,
  };
}

function fmtHours(h: number): string {
  if (h >= 100) return h.toFixed(0);
  if (h >= 10) return h.toFixed(1);
  if (h >= 0.1) return h.toFixed(2);
  return h.toPrecision(2);
}

/** Markdown: one row per method, one column per size, cells "runs / core-hours", with totals. */
export function estimateMarkdown(e: Estimate): string {
  const cell = (m: string, s: string): EstimateCell | undefined => e.cells.find((c) => c.method === m && c.size === s);
  const head = `| method | ${e.sizes.join(' | ')} | total |`;
  const sep = `| --- | ${e.sizes.map(() => '---:').join(' | ')} | ---: |`;
  const rows = e.methods.map((m) => {
    const cs = e.sizes.map((s) => cell(m, s));
    const runs = cs.reduce((a, c) => a + (c?.runs ?? 0), 0);
    const h = cs.reduce((a, c) => a + (c?.coreHours ?? 0), 0);
    return `| ${m} | ${cs.map((c) => (c ? `${c.runs} / ${fmtHours(c.coreHours)}` : '-')).join(' | ')} | ${runs} / ${fmtHours(h)} |`;
  });
  const tot = e.sizes.map((s) => {
    const cs = e.cells.filter((c) => c.size === s);
    return `${cs.reduce((a, c) => a + c.runs, 0)} / ${fmtHours(cs.reduce((a, c) => a + c.coreHours, 0))}`;
  });
  return [head, sep, ...rows, `| total | ${tot.join(' | ')} | ${e.runs} / ${fmtHours(e.coreHours)} |`].join('\n');
}

export { fmtHours };
