/**
 * In-memory image classification data: uint8 pixels [N, C, H, W] and labels, kept raw on the host
 * and normalized per batch. Subsampling, normalization, augmentation and batching are seeded with
 * Philox, so a seed fixes the training subset, the order of every epoch and every random crop.
 */
import { ArgumentError, DataError } from '../errors.js';
import { deriveSeed } from '../nn/init.js';
import { permutation, uniforms } from './random.js';

export interface Dataset {
  /** Where it came from (file or directory), for messages. */
  source: string;
  /** Pixels, [count, C, H, W] row-major, 0-255. */
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  shape: readonly [number, number, number];
  classes: number;
  classNames: readonly string[];
}

export interface TrainTest {
  name: string;
  train: Dataset;
  test: Dataset;
}

/** Per-channel affine map of pixels: x = (pixel / 255 - mean[c]) / std[c]. */
export interface Normalization {
  mean: number[];
  std: number[];
}

export function classCounts(ds: Dataset): number[] {
  const c = new Array<number>(ds.classes).fill(0);
  for (let i = 0; i < ds.count; i++) c[ds.labels[i]!]!++;
  return c;
}

/** The images at `indices`, in that order. */
export function take(ds: Dataset, indices: ArrayLike<number>): Dataset {
  const per = ds.shape[0] * ds.shape[1] * ds.shape[2];
  const images = new Uint8Array(indices.length * per);
  const labels = new Uint8Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!;
    images.set(ds.images.subarray(i * per, (i + 1) * per), k * per);
    labels[k] = ds.labels[i]!;
  }
  return { ...ds, images, labels, count: indices.length };
}

/**
 * Exactly `perClass` images of every class, drawn without replacement by a seeded permutation of
 * each class (kept in their original order). A DataError when a class has fewer.
 */
export function subsamplePerClass(ds: Dataset, perClass: number, seed: number): Dataset {
  if (!Number.isInteger(perClass) || perClass < 1) throw new ArgumentError(`per-class: expected a positive integer, got ${perClass}`);
  const byClass: number[][] = Array.from({ length: ds.classes }, () => []);
  for (let i = 0; i < ds.count; i++) byClass[ds.labels[i]!]!.push(i);
  const short = byClass.map((idx, c) => [c, idx.length] as const).filter(([, n]) => n < perClass);
  if (short.length > 0) {
    const [c, n] = short.reduce((a, b) => (b[1] < a[1] ? b : a));
    const name = ds.classNames[c] ?? String(c);
    throw new DataError(
      `per-class ${perClass} is more than the training set has: class ${c} (${name}) has only ${n} images in ${ds.source}`,
    );
  }
  const s = deriveSeed(seed, 0x5ab5);
  const chosen: number[] = [];
  byClass.forEach((idx, c) => {
    const p = permutation(idx.length, s, c);
    for (let k = 0; k < perClass; k++) chosen.push(idx[p[k]!]!);
  });
  chosen.sort((a, b) => a - b);
  return take(ds, chosen);
}

/** Per-channel mean and std of pixels / 255 over the whole dataset. */
export function channelStats(ds: Dataset): Normalization {
  const [c, h, w] = ds.shape;
  const plane = h * w;
  const mean: number[] = [];
  const std: number[] = [];
  for (let ch = 0; ch < c; ch++) {
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < ds.count; i++) {
      const base = (i * c + ch) * plane;
      for (let k = 0; k < plane; k++) {
        const v = ds.images[base + k]! / 255;
        s += v;
        s2 += v * v;
      }
    }
    const n = ds.count * plane;
    const m = s / n;
    mean.push(m);
    std.push(Math.sqrt(Math.max(s2 / n - m * m, 1e-12)));
  }
  return { mean, std };
}

/** pixel / 255 for every channel. */
export function unitScale(channels: number): Normalization {
  return { mean: new Array<number>(channels).fill(0), std: new Array<number>(channels).fill(1) };
}

export interface BatchOptions {
  batchSize: number;
  /** Shuffle with a permutation fixed by (seed, epoch). */
  shuffle: boolean;
  seed: number;
  epoch: number;
  normalization: Normalization;
  /** CIFAR augmentation: zero-pad 4 pixels, random crop back to H x W, random horizontal flip. */
  augment?: boolean;
  /** Skip the first `skip` batches (resuming mid-epoch). */
  skip?: number;
}

export interface Batch {
  /** Normalized pixels [n, C, H, W]. */
  x: Float32Array;
  y: Int32Array;
  n: number;
  /** Index of this batch within the epoch. */
  index: number;
}

export const AUGMENT_PAD = 4;

export function numBatches(count: number, batchSize: number): number {
  return Math.ceil(count / batchSize);
}

/**
 * The batches of one epoch. The order is a Philox permutation keyed by (seed, epoch); the crop and
 * flip of the sample at epoch position j are keyed by (seed, epoch, j), so skipping batches to
 * resume reproduces exactly the batches an uninterrupted run would see.
 */
export function* batches(ds: Dataset, o: BatchOptions): Generator<Batch> {
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw new ArgumentError(`batch: size must be a positive integer, got ${o.batchSize}`);
  const [c, h, w] = ds.shape;
  const plane = h * w;
  const per = c * plane;
  const order = o.shuffle ? permutation(ds.count, deriveSeed(o.seed, 0x0dd), o.epoch) : null;
  const augSeed = deriveSeed(o.seed, 0xa06);
  const scale = o.normalization.std.map((s) => 1 / (255 * s));
  const shift = o.normalization.mean.map((m, ch) => -m / o.normalization.std[ch]!);
  const nb = numBatches(ds.count, o.batchSize);
  for (let b = o.skip ?? 0; b < nb; b++) {
    const start = b * o.batchSize;
    const n = Math.min(o.batchSize, ds.count - start);
    const x = new Float32Array(n * per);
    const y = new Int32Array(n);
    const rnd = o.augment ? uniforms(augSeed, o.epoch, start * 3, n * 3) : null;
    for (let k = 0; k < n; k++) {
      const i = order ? order[start + k]! : start + k;
      y[k] = ds.labels[i]!;
      const src = i * per;
      const dst = k * per;
      if (!rnd) {
        for (let ch = 0; ch < c; ch++) {
          const a = scale[ch]!;
          const s = shift[ch]!;
          const base = ch * plane;
          for (let p = 0; p < plane; p++) x[dst + base + p] = ds.images[src + base + p]! * a + s;
        }
        continue;
      }
      const span = 2 * AUGMENT_PAD + 1;
      const dy = Math.min(span - 1, Math.floor(rnd[3 * k]! * span)) - AUGMENT_PAD;
      const dx = Math.min(span - 1, Math.floor(rnd[3 * k + 1]! * span)) - AUGMENT_PAD;
      const flip = rnd[3 * k + 2]! < 0.5;
      for (let ch = 0; ch < c; ch++) {
        const a = scale[ch]!;
        const s = shift[ch]!;
        const base = ch * plane;
        for (let yy = 0; yy < h; yy++) {
          const sy = yy + dy;
          for (let xx = 0; xx < w; xx++) {
            const sx = (flip ? w - 1 - xx : xx) + dx;
            const pix = sy >= 0 && sy < h && sx >= 0 && sx < w ? ds.images[src + base + sy * w + sx]! : 0;
            x[dst + base + yy * w + xx] = pix * a + s;
          }
        }
      }
    }
    yield { x, y, n, index: b };
  }
}
