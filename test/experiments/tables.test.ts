import { describe, expect, it } from 'vitest';
import { accuracyTable, summarize, type Rec } from '../../src/experiments/aggregate.js';
import type { ImageRunConfig, ImageRunResult } from '../../src/experiments/config.js';
import { configKey } from '../../src/experiments/hash.js';
import { linePlot, logTicks, niceTicks } from '../../src/experiments/plot.js';
import { fontStatus, probeFonts, svgToPng } from '../../src/experiments/png.js';
import { PRESETS } from '../../src/experiments/presets.js';
import { toSvg, type Scene } from '../../src/experiments/scene.js';
import { darkPixels, decodePng } from '../helpers/png.js';
import { logGrid, mean, std } from '../../src/experiments/stats.js';
import { bestCells, toCsv, toMarkdown, type Table } from '../../src/experiments/table.js';

const table: Table = {
  title: 'T',
  rows: ['db', 'jac', 'baseline'],
  cols: ['50', '100'],
  corner: '',
  bestAlong: 'column',
  notes: ['a note'],
  cells: [
    { row: 'db', col: '50', mean: 92.2734, std: 0.4912, n: 10, lambda: 0.01 },
    { row: 'jac', col: '50', mean: 91.01, std: 0.44, n: 10, lambda: 1 },
    { row: 'baseline', col: '50', mean: 90.195, std: 0.45, n: 10, lambda: null },
    { row: 'db', col: '100', mean: 95.0101, std: 0.47, n: 10, lambda: 0.01 },
    { row: 'jac', col: '100', mean: 95.0099, std: 0.31, n: 10, lambda: 1 },
  ],
};

describe('tables in the thesis format', () => {
  it('"mean (std)" with the best of each column in bold; equal printed means are both bold; missing cells are "-"', () => {
    const md = toMarkdown(table);
    expect(md).toContain('| db | **92.273** (0.49) | **95.010** (0.47) |');
    expect(md).toContain('| jac | 91.010 (0.44) | **95.010** (0.31) |');
    expect(md).toContain('| baseline | 90.195 (0.45) | - |');
    expect(md).toContain('|  | 50 | 100 |');
    expect(md).toContain('a note');
  });

  it('bold along rows when asked, and nowhere for "none"', () => {
    const byRow = bestCells({ ...table, bestAlong: 'row' });
    expect([...byRow].map((c) => `${c.row}/${c.col}`).sort()).toEqual(['baseline/50', 'db/100', 'jac/100']);
    expect(bestCells({ ...table, bestAlong: 'none' }).size).toBe(0);
  });

  it('CSV: one line per cell with lambda, n and the best flag', () => {
    const csv = toCsv(table).trim().split('\n');
    expect(csv[0]).toBe('row,col,mean,std,n,lambda,best');
    expect(csv).toContain('db,50,92.2734,0.4912,10,0.01,1');
    expect(csv).toContain('baseline,50,90.1950,0.4500,10,,0');
  });

  it('population std (numpy default), log grids', () => {
    expect(mean([1, 2, 3, 4])).toBe(2.5);
    expect(std([1, 2, 3, 4])).toBeCloseTo(Math.sqrt(1.25), 12);
    expect(logGrid(1e-6, 3, 3)).toEqual([1e-6, 0.00173, 3]);
  });
});

