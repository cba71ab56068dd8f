/**
 * How close each stochastic estimator's penalty gradient is to the exact one. For an estimator
 * (jac, fob, hsfob with k random projections, and the spherical spectreg) and the same model, batch
 * and weights, the gradient of its penalty with respect to the weights, flattened over all
 * parameters, is compared with the gradient of the exact penalty it estimates (C vjps): cosine
 * similarity and relative error ||g_est - g_exact|| / ||g_exact||, over `draws` independent draws
 * (the draw key's step), reported as mean and sample standard deviation.
 *
 * spectreg with Gaussian projections draws exactly as fob/k does (the same Philox stream and
 * shape), so it is the fob/k row; spectreg/sph (projections on the unit sphere) estimates
 * ||J_g||_F^2 / C and is compared with the exact fob penalty divided by C.
 */
import * as g from '../api.js';
import type { Tensor } from '../api.js';
import * as R from '../regularizers/index.js';
import { buildModel } from './models.js';
import type { PlotSpec, Series } from './plot.js';

export const ESTIMATOR_FAMILIES = ['jac', 'fob', 'hsfob', 'spectreg/sph'] as const;
export type EstimatorFamily = (typeof ESTIMATOR_FAMILIES)[number];

export interface AccuracyOptions {
  model: string;
  inputShape: readonly [number, number, number];
  classes: number;
  x: Tensor;
  families: readonly EstimatorFamily[];
  ks: readonly number[];
  draws: number;
  seed?: number;
  log?: (line: string) => void;
}

export interface AccuracyRow {
  family: EstimatorFamily;
  k: number;
  /** The regularizer name `gradreg cost` times for this estimator (e.g. jac/k=4). */
  variant: string;
  cosMean: number;
  cosSd: number;
  relErrMean: number;
  relErrSd: number;
  draws: number;
}

/** The regularizer spelling of an estimator (what `--only` and the step timing take). */
export function estimatorVariant(family: EstimatorFamily, k: number): string {
  return family === 'spectreg/sph' ? `spectreg/k=${k}/sph` : `${family}/k=${k}`;
}

function meanSd(v: number[]): [number, number] {
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  const sd = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1)) : 0;
  return [m, sd];
}

/** The flattened gradient of `penalty()` w.r.t. `params`, on the host in float64. */
async function flatGrad(params: readonly Tensor[], penalty: () => Tensor): Promise<Float64Array> {
  // a penalty on input gradients need not depend on every weight (a bias before a ReLU): zeros there
  const grads = g.tidy(() => g.grad(penalty(), [...params], { allowUnused: true }));
  const parts = await Promise.all(grads.map((t) => t.data()));
  for (const t of grads) t.dispose();
  const out = new Float64Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p as ArrayLike<number>, o);
    o += p.length;
  }
  return out;
}

function compare(est: Float64Array, exact: Float64Array): { cos: number; rel: number } {
  let dot = 0;
  let ne = 0;
  let nx = 0;
  let nd = 0;
  for (let i = 0; i < est.length; i++) {
    dot += est[i]! * exact[i]!;
    ne += est[i]! ** 2;
    nx += exact[i]! ** 2;
    nd += (est[i]! - exact[i]!) ** 2;
  }
  return { cos: dot / Math.sqrt(ne * nx), rel: Math.sqrt(nd / nx) };
}

export async function measureAccuracy(o: AccuracyOptions): Promise<AccuracyRow[]> {
  const seed = o.seed ?? 0;
  const model = buildModel(o.model, { inputShape: o.inputShape, classes: o.classes, seed });
  const params = model.parameters();
  const f = (x: Tensor): Tensor => model.forward(x);
  const C = o.classes;
  const rows: AccuracyRow[] = [];
  try {
    const exactOf = new Map<string, Float64Array>();
    const exact = async (name: 'jac' | 'fob' | 'hsfob'): Promise<Float64Array> => {
      let v = exactOf.get(name);
      if (!v) {
        o.log?.(`accuracy: ${o.model}: exact ${name} gradient ...`);
        const pen = name === 'jac' ? R.jacReg : name === 'fob' ? R.frobReg : R.hsfob;
        v = await flatGrad(params, () => pen(f, o.x, { classes: C }).penalty);
        exactOf.set(name, v);
      }
      return v;
    };
    for (const family of o.families) {
      const base = family === 'spectreg/sph' ? 'fob' : family;
      let ref = await exact(base);
      if (family === 'spectreg/sph') ref = ref.map((v) => v / C);
      for (const k of o.ks) {
        const cos: number[] = [];
        const rel: number[] = [];
        for (let d = 0; d < o.draws; d++) {
          const draw = { seed: seed + 1, step: d };
          const est = await flatGrad(params, () => {
            if (family === 'spectreg/sph') return R.spectReg(f, o.x, { projections: k, spherical: true, draw }).penalty;
            const pen = family === 'jac' ? R.jacReg : family === 'fob' ? R.frobReg : R.hsfob;
            return pen(f, o.x, { classes: C, projections: k, draw }).penalty;
          });
          const c = compare(est, ref);
          cos.push(c.cos);
          rel.push(c.rel);
        }
        const [cosMean, cosSd] = meanSd(cos);
        const [relErrMean, relErrSd] = meanSd(rel);
        rows.push({ family, k, variant: estimatorVariant(family, k), cosMean, cosSd, relErrMean, relErrSd, draws: o.draws });
        o.log?.(`accuracy: ${estimatorVariant(family, k)}: cosine ${cosMean.toFixed(3)} +- ${cosSd.toFixed(3)}, relative error ${relErrMean.toFixed(3)} +- ${relErrSd.toFixed(3)}`);
      }
    }
  } finally {
    model.dispose();
  }
  return rows;
}

