/**
 * What one training step costs under each regularizer: wall time (median over repetitions, each
 * step synchronized by reading back the updated parameters) and peak memory on the current
 * backend, with their ratios to a baseline step.
 *
 * Peak memory: backends expose only the live-byte count, so every backend method is wrapped for
 * the duration of the measurement and liveBytes() is sampled after each call; the high-water mark
 * is exact at kernel granularity. Reported are the peak during the step and the part of it above
 * what was resident before the step (parameters, optimizer state, the batch): the graph, the
 * gradients and the penalty's own backward passes.
 */
import * as g from '../api.js';
import type { Backend, Tensor } from '../api.js';
import { engine } from '../engine.js';
import { createOptimizer } from '../optim/index.js';
import { setRandomStep } from '../nn/index.js';
import { JACOBIAN_PENALTIES, makeObjective, parseRegularizer, type RegularizerName } from '../regularizers/index.js';
import { buildModel } from './models.js';

/** Every regularizer, and each exact Jacobian penalty in its three forms. */
export function defaultVariants(): string[] {
  const out = ['baseline', 'ni', 'cp', 'db', 'spectreg', 'spectreg/sph'];
  for (const name of JACOBIAN_PENALTIES as RegularizerName[]) {
    out.push(`${name}/loop`, `${name}/batched`, `${name}/k=${name === 'hsfob-db2' ? 2 : 1}`);
  }
  return out;
}

export interface CostOptions {
  model: string;
  batch: number;
  /** Timed steps per variant (after one warm-up step). */
  reps: number;
  variants: readonly string[];
  inputShape: readonly [number, number, number];
  classes: number;
  log?: (line: string) => void;
}

export interface CostRow {
  variant: string;
  /** Median step time in milliseconds. */
  ms: number;
  /** Every timed step, ms. */
  samples: number[];
  /** Highest live bytes during a step, and that minus the bytes live before it. */
  peakBytes: number;
  stepBytes: number;
  timeRatio: number | null;
  memRatio: number | null;
  error?: string;
}

/** High-water mark of backend.liveBytes() while `fn` runs, sampled after every backend call. */
export class PeakTracker {
  private peak = 0;
  private restore: (() => void)[] = [];
  constructor(private readonly backend: Backend) {}

  start(): void {
    this.peak = this.backend.liveBytes();
    const b = this.backend as unknown as Record<string, unknown>;
    const names = new Set<string>();
    for (let o: object | null = this.backend; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
      for (const n of Object.getOwnPropertyNames(o)) names.add(n);
    }
    for (const n of names) {
      if (n === 'constructor' || n === 'liveBytes' || typeof b[n] !== 'function') continue;
      const own = Object.prototype.hasOwnProperty.call(b, n);
      const orig = b[n] as (...a: unknown[]) => unknown;
      b[n] = (...a: unknown[]): unknown => {
        const r = orig.apply(this.backend, a);
        const now = this.backend.liveBytes();
        if (now > this.peak) this.peak = now;
        return r;
      };
      this.restore.push(() => {
        if (own) b[n] = orig;
        else delete b[n];
      });
    }
  }

  /** Start a new high-water mark from the current level. */
  reset(): void {
    this.peak = this.backend.liveBytes();
  }

  get value(): number {
    return Math.max(this.peak, this.backend.liveBytes());
  }