describe('lambda selection', () => {
  const plan = PRESETS['thesis-table2']!.build({ quick: true, select: 'test', valPerClass: 10, seeds: 2, methods: ['baseline', 'db'], lambdas: [0.01, 0.1], sizes: [50] });
  const res = (acc: number, val: number, status: 'completed' | 'diverged' = 'completed'): ImageRunResult => ({
    status, testAccuracy: status === 'completed' ? acc : null, testLoss: 0, valAccuracy: status === 'completed' ? val : null, trainAccuracy: 1,
    curve: [], wallSeconds: 0, backend: 'cpu', steps: 1, gradNorm: 1, fgsm: [], robustPoints: 0,
  });
  const recs = (results: Map<string, ImageRunResult>, p = plan): Rec[] =>
    p.configs.map((c) => {
      const ic = c as ImageRunConfig;
      return { key: configKey(c), config: c, result: results.get(`${ic.regularizer}/${ic.lambda}/${ic.seed}`)!, written: '' };
    });
  const results = new Map<string, ImageRunResult>([
    ['baseline/0/0', res(0.9, 0.9)], ['baseline/0/1', res(0.92, 0.9)],
    // lambda 0.01: better on test; lambda 0.1: better on validation
    ['db/0.01/0', res(0.95, 0.80)], ['db/0.01/1', res(0.97, 0.80)],
    ['db/0.1/0', res(0.93, 0.99)], ['db/0.1/1', res(0.93, 0.99)],
  ]);

  it('on the test set (the thesis), mean and std over seeds at the chosen lambda', () => {
    const t = accuracyTable(plan, summarize(plan, recs(results)));
    const db = t.cells.find((c) => c.row === 'db')!;
    expect(db.lambda).toBe(0.01);
    expect(db.mean).toBeCloseTo(96, 10);
    expect(db.std).toBeCloseTo(1, 10);
    expect(t.cells.find((c) => c.row === 'baseline')!.lambda).toBeNull();
  });

  it('on the validation split', () => {
    const p = PRESETS['thesis-table2']!.build({ quick: true, select: 'validation', valPerClass: 10, seeds: 2, methods: ['baseline', 'db'], lambdas: [0.01, 0.1], sizes: [50] });
    expect((p.configs[0] as ImageRunConfig).validation).toBe(10);
    const db = accuracyTable(p, summarize(p, recs(results, p))).cells.find((c) => c.row === 'db')!;
    expect(db.lambda).toBe(0.1);
    expect(db.mean).toBeCloseTo(93, 10);
  });

  it('a lambda where a seed diverged is not eligible', () => {
    const r = new Map(results);
    r.set('db/0.01/1', res(0, 0, 'diverged'));
    const db = accuracyTable(plan, summarize(plan, recs(r))).cells.find((c) => c.row === 'db')!;
    expect(db.lambda).toBe(0.1);
  });
});

describe('plots', () => {
  it('ticks', () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(logTicks(1e-6, 3)).toEqual([1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1]);
  });

  const plot = (): Scene =>
    linePlot({
      title: 'acc vs size', xLabel: 'n', yLabel: 'acc (%)', xLog: true, xTicks: [50, 100],
      series: [{ name: 'db', points: [{ x: 50, y: 90, err: 1 }, { x: 100, y: 95, err: 0.5 }] }, { name: 'jac', points: [{ x: 50, y: 91 }, { x: 100, y: 93 }] }],
    });

  it('SVG with one polyline per series and error bars', () => {
    const svg = toSvg(plot());
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg).toContain('>db</text>');
    expect(svg).toContain('#1f77b4');
  });

  it('the PNG is the SVG rendered by resvg: its size, the series colors, and real text', () => {
    // .ci/run installs fonts-dejavu-core; a machine without any font fails here with the reason.
    expect(fontStatus()).toEqual({ ok: true });
    const scene = plot();
    const img = decodePng(svgToPng(toSvg(scene)));
    expect([img.width, img.height]).toEqual([scene.width, scene.height]);
    let blue = 0;
    for (let i = 0; i < img.rgba.length; i += 4) if (img.rgba[i] === 0x1f && img.rgba[i + 1] === 0x77 && img.rgba[i + 2] === 0xb4) blue++;
    expect(blue).toBeGreaterThan(50);
    // The title is set in the band above the frame: glyphs there, and nothing once the title is gone.
    const band = (s: Scene): number => darkPixels(decodePng(svgToPng(toSvg(s))), 200, 8, 560, 34);
    expect(band(scene)).toBeGreaterThan(40);
    expect(band({ ...scene, shapes: scene.shapes.filter((sh) => !(sh.kind === 'text' && sh.text === 'acc vs size')) })).toBe(0);
    // Different strings give different pixels (text, not a placeholder box).
    const retitled = { ...scene, shapes: scene.shapes.map((sh) => (sh.kind === 'text' && sh.text === 'acc vs size' ? { ...sh, text: 'loss vs lambda' } : sh)) };
    expect(Buffer.from(decodePng(svgToPng(toSvg(retitled))).rgba).equals(Buffer.from(img.rgba))).toBe(false);
  });

  it('without a usable font the probe says so and names the package to install (the report then writes SVG only)', () => {
    const none = probeFonts({ loadSystemFonts: false });
    expect(none.ok).toBe(false);
    expect(none.reason).toMatch(/no usable system font .*fonts-dejavu-core/);
  });
});
