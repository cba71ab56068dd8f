/** Small statistics for the tables: mean and standard deviation (population, numpy's default, as the thesis computed with numpy). */

export function mean(v: readonly number[]): number {
  if (v.length === 0) return NaN;
  return v.reduce((a, b) => a + b, 0) / v.length;
}

/** Population standard deviation (ddof = 0). */
export function std(v: readonly number[]): number {
  if (v.length === 0) return NaN;
  const m = mean(v);
  return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length);
}

/** n values evenly spaced in log10 between lo and hi (inclusive), rounded to 3 significant digits. */
export function logGrid(lo: number, hi: number, n: number): number[] {
  if (!(lo > 0 && hi >= lo) || !Number.isInteger(n) || n < 1) throw new Error(`logGrid: need 0 < lo <= hi and n >= 1, got ${lo}, ${hi}, ${n}`);
  if (n === 1) return [lo];
  const a = Math.log10(lo);
  const b = Math.log10(hi);
  return Array.from({ length: n }, (_, i) => Number((10 ** (a + ((b - a) * i) / (n - 1))).toPrecision(3)));
}
