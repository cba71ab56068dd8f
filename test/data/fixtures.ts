/** Small IDX and CIFAR-10 files written by the tests themselves. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

export function tempDir(prefix = 'gradreg-data-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** An IDX file of unsigned bytes with the given dims. */
export function idxBytes(dims: number[], values: ArrayLike<number>): Uint8Array {
  const header = new Uint8Array(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  const dv = new DataView(header.buffer);
  dims.forEach((d, i) => dv.setUint32(4 + 4 * i, d, false));
  const out = new Uint8Array(header.length + values.length);
  out.set(header);
  out.set(Array.from(values), header.length);
  return out;
}

/** Pixel value of image i at flat position p: a pattern that encodes the label, so tests can tell images apart. */
export function pixel(i: number, label: number, p: number): number {
  return (label * 20 + i * 3 + p) % 256;
}

/**
 * A tiny MNIST-layout directory: `perClass` training and `testPerClass` test images of every class,
 * size h x w, labels cycling 0..9. Optionally gzipped.
 */
export function writeIdxDataset(dir: string, o: { perClass: number; testPerClass: number; h?: number; w?: number; gzip?: boolean }): void {
  mkdirSync(dir, { recursive: true });
  const h = o.h ?? 28;
  const w = o.w ?? 28;
  for (const [prefix, per] of [['train', o.perClass], ['t10k', o.testPerClass]] as const) {
    const n = per * 10;
    const labels = Array.from({ length: n }, (_, i) => i % 10);
    const px = new Uint8Array(n * h * w);
    for (let i = 0; i < n; i++) for (let p = 0; p < h * w; p++) px[i * h * w + p] = pixel(i, labels[i]!, p);
    const files: [string, Uint8Array][] = [
      [`${prefix}-images-idx3-ubyte`, idxBytes([n, h, w], px)],
      [`${prefix}-labels-idx1-ubyte`, idxBytes([n], labels)],
    ];
    for (const [name, bytes] of files) {
      if (o.gzip) writeFileSync(join(dir, `${name}.gz`), gzipSync(bytes));
      else writeFileSync(join(dir, name), bytes);
    }
  }
}

/** CIFAR-10 binary records for the given labels; pixel bytes follow `pixel`. */
export function cifarBytes(labels: number[], first = 0): Uint8Array {
  const out = new Uint8Array(labels.length * 3073);
  labels.forEach((y, k) => {
    out[k * 3073] = y;
    for (let p = 0; p < 3072; p++) out[k * 3073 + 1 + p] = pixel(first + k, y, p);
  });
  return out;
}

/** data_batch_1.bin (+ data_batch_2.bin) and test_batch.bin with `perClass` images of each class per training batch. */
export function writeCifarDataset(dir: string, o: { perClass: number; testPerClass: number; batches?: number }): void {
  mkdirSync(dir, { recursive: true });
  const labels = (per: number): number[] => Array.from({ length: per * 10 }, (_, i) => i % 10);
  for (let b = 1; b <= (o.batches ?? 1); b++) writeFileSync(join(dir, `data_batch_${b}.bin`), cifarBytes(labels(o.perClass), 1000 * b));
  writeFileSync(join(dir, 'test_batch.bin'), cifarBytes(labels(o.testPerClass)));
}
