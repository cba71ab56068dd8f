/**
 * Running a plan: every configuration not yet in the store is run and appended when it finishes.
 * Killing the process (even with kill -9) loses at most the run in flight; running the same plan
 * again skips what is stored, so the finished set grows until the plan is complete.
 *
 * "The store" is every store file of the results directory (see store.ts): an unsharded sweep
 * appends to results.jsonl, shard I of N to results-shard-I-of-N.jsonl, and both skip every run
 * found in any file of the directory, so a rerun, a requeued shard or a sweep with another shard
 * count runs only what is missing.
 */
import type { RunConfig, RunResult } from './config.js';
import { configKey } from './hash.js';
import type { Plan } from './presets.js';
import { runConfig, type RunContext } from './run.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { shardIndices, type ShardSpec } from './shard.js';
import { ResultStore, readStore, shardStoreFile, storeFiles, warnDamage, type StoredRecord } from './store.js';
import type { Rec } from './aggregate.js';

export type Runner = (cfg: RunConfig, ctx: RunContext) => Promise<RunResult>;

export interface SweepOptions {
  /** The unsharded store file; its directory is the results directory. */
  storeFile: string;
  /** Run only this shard of the plan, appending to its own file of the results directory. */
  shard?: ShardSpec;
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

/** Every record of the store files of `storeFile`'s directory (and of storeFile itself), first record of a key kept. */
export function readUnion(storeFile: string, log?: (line: string) => void): { records: Rec[]; duplicates: number; files: string[] } {
  const files = [...new Set([...(fs.existsSync(storeFile) ? [path.resolve(storeFile)] : []), ...storeFiles(path.dirname(storeFile)).map((f) => path.resolve(f))])];
  const seen = new Set<string>();
  const records: Rec[] = [];
  let duplicates = 0;
  for (const f of files) {
    const r = readStore<RunConfig, RunResult>(f);
    if (log) warnDamage(f, r.skipped, r.partialTail, log);
    duplicates += r.duplicates.length;
    for (const rec of r.records as StoredRecord<RunConfig, RunResult>[]) {
      if (seen.has(rec.key)) {
        duplicates++;
        continue;
      }
      seen.add(rec.key);
      records.push(rec);
    }
  }
  return { records, duplicates, files };
}

/**
 * The stored records of the plan's runs, in plan order (so the report does not depend on which
 * machine finished first), from every store file of the results directory.
 */
export function planRecords(plan: Plan, storeFile: string, log: ((line: string) => void) | null = (s) => void process.stderr.write(`${s}\n`)): Rec[] {
  const byKey = new Map(readUnion(storeFile, log ?? undefined).records.map((r) => [r.key, r]));
  const out: Rec[] = [];
  for (const c of plan.configs) {
    const r = byKey.get(configKey(c));
    if (r) {
      out.push(r);
      byKey.delete(r.key);
    }
  }
  return out;
}

export async function runSweep(plan: Plan, o: SweepOptions): Promise<SweepOutcome> {
  const log = o.log ?? (() => {});
  const runner = o.runner ?? runConfig;
  const writer = o.shard ? shardStoreFile(path.dirname(o.storeFile), o.shard.index, o.shard.count) : o.storeFile;
  const store = ResultStore.open<RunConfig, RunResult>(writer, { log });
  let ran = 0;
  let skipped = 0;
  try {
    const done = new Set(readUnion(o.storeFile, log).records.map((r) => r.key));
    const mine = o.shard ? shardIndices(plan.configs, o.shard).map((i) => plan.configs[i]!) : plan.configs;
    const todo = mine.filter((c) => !store.has(configKey(c)) && !done.has(configKey(c)));
    skipped = mine.length - todo.length;
    const scope = o.shard ? `shard ${o.shard.index}/${o.shard.count}: ${mine.length} of the plan's ${plan.configs.length} runs` : `${plan.configs.length} runs`;
    log(`${plan.preset}: ${scope}, ${skipped} already in ${o.shard ? path.dirname(o.storeFile) : o.storeFile}, ${todo.length} to go`);
    const t0 = performance.now();
    for (const [i, cfg] of todo.entries()) {
      if (o.shouldStop?.() || (o.maxRuns !== undefined && ran >= o.maxRuns)) break;
      const key = configKey(cfg);
      const tag = `[${o.shard ? `shard ${o.shard.index}/${o.shard.count} ` : ''}${skipped + i + 1}/${mine.length}] ${describeConfig(cfg)}`;
      store.heartbeat(describeConfig(cfg));
      let last = 0;
      let beat = performance.now();
      const res = await runner(cfg, {
        dataDir: o.dataDir,
        onProgress: (p) => {
          const now = performance.now();
          if (now - beat > 30_000) {
            beat = now;
            store.heartbeat(`${describeConfig(cfg)} step ${p.step}/${p.totalSteps}`);
          }
          if (now - last < 5000 && p.step < p.totalSteps) return;
          last = now;
          log(`${tag}: ${p.epoch !== undefined ? `epoch ${p.epoch}/${p.epochs} ` : ''}step ${p.step}/${p.totalSteps} loss ${p.loss.toPrecision(4)}`);
        },
        onEvaluate: (what, done, total) => {
          const now = performance.now();
          if (now - beat > 30_000) {
            beat = now;
            store.heartbeat(`${describeConfig(cfg)} evaluating`);
          }
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
  return { total: o.shard ? shardIndices(plan.configs, o.shard).length : plan.configs.length, skipped, ran, records: planRecords(plan, o.storeFile, null) };
}
