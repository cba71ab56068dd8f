/**
 * Estimator accuracy of `gradreg cost`: each stochastic estimator's penalty gradient against the
 * exact one on the same batch and weights.
 */
import { describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import { accuracyCsv, accuracyMarkdown, accuracyPlot, estimatorVariant, measureAccuracy } from '../../src/experiments/accuracy.js';
import { parseRegularizer } from '../../src/regularizers/index.js';

describe('estimator accuracy', () => {
  it('more projections bring the gradient closer to the exact one; table, csv and plot carry every row', async () => {
    const x = g.randn([4, 1, 28, 28], { seed: 1 });
    const rows = await measureAccuracy({ model: 'lenet5', inputShape: [1, 28, 28], classes: 10, x, families: ['fob', 'spectreg/sph'], ks: [1, 16], draws: 3 });
    x.dispose();
    expect(rows.map((r) => r.variant)).toEqual(['fob/k=1', 'fob/k=16', 'spectreg/k=1/sph', 'spectreg/k=16/sph']);
    for (const r of rows) {
      expect(r.cosMean).toBeGreaterThan(0);
      expect(r.cosMean).toBeLessThanOrEqual(1);
      expect(r.relErrMean).toBeGreaterThan(0);
      expect(r.relErrSd).toBeGreaterThan(0);
      // every variant is a regularizer the cost command can time
      expect(() => parseRegularizer(r.variant, 0.01)).not.toThrow();
    }
    // the error of a mean of k independent projections falls like 1/sqrt(k): 16x the draws, about 1/4
    for (const [one, many] of [[rows[0]!, rows[1]!], [rows[2]!, rows[3]!]]) {
      expect(many.relErrMean).toBeLessThan(0.6 * one.relErrMean);
      expect(many.cosMean).toBeGreaterThan(one.cosMean);
    }
    const times = new Map(rows.map((r, i) => [r.variant, { ms: 10 + i, timeRatio: 1 + i }]));
    times.set('exact:fob', { ms: 50, timeRatio: 5 });
    const md = accuracyMarkdown(rows, times, (f) => `${f}/loop`, 'T', []);
    expect(md).toContain('| fob = spectreg | 16 | 11.0 | 2.00 |');
    expect(md).toContain('| spectreg/sph | 1 |');
    expect(accuracyCsv(rows, times).trim().split('\n')).toHaveLength(5);
    const plot = accuracyPlot(rows, times, 'T');
    expect(plot.series.map((s) => s.name)).toEqual(['fob = spectreg', 'spectreg/sph', 'exact']);
    expect(estimatorVariant('hsfob', 8)).toBe('hsfob/k=8');
  }, 120_000);
});
