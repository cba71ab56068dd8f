/**
 * The researcher's-workflow bugs of the report layer and the presets (issue 15): modifier methods
 * in the tables, lambda selection among complete cells with n shown, plots for a single training
 * size, varga-c2's --dropout, --dropout with the ResNet, --batch, --quick and --smoke.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { accuracyTable, summarize, type Rec } from '../../src/experiments/aggregate.js';
import type { ImageRunConfig, ImageRunResult } from '../../src/experiments/config.js';
import { configKey } from '../../src/experiments/hash.js';
import { PRESETS, QUICK_METHODS, type PresetOptions } from '../../src/experiments/presets.js';
import { writeReport } from '../../src/experiments/report.js';
import { toMarkdown } from '../../src/experiments/table.js';
import { run as reproduce } from '../../src/cli/reproduce.js';

const dirs: string[] = [];
const tmp = (): string => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'gradreg-workflow-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const opts = (o: Partial<PresetOptions>): PresetOptions => ({ quick: false, select: 'test', valPerClass: 10, ...o });

function result(acc: number): ImageRunResult {
  return {
    status: 'completed', testAccuracy: acc, testLoss: 1 - acc, valAccuracy: acc, trainAccuracy: 1,
    curve: [{ epoch: 1, loss: 1 - acc, terms: { ce: 1 - acc } }], wallSeconds: 0, backend: 'cpu', steps: 1,
    gradNorm: 0.5, fgsm: [{ eps: 0.1, accuracy: acc / 2 }], robustPoints: 10,
  };
}

/** Records of `plan` with accuracy from `acc` (undefined: the run is not stored). */
function records(plan: ReturnType<(typeof PRESETS)['thesis-table2']['build']>, acc: (c: ImageRunConfig) => number | undefined): Rec[] {
  return plan.configs.flatMap((c) => {
    const a = acc(c as ImageRunConfig);
    return a === undefined ? [] : [{ key: configKey(c), config: c, result: result(a), written: '' }];
  });
}

describe('issue 15: tables and plots', () => {
  it('bug 1: methods with a modifier (hsfob/k=1, jac/batched) have their cells in table.md and table.csv', () => {
    const plan = PRESETS['thesis-table2']!.build(opts({ seeds: 2, methods: ['baseline', 'hsfob/k=1', 'jac/batched'], lambdas: [0.1], sizes: [50] }));
    const out = tmp();
    writeReport(plan, records(plan, (c) => (c.regularizer === 'baseline' ? 0.9 : c.regularizer === 'jac/batched' ? 0.91 : 0.95)), out);
    const md = fs.readFileSync(path.join(out, 'table.md'), 'utf8');
    expect(md).toContain('| hsfob/k=1 | **95.000** (0.00) |');
    expect(md).toContain('| jac/batched | 91.000 (0.00) |');
    const csv = fs.readFileSync(path.join(out, 'table.csv'), 'utf8');
    expect(csv).toContain('hsfob/k=1,50,95.0000,0.0000,2,0.1,1');
    expect(csv).toContain('jac/batched,50,91.0000,0.0000,2,0.1,0');
  });

  it('bug 1: the replication presets keep a modifier in their display names', () => {
    const plan = PRESETS['varga-c6']!.build(opts({ seeds: 1, methods: ['spectreg/k=2', 'jac/batched'], lambdas: [0.1] }));
    expect(plan.cols).toEqual(['SpectReg/k=2', 'JacReg/batched']);
    expect(plan.configs.map((c) => plan.colOf(c))).toEqual(['SpectReg/k=2', 'JacReg/batched']);
  });

  it('bug 3: a lambda with fewer finished seeds does not beat a complete one; an incomplete cell shows its n', () => {
    const plan = PRESETS['thesis-table2']!.build(opts({ seeds: 3, methods: ['baseline', 'db'], lambdas: [0.01, 1], sizes: [50] }));
    // db at lambda 1: only seed 0 finished, and lucky; lambda 0.01: all three seeds, lower mean
    const acc = (c: ImageRunConfig): number | undefined => {
      if (c.regularizer === 'baseline') return c.seed === 2 ? undefined : 0.9;
      if (c.lambda === 1) return c.seed === 0 ? 0.99 : undefined;
      return 0.93 + c.seed * 0.01;
    };
    const t = accuracyTable(plan, summarize(plan, records(plan, acc)));
    const db = t.cells.find((c) => c.row === 'db')!;
    expect(db.lambda).toBe(0.01);
    expect(db.n).toBe(3);
    expect(db.mean).toBeCloseTo(94, 10);
    const md = toMarkdown(t);
    // the baseline has 2 of its 3 seeds: marked, and the note says what the mark means
    expect(md).toContain('| baseline | 90.000 (0.00) [n=2/3] |');
    expect(md).toContain('| db | **94.000** (0.82) |');
    expect(md).toMatch(/\[n=a\/b\] are incomplete/);
    expect(md).toContain('difference to baseline (points; baseline std 0.00): db +4.00.');
    const full = accuracyTable(plan, summarize(plan, records(plan, () => 0.9)));
    expect(toMarkdown(full)).toContain('n = 3 seeds in every cell.');
  });

  it('bug 13: with one training size there is no accuracy-vs-size stack; a per-method plot spreads the methods out', () => {
    const plan = PRESETS['thesis-table2']!.build(opts({ seeds: 2, methods: ['baseline', 'db', 'hsfob/k=1'], lambdas: [1], sizes: [50] }));
    const out = tmp();
    const rep = writeReport(plan, records(plan, (c) => 0.9 + 0.01 * c.seed), out);
    const plots = rep.written.filter((f) => f.endsWith('.svg')).map((f) => path.basename(f));
    expect(plots).toEqual(['accuracy-by-method-50-per-class.svg']);
    const svg = fs.readFileSync(path.join(out, 'plots', plots[0]!), 'utf8');
    // each method is an x tick label of its own (besides its legend entry)
    for (const m of ['baseline', 'db', 'hsfob/k=1']) expect(svg).toContain(`>${m}</text>`);
    const cx = [...svg.matchAll(/<circle cx="([\d.]+)"/g)].map((x) => Number(x[1]));
    expect(new Set(cx).size).toBeGreaterThanOrEqual(3);
    // two sizes keep the accuracy-vs-size plot
    const two = PRESETS['thesis-table2']!.build(opts({ seeds: 1, methods: ['baseline', 'db'], lambdas: [0.1, 1], sizes: [50, 100] }));
    const files = writeReport(two, records(two, () => 0.9), tmp()).written.map((f) => path.basename(f));
    expect(files).toContain('accuracy-vs-size.svg');
    expect(files).toContain('lambda-sweep-50-per-class.svg');
  });
});

