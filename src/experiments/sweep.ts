/**
 * Running a plan: every configuration not yet in the store is run and appended when it finishes.
 * Killing the process (even with kill -9) loses at most the run in flight; running the same plan
 * again skips what is stored, so the finished set grows until the plan is complete.
 */
import type { RunConfig, RunResult } from './config.js';
import { configKey } from './hash.js';
import type { Plan } from './presets.js';
import { runConfig, type RunContext } from './run.js';
import { ResultStore, readStore } from './store.js';
import type { Rec } from './aggregate.js';

export type Runner = (cfg: RunConfig, ctx: RunContext) => Promise<RunResult>;

export interface SweepOptions {
  storeFile: string;
  runner?: Runner;
  dataDir?: string;
  /** Progress lines (stderr in the CLI). */
  log?: (line: string) => void;
  /** Stop after this many new runs. */
  maxRuns?: number;
  /** Polled between runs. */
  shouldStop?: () => boolean;
}

export interface SweepOutcome {
  total: number;
  /** Runs found in the store. */
  skipped: number;
  /** Runs completed by this call. */
  ran: number;
  /** Every stored record of the plan. */
  records: Rec[];
}

export function describeConfig(c: RunConfig): string {
  if (c.kind === 'sin') return `sin ${c.regularizer} lambda=${c.lambda} seed=${c.seed}`;
  return `${c.dataset}/${c.model} ${c.regularizer}${c.regularizer === 'baseline' ? '' : ` lambda=${c.lambda}`} n=${c.perClass}/class seed=${c.seed}`;
}

function fmtDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 90) return `${Math.round(s)}s`;
  if (s < 5400) return `${Math.round(s / 60)}m`;
  return `${(s / 3600).toFixed(1)}h`;
}

export function planRecords(plan: Plan, storeFile: string): Rec[] {
  const keys = new Set(plan.configs.map(configKey));
  return readStore<RunConfig, RunResult>(storeFile).records.filter((r) => keys.has(r.key));
}

export async function runSweep(plan: Plan, o: SweepOptions): Promise<SweepOutcome> {
  const log = o.log ?? (() => {});
  const runner = o.runner ?? runConfig;
  const store = ResultStore.open<RunConfig, RunResult>(o.storeFile);
  let ran = 0;
  let skipped = 0;
  try {
    const todo = plan.configs.filter((c) => !store.has(configKey(c)));
    skipped = plan.configs.length - todo.length;
    log(`${plan.preset}: ${plan.configs.length} runs, ${skipped} already in ${o.storeFile}, ${todo.length} to go`);
    const t0 = performance.now();
    for (const [i, cfg] of todo.entries()) {
      if (o.shouldStop?.() || (o.maxRuns !== undefined && ran >= o.maxRuns)) break;
      const key = configKey(cfg);
      const tag = `[${skipped + i + 1}/${plan.configs.length}] ${describeConfig(cfg)}`;
      let last = 0;
      const res = await runner(cfg, {
        dataDir: o.dataDir,
        onProgress: (p) => {
          const now = performance.now();
          if (now - last < 5000 && p.step < p.totalSteps) return;
          last = now;
          log(`${tag}: ${p.epoch !== undefined ? `epoch ${p.epoch}/${p.epochs} ` : ''}step ${p.step}/${p.totalSteps} loss ${p.loss.toPrecision(4)}`);
        },
        onEvaluate: (what, done, total) => {
          const now = performance.now();
          if (now - last < 5000) return;
          last = now;
          log(`${tag}: ${what === 'test' ? 'test set' : 'input gradients and FGSM'} ${done}/${total} images`);
        },
      });
      store.append(key, cfg, res);
      ran++;
      const perRun = (performance.now() - t0) / 1000 / ran;
      const left = todo.length - (i + 1);
      const score = 'testAccuracy' in res ? (res.testAccuracy === null ? res.status : `test acc ${(res.testAccuracy * 100).toFixed(2)}%`) : res.testMse === null ? res.status : `test mse ${res.testMse.toPrecision(3)}`;
      log(`${tag}: done in ${fmtDuration(res.wallSeconds)}, ${score}${res.status === 'diverged' && res.message ? ` (${res.message})` : ''}; ${left} left, about ${fmtDuration(perRun * left)}`);
    }
  } finally {
    store.close();
  }
  return { total: plan.configs.length, skipped, ran, records: planRecords(plan, o.storeFile) };
}
