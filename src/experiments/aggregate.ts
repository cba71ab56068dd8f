/**
 * From run records to table cells: group the runs of each cell by lambda, average over seeds,
 * choose the lambda (by test or validation accuracy), and report the test accuracy there.
 * A lambda at which any seed diverged is not eligible. Only complete lambdas (every planned seed
 * finished) compete while any is complete, so a mean over fewer seeds cannot win by luck; a cell
 * with no complete lambda shows its best partial one, marked with its n.
 */
import type { ImageRunResult, RunConfig, RunResult, SinRunResult } from './config.js';
import type { Plan } from './presets.js';
import { mean, std } from './stats.js';
import type { StoredRecord } from './store.js';
import type { Cell, Table } from './table.js';

export type Rec = StoredRecord<RunConfig, RunResult>;

export interface LambdaStat {
  lambda: number;
  /** Completed seeds. */
  n: number;
  /** Seeds the plan has at this lambda. */
  planned: number;
  diverged: number;
  /** Percent. */
  testMean: number;
  testStd: number;
  valMean: number | null;
  gradNorm: number | null;
  fgsm: { eps: number; mean: number }[];
  accuracies: number[];
}

export interface CellSummary {
  row: string;
  col: string;
  sweep: LambdaStat[];
  chosen: LambdaStat | null;
  /** Whether the method has a lambda at all (baseline has not). */
  hasLambda: boolean;
}

function stat(lambda: number, runs: Rec[], planned: number): LambdaStat {
  const done = runs.filter((r) => r.result.status === 'completed') as StoredRecord<RunConfig, ImageRunResult>[];
  const acc = done.map((r) => r.result.testAccuracy! * 100);
  const vals = done.map((r) => r.result.valAccuracy).filter((v): v is number => v !== null);
  const norms = done.map((r) => r.result.gradNorm).filter((v): v is number => v !== null);
  const eps = done[0]?.result.fgsm.map((f) => f.eps) ?? [];
  return {
    lambda,
    n: done.length,
    planned,
    diverged: runs.length - done.length,
    testMean: mean(acc),
    testStd: std(acc),
    valMean: vals.length === done.length && vals.length > 0 ? mean(vals) * 100 : null,
    gradNorm: norms.length ? mean(norms) : null,
    fgsm: eps.map((e, i) => ({ eps: e, mean: mean(done.map((r) => r.result.fgsm[i]!.accuracy * 100)) })),
    accuracies: acc,
  };
}

/** Records of this plan only (its config keys), so a store shared with other runs does not leak in. */
export function recordsOfPlan(plan: Plan, records: readonly Rec[], keyOf: (c: RunConfig) => string): Rec[] {
  const keys = new Set(plan.configs.map(keyOf));
  return records.filter((r) => keys.has(r.key));
}

export function summarize(plan: Plan, records: readonly Rec[]): CellSummary[] {
  const out: CellSummary[] = [];
  for (const row of plan.rows) {
    for (const col of plan.cols) {
      const runs = records.filter((r) => plan.rowOf(r.config) === row && plan.colOf(r.config) === col);
      const planned = plan.configs.filter((c) => plan.rowOf(c) === row && plan.colOf(c) === col);
      if (planned.length === 0) continue;
      const lambdas = [...new Set(planned.map((c) => c.lambda))].sort((a, b) => a - b);
      const sweep = lambdas.map((l) => stat(l, runs.filter((r) => r.config.lambda === l), planned.filter((c) => c.lambda === l).length));
      const usable = sweep.filter((s) => s.n > 0 && s.diverged === 0);
      const complete = usable.filter((s) => s.n >= s.planned);
      const eligible = complete.length > 0 ? complete : usable;
      const score = (s: LambdaStat): number => (plan.select === 'validation' ? (s.valMean ?? -Infinity) : s.testMean);
      let chosen: LambdaStat | null = null;
      for (const s of eligible) if (!chosen || score(s) > score(chosen)) chosen = s;
      out.push({ row, col, sweep, chosen, hasLambda: planned.some((c) => c.regularizer.split('/')[0] !== 'baseline') });
    }
  }
  return out;
}

export function accuracyTable(plan: Plan, cells: readonly CellSummary[]): Table {
  const t: Table = {
    title: plan.title,
    rows: plan.rows,
    cols: plan.cols,
    corner: plan.corner,
    bestAlong: plan.bestAlong,
    notes: plan.notes,
    cells: cells.map((c): Cell => ({
      row: c.row,
      col: c.col,
      mean: c.chosen ? c.chosen.testMean : NaN,
      std: c.chosen ? c.chosen.testStd : NaN,
      n: c.chosen ? c.chosen.n : 0,
      planned: c.chosen ? c.chosen.planned : undefined,
      lambda: c.chosen && c.hasLambda ? c.chosen.lambda : null,
    })),
  };
  return { ...t, notes: [...plan.notes, seedsNote(t), ...baselineNotes(t)] };
}

/**
 * For tables with a baseline row and one column per training size: each method's mean minus the
 * baseline's, next to the baseline's std, so whether a penalty helps beyond seed noise is read off
 * directly (the thesis's finding: db and hsfob do, at small sizes).
 */
