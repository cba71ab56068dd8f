/**
 * The protocol's data: datasets loaded once per process, the seeded per-class training subset, and
 * a validation split drawn from the rest of the training set. The subset depends only on (seed,
 * per-class size), so every regularizer and lambda of a seed trains on the same images.
 */
import { deriveSeed } from '../nn/index.js';
import { defaultNormalization, loadDataset, permutation, take, type Dataset, type Normalization, type TrainTest } from '../data/index.js';
import { DataError } from '../errors.js';

const cache = new Map<string, { data: TrainTest; norm: Normalization }>();

export function loadCached(name: string, dataDir?: string): { data: TrainTest; norm: Normalization } {
  const key = `${name}\u0000${dataDir ?? ''}`;
  let v = cache.get(key);
  if (!v) {
    const data = loadDataset(name, dataDir);
    v = { data, norm: defaultNormalization(name, data) };
    cache.set(key, v);
  }
  return v;
}

export interface Split {
  train: Dataset;
  validation: Dataset | null;
}

/**
 * Per class, a Philox permutation keyed by (seed, class): its first `perClass` images train, the
 * next `validation` validate. perClass 0 trains on everything (no validation possible then).
 */
export function splitPerClass(ds: Dataset, perClass: number, validation: number, seed: number): Split {
  if (perClass === 0) {
    if (validation > 0) throw new DataError('validation split: needs a per-class training size (the whole set leaves nothing to hold out)');
    return { train: ds, validation: null };
  }
  const byClass: number[][] = Array.from({ length: ds.classes }, () => []);
  for (let i = 0; i < ds.count; i++) byClass[ds.labels[i]!]!.push(i);
  const s = deriveSeed(seed, 0x5ab5);
  const tr: number[] = [];
  const va: number[] = [];
  byClass.forEach((idx, c) => {
    if (idx.length < perClass + validation) {
      throw new DataError(`${ds.source}: class ${c} has ${idx.length} images, fewer than ${perClass} training + ${validation} validation`);
    }
    const p = permutation(idx.length, s, c);
    for (let k = 0; k < perClass; k++) tr.push(idx[p[k]!]!);
    for (let k = perClass; k < perClass + validation; k++) va.push(idx[p[k]!]!);
  });
  tr.sort((a, b) => a - b);
  va.sort((a, b) => a - b);
  return { train: take(ds, tr), validation: validation > 0 ? take(ds, va) : null };
}

/** The first n images (0 = all). */
export function head(ds: Dataset, n: number): Dataset {
  return n > 0 && n < ds.count ? take(ds, Array.from({ length: n }, (_, i) => i)) : ds;
}
