import { describe, expect, it } from 'vitest';
import { DataError } from '../../src/errors.js';
import { batches, channelStats, classCounts, numBatches, permutation, subsamplePerClass, take, unitScale, type Dataset } from '../../src/data/index.js';

/** n images of shape [c, h, w]; image i has label labelOf(i) and pixel p = (i + p) % 256. */
function synthetic(n: number, shape: [number, number, number], labelOf: (i: number) => number): Dataset {
  const per = shape[0] * shape[1] * shape[2];
  const images = new Uint8Array(n * per);
  for (let i = 0; i < n; i++) for (let p = 0; p < per; p++) images[i * per + p] = (i + p) % 256;
  return {
    source: 'synthetic',
    images,
    labels: Uint8Array.from({ length: n }, (_, i) => labelOf(i)),
    count: n,
    shape,
    classes: 3,
    classNames: ['a', 'b', 'c'],
  };
}

describe('class-balanced subsampling', () => {
  const ds = synthetic(60, [1, 2, 2], (i) => (i < 10 ? 0 : i < 30 ? 1 : 2));

  it('takes exactly n per class, seeded', () => {
    const s = subsamplePerClass(ds, 7, 1);
    expect(classCounts(s)).toEqual([7, 7, 7]);
    expect(s.count).toBe(21);
    const again = subsamplePerClass(ds, 7, 1);
    expect(Array.from(again.images)).toEqual(Array.from(s.images));
    const other = subsamplePerClass(ds, 7, 2);
    expect(Array.from(other.images)).not.toEqual(Array.from(s.images));
    // images travel with their labels: image i starts with pixel value i
    for (let k = 0; k < s.count; k++) {
      const i = s.images[k * 4]!;
      expect(s.labels[k]).toBe(i < 10 ? 0 : i < 30 ? 1 : 2);
    }
  });

  it('fails clearly when a class has fewer images than asked', () => {
    expect(() => subsamplePerClass(ds, 11, 1)).toThrow(DataError);
    expect(() => subsamplePerClass(ds, 11, 1)).toThrow('per-class 11 is more than the training set has: class 0 (a) has only 10 images in synthetic');
    expect(() => subsamplePerClass(ds, 0, 1)).toThrow(/positive integer/);
  });
});

describe('permutation', () => {
  it('is a seeded permutation', () => {
    const p = permutation(50, 3, 0);
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(Array.from(permutation(50, 3, 0))).toEqual(Array.from(p));
    expect(Array.from(permutation(50, 3, 1))).not.toEqual(Array.from(p));
  });
});

describe('batches', () => {
  const ds = synthetic(10, [1, 2, 2], (i) => i % 3);
  const norm = unitScale(1);

  it('cover the epoch once, in a seeded order that changes per epoch, last batch partial', () => {
    const all = (epoch: number, seed = 5): number[] =>
      [...batches(ds, { batchSize: 4, shuffle: true, seed, epoch, normalization: norm })].flatMap((b) => Array.from({ length: b.n }, (_, k) => Math.round(b.x[k * 4]! * 255)));
    const e0 = all(0);
    expect([...e0].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(all(0)).toEqual(e0);
    expect(all(1)).not.toEqual(e0);
    expect(all(0, 6)).not.toEqual(e0);
    const sizes = [...batches(ds, { batchSize: 4, shuffle: true, seed: 5, epoch: 0, normalization: norm })].map((b) => b.n);
    expect(sizes).toEqual([4, 4, 2]);
    expect(numBatches(10, 4)).toBe(3);
  });

  it('skip resumes with exactly the remaining batches', () => {
    const o = { batchSize: 3, shuffle: true, seed: 2, epoch: 4, normalization: norm, augment: true };
    const full = [...batches(ds, o)];
    const rest = [...batches(ds, { ...o, skip: 2 })];
    expect(rest.map((b) => Array.from(b.x))).toEqual(full.slice(2).map((b) => Array.from(b.x)));
    expect(rest[0]!.index).toBe(2);
  });

  it('normalize per channel: (pixel / 255 - mean) / std', () => {
    const rgb = synthetic(2, [3, 1, 2], () => 0);
    const n = { mean: [0.1, 0.2, 0.3], std: [0.5, 0.25, 2] };
    const [b] = [...batches(rgb, { batchSize: 2, shuffle: false, seed: 0, epoch: 0, normalization: n })];
    // image 1, channel 2, pixel 1: raw (1 + 2*2 + 1) = 6
    expect(b!.x[6 + 5]).toBeCloseTo((6 / 255 - 0.3) / 2, 6);
    expect(Array.from(b!.y)).toEqual([0, 0]);
    const st = channelStats(rgb);
    expect(st.mean[0]).toBeCloseTo((0 + 1 + 1 + 2) / 4 / 255, 12);
  });

  it('augment: a 4-pixel zero-padded random crop and flip of each image', () => {
    const img = synthetic(200, [1, 6, 6], () => 0);
    const one = take(img, [5]);
    const seen = new Set<string>();
    for (let epoch = 0; epoch < 60; epoch++) {
      const [b] = [...batches(one, { batchSize: 1, shuffle: false, seed: 1, epoch, normalization: norm, augment: true })];
      const out = Array.from(b!.x, (v) => Math.round(v * 255));
      // find the (dy, dx, flip) that explains the output
      let match: string | null = null;
      for (let dy = -4; dy <= 4 && !match; dy++)
        for (let dx = -4; dx <= 4 && !match; dx++)
          for (const flip of [false, true]) {
            const want: number[] = [];
            for (let y = 0; y < 6; y++)
              for (let x = 0; x < 6; x++) {
                const sy = y + dy;
                const sx = (flip ? 5 - x : x) + dx;
                want.push(sy >= 0 && sy < 6 && sx >= 0 && sx < 6 ? (5 + sy * 6 + sx) % 256 : 0);
              }
            if (want.every((v, i) => v === out[i])) {
              match = `${dy},${dx},${flip}`;
              break;
            }
          }
      expect(match).not.toBeNull();
      seen.add(match!);
    }
    expect(seen.size).toBeGreaterThan(30);
    expect([...seen].some((s) => s.endsWith('true'))).toBe(true);
    expect([...seen].some((s) => s.endsWith('false'))).toBe(true);
  });
});
