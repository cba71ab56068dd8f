/** Writing a plan's results: Markdown and CSV tables, a per-run CSV, and the plots as SVG and PNG. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ImageRunResult, SinRunResult } from './config.js';
import { accuracyTable, lambdaTable, robustnessTables, sinTables, summarize, type CellSummary, type Rec } from './aggregate.js';
import { linePlot, type Series } from './plot.js';
import { fontStatus, svgToPng } from './png.js';
import type { Plan } from './presets.js';
import type { Scene } from './scene.js';
import { toSvg } from './scene.js';
import { toCsv, toMarkdown, toText, type Table } from './table.js';

export interface ReportFiles {
  markdown: string;
  /** The main table as terminal text. */
  text: string;
  written: string[];
}

function writeAtomic(file: string, data: string | Buffer): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

let warnedNoFont = false;

/** Write the plot as SVG and, when a font can set its text, as the same picture in PNG (resvg). */
function savePlot(dir: string, name: string, scene: Scene, written: string[]): void {
  fs.mkdirSync(dir, { recursive: true });
  const svg = path.join(dir, `${name}.svg`);
  const text = toSvg(scene);
  writeAtomic(svg, text);
  written.push(svg);
  if (!fontStatus().ok) return;
  const png = path.join(dir, `${name}.png`);
  writeAtomic(png, svgToPng(text));
  written.push(png);
}

function runsCsv(records: readonly Rec[]): string {
  const head = ['key', 'kind', 'dataset', 'model', 'perClass', 'regularizer', 'lambda', 'seed', 'epochs', 'status', 'testAccuracy', 'valAccuracy', 'gradNorm', 'fgsm', 'testMse', 'slopeGrid', 'wallSeconds', 'backend'];
  const rows = records.map((r) => {
    const c = r.config;
    const res = r.result;
    const img = c.kind === 'image' ? (res as ImageRunResult) : null;
    const sin = c.kind === 'sin' ? (res as SinRunResult) : null;
    return [
      r.key, c.kind, c.kind === 'image' ? c.dataset : 'sin', c.kind === 'image' ? c.model : `mlp-${c.hidden.join('x')}`,
      c.kind === 'image' ? c.perClass : c.points, c.regularizer, c.lambda, c.seed, c.kind === 'image' ? c.epochs : c.steps, res.status,
      img?.testAccuracy ?? '', img?.valAccuracy ?? '', img?.gradNorm ?? '', img ? img.fgsm.map((f) => `${f.eps}:${f.accuracy}`).join(' ') : '',
      sin?.testMse ?? '', sin?.slopeGrid ?? '', res.wallSeconds.toFixed(2), res.backend,
    ].map((v) => (/[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v))).join(',');
  });
  return `${[head.join(','), ...rows].join('\n')}\n`;
}

function sizePlot(plan: Plan, records: readonly Rec[], cells: readonly CellSummary[]): Scene | null {
  if (!plan.sizeOf) return null;
  const bySeries = new Map<string, Series>();
  for (const c of cells) {
    if (!c.chosen) continue;
    const rec = records.find((r) => plan.rowOf(r.config) === c.row && plan.colOf(r.config) === c.col);
    if (!rec) continue;
    const name = plan.seriesOf(rec.config);
    const s = bySeries.get(name) ?? { name, points: [], dashed: name.startsWith('hsfob') };
    s.points.push({ x: plan.sizeOf(rec.config), y: c.chosen.testMean, err: c.chosen.testStd });
    bySeries.set(name, s);
  }
  const xs = [...new Set(plan.configs.map((c) => plan.sizeOf!(c)))].sort((a, b) => a - b);
  if (xs.length < 2) return null;
  return linePlot({
    title: `${plan.preset}: test accuracy vs training size`,
    xLabel: plan.sizeLabel, yLabel: 'test accuracy (%)', xLog: true, xTicks: xs, series: [...bySeries.values()],
  });
}

/**
 * The chosen cells side by side, one point (mean, std bar) per method at its own x: the plot for a
 * plan with one training size and too few lambdas for a curve, where accuracy-vs-size and
 * accuracy-vs-lambda would be vertical stacks of points.
 */
function methodPlot(plan: Plan, cells: readonly CellSummary[]): [string, Scene][] {
  const out: [string, Scene][] = [];
  for (const panel of [...new Set(plan.configs.map(plan.panelOf))]) {
    const inPanel = cells.filter((c) => c.chosen && plan.configs.some((cfg) => plan.panelOf(cfg) === panel && plan.rowOf(cfg) === c.row && plan.colOf(cfg) === c.col));
    if (inPanel.length === 0) continue;
    const names = inPanel.map((c) => plan.seriesOf(plan.configs.find((x) => plan.rowOf(x) === c.row && plan.colOf(x) === c.col)!));
    const series: Series[] = inPanel.map((c, i) => ({
      name: `${names[i]}${c.hasLambda ? ` (lambda ${c.chosen!.lambda})` : ''}`,
      line: false,
      points: [{ x: i + 1, y: c.chosen!.testMean, err: c.chosen!.testStd }],
    }));
    out.push([`accuracy-by-method-${slug(panel)}`, linePlot({
      title: `${plan.preset}, ${panel}: test accuracy by method (mean, std bar)`, xLabel: 'method', yLabel: 'test accuracy (%)',
      xTicks: inPanel.map((_, i) => i + 1), xTickLabels: names, series,
    })]);
  }
  return out;
}