export function baselineNotes(t: Table): string[] {
  if (!t.rows.includes('baseline') || t.bestAlong !== 'column') return [];
  const out: string[] = [];
  for (const col of t.cols) {
    const base = t.cells.find((c) => c.row === 'baseline' && c.col === col);
    if (!base || base.n === 0 || !Number.isFinite(base.mean)) continue;
    const diffs = t.cells
      .filter((c) => c.col === col && c.row !== 'baseline' && c.n > 0 && Number.isFinite(c.mean))
      .map((c) => `${c.row} ${c.mean - base.mean >= 0 ? '+' : ''}${(c.mean - base.mean).toFixed(2)}`);
    if (diffs.length === 0) continue;
    const where = t.cols.length > 1 ? `${col}${t.corner ? ` ${t.corner}` : ''}: ` : '';
    out.push(`${where}difference to baseline (points; baseline std ${base.std.toFixed(2)}): ${diffs.join(', ')}.`);
  }
  return out;
}

/** A line under the table saying how many seeds each cell averages, and which cells are incomplete. */
export function seedsNote(t: Table): string {
  const shown = t.cells.filter((c) => c.n > 0);
  if (shown.length === 0) return 'n: no finished runs yet.';
  const incomplete = shown.filter((c) => c.planned !== undefined && c.n < c.planned);
  const ns = [...new Set(shown.map((c) => c.n))];
  if (incomplete.length === 0) return ns.length === 1 ? `n = ${ns[0]} seeds in every cell.` : `n = ${ns.join(' or ')} seeds per cell.`;
  return `Cells marked [n=a/b] are incomplete: a of the b planned seeds finished at the chosen lambda (no lambda of the cell has all its seeds yet).`;
}

/** The lambda chosen in each cell, as a table of its own (no bold). */
export function lambdaTable(plan: Plan, cells: readonly CellSummary[]): string {
  const lines = [`| ${plan.corner} | ${plan.cols.join(' | ')} |`, `|${[plan.corner, ...plan.cols].map(() => ' --- ').join('|')}|`];
  for (const r of plan.rows) {
    lines.push(`| ${r} | ${plan.cols.map((col) => {
      const c = cells.find((x) => x.row === r && x.col === col);
      if (!c || !c.chosen) return '-';
      return c.hasLambda ? String(c.chosen.lambda) : 'n/a';
    }).join(' | ')} |`);
  }
  return `${lines.join('\n')}\n`;
}

/** Robustness at the chosen lambda: mean ||grad_x CE|| (lower is smoother) and FGSM accuracy per eps. */
export function robustnessTables(plan: Plan, cells: readonly CellSummary[], records: readonly Rec[]): Table[] {
  const at = (c: CellSummary): StoredRecord<RunConfig, ImageRunResult>[] =>
    records.filter((r) => plan.rowOf(r.config) === c.row && plan.colOf(r.config) === c.col && c.chosen && r.config.lambda === c.chosen.lambda && r.result.status === 'completed') as StoredRecord<RunConfig, ImageRunResult>[];
  const eps = cells.find((c) => c.chosen && c.chosen.fgsm.length)?.chosen!.fgsm.map((f) => f.eps) ?? [];
  const tables: Table[] = [];
  tables.push({
    title: 'Mean input-gradient norm ||d CE / d x|| at test points (pixel/255 units), at the chosen lambda',
    rows: plan.rows, cols: plan.cols, corner: plan.corner, bestAlong: 'none', notes: [], format: 'general',
    cells: cells.map((c) => {
      const v = at(c).map((r) => r.result.gradNorm).filter((x): x is number => x !== null);
      return { row: c.row, col: c.col, mean: mean(v), std: std(v), n: v.length, lambda: c.chosen?.lambda ?? null };
    }),
  });
  eps.forEach((e, i) => {
    tables.push({
      title: `FGSM accuracy (%) at eps = ${Number(e.toPrecision(3))} (fraction of the pixel range), at the chosen lambda`,
      rows: plan.rows, cols: plan.cols, corner: plan.corner, bestAlong: plan.bestAlong, notes: [],
      cells: cells.map((c) => {
        const v = at(c).map((r) => r.result.fgsm[i]!.accuracy * 100);
        return { row: c.row, col: c.col, mean: mean(v), std: std(v), n: v.length, lambda: c.chosen?.lambda ?? null };
      }),
    });
  });
  return tables;
}

/** The sin preset: mean |g'| on the grid per (method, lambda), no selection. */
export function sinTables(plan: Plan, records: readonly Rec[]): Table[] {
  const mk = (title: string, field: 'slopeGrid' | 'slopeTrain' | 'testMse', notes: string[]): Table => ({
    title, rows: plan.rows, cols: plan.cols, corner: plan.corner, bestAlong: 'none', notes, format: 'general',
    cells: plan.rows.flatMap((row) => plan.cols.map((col) => {
      const v = records
        .filter((r) => plan.rowOf(r.config) === row && plan.colOf(r.config) === col && r.result.status === 'completed')
        .map((r) => (r.result as SinRunResult)[field]!);
      return { row, col, mean: mean(v), std: std(v), n: v.length, lambda: Number(col) };
    })),
  });
  return [
    mk(plan.title, 'slopeGrid', plan.notes),
    mk("Mean |g'(x)| at the 100 training points", 'slopeTrain', []),
    mk('Test MSE against sin(5x) on [-1, 1]', 'testMse', []),
  ];
}