/** Timing of a variant, from the cost rows: median step ms and its ratio to the baseline. */
export interface VariantTime {
  ms: number;
  timeRatio: number | null;
}

const f3 = (v: number): string => (Number.isFinite(v) ? v.toFixed(3) : '-');

/**
 * One table: each estimator's step time next to its gradient accuracy, the exact penalties first
 * (relative error 0 by definition) for the time they cost.
 */
export function accuracyMarkdown(
  rows: readonly AccuracyRow[],
  times: ReadonlyMap<string, VariantTime>,
  exactVariant: (family: 'jac' | 'fob' | 'hsfob') => string,
  title: string,
  notes: string[],
  timeLabel = 'step (ms)',
): string {
  const t = (v: string): string => {
    const r = times.get(v);
    return r && Number.isFinite(r.ms) ? `${r.ms.toFixed(1)} | ${r.timeRatio?.toFixed(2) ?? '-'}` : '- | -';
  };
  const lines = [
    `**${title}**`,
    '',
    `| estimator | projections k | ${timeLabel} | x baseline | cosine to exact gradient | relative error of gradient |`,
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const fam of ['jac', 'fob', 'hsfob'] as const) {
    if (rows.some((r) => r.family === fam || (fam === 'fob' && r.family === 'spectreg/sph'))) lines.push(`| ${exactVariant(fam)} (exact) | C | ${t(exactVariant(fam))} | 1 | 0 |`);
  }
  for (const r of rows) {
    const name = r.family === 'fob' ? 'fob = spectreg' : r.family;
    lines.push(`| ${name} | ${r.k} | ${t(r.variant)} | ${f3(r.cosMean)} +- ${f3(r.cosSd)} | ${f3(r.relErrMean)} +- ${f3(r.relErrSd)} |`);
  }
  return `${[...lines, '', ...notes].join('\n')}\n`;
}

export function accuracyCsv(rows: readonly AccuracyRow[], times: ReadonlyMap<string, VariantTime>): string {
  const head = 'estimator,k,variant,step_ms,time_ratio,cos_mean,cos_sd,rel_err_mean,rel_err_sd,draws';
  const body = rows.map((r) => {
    const t = times.get(r.variant);
    return [r.family, r.k, r.variant, t?.ms ?? '', t?.timeRatio ?? '', r.cosMean, r.cosSd, r.relErrMean, r.relErrSd, r.draws].join(',');
  });
  return `${[head, ...body].join('\n')}\n`;
}

/** The plot: relative error of the gradient (mean +- sd over draws) against step time, one line per estimator over k. */
export function accuracyPlot(rows: readonly AccuracyRow[], times: ReadonlyMap<string, VariantTime>, title: string, timeLabel = 'step time (ms)'): PlotSpec {
  const series: Series[] = [];
  for (const fam of ESTIMATOR_FAMILIES) {
    const pts = rows
      .filter((r) => r.family === fam && Number.isFinite(times.get(r.variant)?.ms ?? NaN))
      .map((r) => ({ x: times.get(r.variant)!.ms, y: r.relErrMean, err: r.relErrSd }));
    if (pts.length) series.push({ name: fam === 'fob' ? 'fob = spectreg' : fam, points: pts });
  }
  const exact = rows.length ? (['jac', 'fob', 'hsfob'] as const).map((f) => times.get(`exact:${f}`)).filter((t): t is VariantTime => !!t && Number.isFinite(t.ms)) : [];
  if (exact.length) series.push({ name: 'exact', points: exact.map((t) => ({ x: t.ms, y: 0 })), line: false });
  const ks = [...new Set(rows.map((r) => r.k))].join(', ');
  return { title: `${title} (k = ${ks})`, xLabel: timeLabel, yLabel: 'relative error of the penalty gradient', xLog: true, series };
}
