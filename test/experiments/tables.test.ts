import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { accuracyTable, summarize, type Rec } from '../../src/experiments/aggregate.js';
import type { ImageRunConfig, ImageRunResult } from '../../src/experiments/config.js';
import { configKey } from '../../src/experiments/hash.js';
import { linePlot, logTicks, niceTicks } from '../../src/experiments/plot.js';
import { crc32, encodePng, sceneToPng } from '../../src/experiments/png.js';
import { PRESETS } from '../../src/experiments/presets.js';
import { toSvg } from '../../src/experiments/scene.js';
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

  it('SVG with one polyline per series and error bars; PNG with a valid header, CRCs and pixels', () => {
    const scene = linePlot({
      title: 'acc vs size', xLabel: 'n', yLabel: 'acc (%)', xLog: true, xTicks: [50, 100],
      series: [{ name: 'db', points: [{ x: 50, y: 90, err: 1 }, { x: 100, y: 95, err: 0.5 }] }, { name: 'jac', points: [{ x: 50, y: 91 }, { x: 100, y: 93 }] }],
    });
    const svg = toSvg(scene);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg).toContain('>db</text>');
    expect(svg).toContain('#1f77b4');
    const png = sceneToPng(scene);
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    // walk the chunks: every CRC matches, and the image data inflates to width*height*3 + height bytes
    let off = 8;
    const idat: Buffer[] = [];
    let w = 0;
    let h = 0;
    while (off < png.length) {
      const len = png.readUInt32BE(off);
      const type = png.toString('ascii', off + 4, off + 8);
      expect(png.readUInt32BE(off + 8 + len)).toBe(crc32(png.subarray(off + 4, off + 8 + len)));
      if (type === 'IHDR') [w, h] = [png.readUInt32BE(off + 8), png.readUInt32BE(off + 12)];
      if (type === 'IDAT') idat.push(png.subarray(off + 8, off + 8 + len));
      off += 12 + len;
    }
    const raw = inflateSync(Buffer.concat(idat));
    expect([w, h]).toEqual([scene.width, scene.height]);
    expect(raw.length).toBe(h * (w * 3 + 1));
    // some pixels carry the first series' color
    let blue = 0;
    for (let i = 0; i < raw.length - 2; i++) if (raw[i] === 0x1f && raw[i + 1] === 0x77 && raw[i + 2] === 0xb4) blue++;
    expect(blue).toBeGreaterThan(50);
  });

  it('encodePng of a 2x1 image', () => {
    const png = encodePng(2, 1, Uint8Array.from([255, 0, 0, 0, 0, 255]));
    const i = png.indexOf('IDAT');
    const len = png.readUInt32BE(i - 4);
    expect([...inflateSync(png.subarray(i + 4, i + 4 + len))]).toEqual([0, 255, 0, 0, 0, 0, 255]);
  });
});