/** One panel per size (or variant): mean test accuracy against lambda, one series per method. */
function sweepPlots(plan: Plan, cells: readonly CellSummary[]): [string, Scene][] {
  const panels = [...new Set(plan.configs.map(plan.panelOf))];
  const out: [string, Scene][] = [];
  for (const panel of panels) {
    const inPanel = cells.filter((c) => plan.configs.some((cfg) => plan.panelOf(cfg) === panel && plan.rowOf(cfg) === c.row && plan.colOf(cfg) === c.col));
    const lambdas = inPanel.flatMap((c) => c.sweep.map((s) => s.lambda)).filter((l) => l > 0);
    const lo = Math.min(...lambdas);
    const hi = Math.max(...lambdas);
    const series: Series[] = [];
    for (const c of inPanel) {
      const cfg = plan.configs.find((x) => plan.rowOf(x) === c.row && plan.colOf(x) === c.col)!;
      const name = plan.seriesOf(cfg);
      const pts = c.sweep.filter((s) => s.n > 0);
      if (!c.hasLambda) {
        const s = pts[0];
        if (s && Number.isFinite(lo)) series.push({ name, dashed: true, markers: false, points: [{ x: lo, y: s.testMean }, { x: hi, y: s.testMean }] });
        continue;
      }
      series.push({ name, points: pts.map((s) => ({ x: s.lambda, y: s.testMean, err: s.testStd })) });
    }
    // one lambda is no curve: methodPlot shows such panels
    if (series.length === 0 || !Number.isFinite(lo) || !(hi > lo)) continue;
    out.push([`lambda-sweep-${slug(panel)}`, linePlot({ title: `${plan.preset}, ${panel}: test accuracy vs lambda`, xLabel: 'lambda (noise std for ni)', yLabel: 'test accuracy (%)', xLog: true, series })]);
  }
  return out;
}

function sinPlots(plan: Plan, records: readonly Rec[]): [string, Scene][] {
  const out: [string, Scene][] = [];
  const seed0 = records.filter((r) => r.config.seed === Math.min(...records.map((x) => x.config.seed)) && r.result.status === 'completed');
  for (const method of plan.rows) {
    const runs = seed0.filter((r) => plan.rowOf(r.config) === method).sort((a, b) => a.config.lambda - b.config.lambda);
    if (runs.length === 0) continue;
    const first = runs[0]!.result as SinRunResult;
    const series: Series[] = runs.map((r) => {
      const res = r.result as SinRunResult;
      return { name: `lambda ${r.config.lambda}`, markers: false, points: res.curveX.map((x, i) => ({ x, y: res.curveY[i]! })) };
    });
    series.push({ name: 'sin(5x)', dashed: true, markers: false, points: first.curveX.map((x) => ({ x, y: Math.sin(5 * x) })) });
    series.push({ name: 'training points', line: false, points: first.trainX.map((x, i) => ({ x, y: first.trainY[i]! })) });
    out.push([`sin-${slug(method)}`, linePlot({ title: `sin(5x) from 100 points, ${method}: learned functions (seed ${runs[0]!.config.seed})`, xLabel: 'x', yLabel: 'g(x)', series })]);
  }
  return out;
}

/** Write every output of `plan` under `dir` and return the Markdown (all tables) and the main table as text. */
export function writeReport(plan: Plan, records: readonly Rec[], dir: string): ReportFiles {
  fs.mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  const md: string[] = [`# ${plan.preset}`, '', `${records.length} of ${plan.configs.length} runs finished.`, ''];
  let main: Table;
  let plots: [string, Scene][];
  if (plan.kind === 'sin') {
    const tables = sinTables(plan, records);
    main = tables[0]!;
    md.push(...tables.map(toMarkdown));
    plots = sinPlots(plan, records);
  } else {
    const cells = summarize(plan, records);
    main = accuracyTable(plan, cells);
    md.push(toMarkdown(main), '**Chosen lambda**', '', lambdaTable(plan, cells));
    const rob = robustnessTables(plan, cells, records);
    md.push(...rob.map(toMarkdown));
    rob.forEach((t, i) => {
      const f = path.join(dir, `robustness-${i === 0 ? 'gradnorm' : `fgsm-${i}`}.csv`);
      writeAtomic(f, toCsv(t));
      written.push(f);
    });
    plots = sweepPlots(plan, cells);
    const sp = sizePlot(plan, records, cells);
    if (sp) plots.unshift(['accuracy-vs-size', sp]);
    else plots.unshift(...methodPlot(plan, cells));
  }
  for (const [name, scene] of plots) savePlot(path.join(dir, 'plots'), name, scene, written);
  if (plots.length) {
    const fonts = fontStatus();
    md.push('**Plots**', '', ...plots.map(([n]) => `- plots/${n}.svg${fonts.ok ? ' (and .png)' : ''}`), '');
    if (!fonts.ok) {
      md.push(`PNG plots not written: ${fonts.reason}.`, '');
      if (!warnedNoFont) process.stderr.write(`gradreg: PNG plots not written (SVG only): ${fonts.reason}\n`);
      warnedNoFont = true;
    }
  }
  const tableCsv = path.join(dir, 'table.csv');
  writeAtomic(tableCsv, toCsv(main));
  const runs = path.join(dir, 'runs.csv');
  writeAtomic(runs, runsCsv(records));
  const mdFile = path.join(dir, 'table.md');
  const markdown = `${md.join('\n')}\n`;
  writeAtomic(mdFile, markdown);
  written.push(tableCsv, runs, mdFile);
  return { markdown, text: toText(main), written };
}