  stop(): void {
    for (const r of this.restore.splice(0)) r();
  }
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function measureOne(variant: string, o: CostOptions, backend: Backend, x: Tensor, y: Tensor): Promise<Omit<CostRow, 'timeRatio' | 'memRatio'>> {
  const model = buildModel(o.model, { inputShape: o.inputShape, classes: o.classes, seed: 0 });
  const opt = createOptimizer('adam', model.namedParameters(), { lr: 1e-3 });
  const params = model.parameters();
  const objective = makeObjective(parseRegularizer(variant, 0.01), { classes: o.classes, seed: 0 });
  const tracker = new PeakTracker(backend);
  const samples: number[] = [];
  let peakBytes = 0;
  let stepBytes = 0;
  try {
    for (let step = 0; step <= o.reps; step++) {
      setRandomStep(model, step);
      const before = backend.liveBytes();
      if (step === 1) tracker.start();
      tracker.reset();
      const t0 = performance.now();
      const { grads, loss } = g.tidy(() => {
        const r = objective({ model, x, y, step, training: true });
        return { grads: g.grad(r.loss, params), loss: r.loss };
      });
      opt.step(grads);
      for (const t of grads) t.dispose();
      const v = await loss.data();
      await params[params.length - 1]!.data();
      const ms = performance.now() - t0;
      loss.dispose();
      if (!Number.isFinite(v[0]!)) throw new Error(`the loss is ${v[0]}`);
      if (step === 0) continue; // warm-up: caches, pipelines, pools
      samples.push(ms);
      peakBytes = Math.max(peakBytes, tracker.value);
      stepBytes = Math.max(stepBytes, tracker.value - before);
    }
  } finally {
    tracker.stop();
    opt.dispose();
    model.dispose();
  }
  return { variant, ms: median(samples), samples, peakBytes, stepBytes };
}

export async function measureCost(o: CostOptions): Promise<CostRow[]> {
  const device = g.getBackend();
  const backend = engine.backend(device, 'cost');
  const x = g.keep(g.randn([o.batch, ...o.inputShape], { seed: 1 }));
  const labels = Int32Array.from({ length: o.batch }, (_, i) => (i * 7 + 3) % o.classes);
  const y = g.keep(g.tensor(labels, [o.batch], { dtype: 'int32' }));
  const rows: CostRow[] = [];
  try {
    const variants = o.variants.includes('baseline') ? o.variants : ['baseline', ...o.variants];
    for (const v of variants) {
      o.log?.(`cost: ${o.model} batch ${o.batch} on ${device}: ${v} ...`);
      try {
        const r = await measureOne(v, o, backend, x, y);
        rows.push({ ...r, timeRatio: null, memRatio: null });
        o.log?.(`cost: ${v}: ${r.ms.toFixed(1)} ms, peak ${(r.peakBytes / 2 ** 20).toFixed(1)} MiB`);
      } catch (e) {
        const msg = e instanceof Error ? e.message.split('\n')[0]! : String(e);
        rows.push({ variant: v, ms: NaN, samples: [], peakBytes: NaN, stepBytes: NaN, timeRatio: null, memRatio: null, error: msg });
        o.log?.(`cost: ${v}: failed: ${msg}`);
      }
    }
  } finally {
    x.dispose();
    y.dispose();
  }
  const base = rows.find((r) => r.variant === 'baseline');
  for (const r of rows) {
    if (base && Number.isFinite(base.ms) && Number.isFinite(r.ms)) r.timeRatio = r.ms / base.ms;
    if (base && base.stepBytes > 0 && Number.isFinite(r.stepBytes)) r.memRatio = r.stepBytes / base.stepBytes;
  }
  return rows;
}

const mib = (b: number): string => (Number.isFinite(b) ? (b / 2 ** 20).toFixed(1) : '-');

export function costMarkdown(rows: readonly CostRow[], title: string, notes: string[]): string {
  const lines = [
    `**${title}**`,
    '',
    '| regularizer | step (ms) | x baseline | peak live (MiB) | step memory (MiB) | x baseline |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    if (r.error) {
      lines.push(`| ${r.variant} | failed: ${r.error.replace(/\|/g, '/')} | | | | |`);
      continue;
    }
    lines.push(`| ${r.variant} | ${r.ms.toFixed(1)} | ${r.timeRatio?.toFixed(2) ?? '-'} | ${mib(r.peakBytes)} | ${mib(r.stepBytes)} | ${r.memRatio?.toFixed(2) ?? '-'} |`);
  }
  return `${[...lines, '', ...notes].join('\n')}\n`;
}

export function costCsv(rows: readonly CostRow[]): string {
  const head = 'variant,ms_median,ms_samples,time_ratio,peak_bytes,step_bytes,mem_ratio,error';
  return `${[head, ...rows.map((r) => [r.variant, r.ms, r.samples.map((s) => s.toFixed(2)).join(' '), r.timeRatio ?? '', r.peakBytes, r.stepBytes, r.memRatio ?? '', r.error ? `"${r.error.replace(/"/g, '""')}"` : ''].join(','))].join('\n')}\n`;
}