describe('issue 15: presets and their options', () => {
  it('bug 11: varga-c2 --dropout P sets the Dropout row only, so its three rows stay distinct configurations', () => {
    const plan = PRESETS['varga-c2']!.build(opts({ seeds: 1, methods: ['baseline'], dropout: 0.3 }));
    const byRow = new Map(plan.configs.map((c) => [plan.rowOf(c), c as ImageRunConfig]));
    expect([...byRow.keys()]).toEqual(['Baseline', 'Batchnorm', 'Dropout']);
    expect(byRow.get('Baseline')!.dropout).toBe(0);
    expect(byRow.get('Dropout')!.dropout).toBe(0.3);
    expect(new Set(plan.configs.map(configKey)).size).toBe(3);
    expect(() => PRESETS['varga-c2']!.build(opts({ dropout: 0 }))).toThrow(/--dropout: varga-c2's Dropout row needs a rate > 0/);
  });

  it('bug 11: --dropout with the ResNet preset is refused before any run, with nothing written', async () => {
    const out = path.join(tmp(), 'never');
    await expect(reproduce(['thesis-table4', '--dropout', '0.5', '--out', out])).rejects.toThrow(
      /^--dropout: thesis-table4 trains the resnet model, which has no place for dropout/,
    );
    expect(fs.existsSync(out)).toBe(false);
  });

  it('--batch sets every run\'s batch size; the default is 50 for the thesis tables too', () => {
    expect(new Set(PRESETS['thesis-table2']!.build(opts({})).configs.map((c) => (c as ImageRunConfig).batch))).toEqual(new Set([50]));
    expect(new Set(PRESETS['varga-c4']!.build(opts({ batch: 64 })).configs.map((c) => (c as ImageRunConfig).batch))).toEqual(new Set([64]));
    expect(PRESETS['thesis-table2']!.build(opts({ batch: 32 })).notes.join(' ')).toContain('batch 32');
  });

  it('--quick is the small Table 2 that shows the effect; --smoke is a seconds-long check', () => {
    const q = PRESETS['thesis-table2']!.build(opts({ quick: true }));
    const qc = q.configs as ImageRunConfig[];
    expect(q.rows).toEqual(QUICK_METHODS);
    expect(QUICK_METHODS).toEqual(['baseline', 'db', 'ni', 'hsfob/k=1']);
    expect(qc).toHaveLength(12);
    expect(new Set(qc.map((c) => c.seed))).toEqual(new Set([0, 1, 2]));
    expect(qc.every((c) => c.perClass === 50 && c.epochs === 100 && c.testPoints === 0 && c.batch === 50)).toBe(true);
    expect(new Set(qc.map((c) => c.lambda))).toEqual(new Set([0, 1]));
    const s = PRESETS['thesis-table2']!.build(opts({ smoke: true }));
    const sc = s.configs as ImageRunConfig[];
    expect(sc).toHaveLength(4);
    expect(sc.every((c) => c.epochs === 2 && c.testPoints === 500 && c.robustPoints === 100 && c.seed === 0)).toBe(true);
    for (const p of ['varga-c2', 'varga-c4', 'varga-c6', 'varga-sin']) {
      const plan = PRESETS[p]!.build(opts({ smoke: true }));
      expect(plan.configs.length).toBeLessThanOrEqual(9);
      expect(new Set(plan.configs.map((c) => c.seed))).toEqual(new Set([0]));
    }
  });
});

describe('the main job in its --smoke form', () => {
  it('thesis-table2 --smoke trains baseline, db, ni and hsfob/k=1 and writes the table, with every cell filled', async () => {
    const out = tmp();
    const write = process.stdout.write.bind(process.stdout);
    const err = process.stderr.write.bind(process.stderr);
    let printed = '';
    process.stdout.write = ((s: string) => ((printed += s), true)) as typeof process.stdout.write;
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      expect(await reproduce(['thesis-table2', '--smoke', '--device', 'native', '--out', out])).toBe(0);
    } finally {
      process.stdout.write = write;
      process.stderr.write = err;
    }
    const md = fs.readFileSync(path.join(out, 'table.md'), 'utf8');
    expect(printed).toBe(`${md}\n`);
    for (const m of QUICK_METHODS) expect(md).toMatch(new RegExp(`^\\| ${m.replace('/', '\\/')} \\| (\\*\\*)?\\d+\\.\\d{3}(\\*\\*)? \\(0\\.00\\) \\|$`, 'm'));
    expect(md).toContain('4 of 4 runs finished.');
    expect(md).toMatch(/difference to baseline \(points; baseline std 0\.00\): db [+-]\d/);
  }, 120_000);
});
