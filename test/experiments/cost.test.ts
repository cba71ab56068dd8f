import { describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import { engine } from '../../src/engine.js';
import { PeakTracker, costMarkdown, defaultVariants, measureCost } from '../../src/experiments/cost.js';

describe('gradreg cost measurements', () => {
  it('the peak tracker sees a temporary that is freed before the step ends, and unwraps the backend', () => {
    const be = engine.backend('cpu');
    const own = Object.getOwnPropertyNames(be).sort();
    const t = new PeakTracker(be);
    t.start();
    const base = be.liveBytes();
    g.tidy(() => g.sum(g.zeros([1000], { dtype: 'float64' }))).dispose();
    expect(be.liveBytes()).toBe(base);
    expect(t.value - base).toBeGreaterThanOrEqual(8000);
    t.stop();
    expect(Object.getOwnPropertyNames(be).sort()).toEqual(own);
  });

  it('measures every variant with ratios to baseline; a double-backprop step holds more memory', async () => {
    const rows = await measureCost({ model: 'lenet5', batch: 4, reps: 1, variants: ['db', 'jac/loop', 'hsfob/k=1'], inputShape: [1, 28, 28], classes: 10 });
    expect(rows.map((r) => r.variant)).toEqual(['baseline', 'db', 'jac/loop', 'hsfob/k=1']);
    for (const r of rows) {
      expect(r.error).toBeUndefined();
      expect(r.ms).toBeGreaterThan(0);
      expect(r.stepBytes).toBeGreaterThan(0);
    }
    expect(rows[0]!.timeRatio).toBe(1);
    expect(rows[1]!.stepBytes).toBeGreaterThan(rows[0]!.stepBytes);
    expect(rows[2]!.stepBytes).toBeGreaterThan(rows[1]!.stepBytes);
    const md = costMarkdown(rows, 'T', []);
    expect(md).toContain('| jac/loop |');
    expect(defaultVariants()).toContain('hsfob-db2/k=2');
    expect(defaultVariants()).toContain('fob/batched');
  }, 60_000);
});
