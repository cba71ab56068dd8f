/**
 * CIFAR-10 in its binary format: data_batch_1..5.bin and test_batch.bin, each a sequence of
 * 3073-byte records (label byte, then 32x32 red, green and blue planes), in a directory or its
 * `cifar-10-batches-bin/` subfolder. Uses whichever training batches are present.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from '../errors.js';
import type { Dataset, TrainTest } from './dataset.js';
import { readBytes } from './idx.js';

export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
export const CIFAR_RECORD = 3073;
const PIXELS = 3 * 32 * 32;

/** Parse one binary batch; DataError naming the file for a size that is not whole records or a bad label. */
export function parseCifarBatch(buf: Uint8Array, file: string): { images: Uint8Array; labels: Uint8Array; count: number } {
  if (buf.length === 0) throw new DataError(`${file}: empty file (expected 3073-byte CIFAR-10 records)`);
  if (buf.length % CIFAR_RECORD !== 0) {
    throw new DataError(
      `${file}: size ${buf.length} bytes is not a whole number of 3073-byte CIFAR-10 records (truncated or not a CIFAR-10 binary batch)`,
    );
  }
  const count = buf.length / CIFAR_RECORD;
  const images = new Uint8Array(count * PIXELS);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const r = i * CIFAR_RECORD;
    const y = buf[r]!;
    if (y > 9) throw new DataError(`${file}: record ${i} has label ${y}, expected 0-9 (not a CIFAR-10 binary batch?)`);
    labels[i] = y;
    images.set(buf.subarray(r + 1, r + CIFAR_RECORD), i * PIXELS);
  }
  return { images, labels, count };
}

function concatBatches(parts: { images: Uint8Array; labels: Uint8Array; count: number }[]): { images: Uint8Array; labels: Uint8Array; count: number } {
  const count = parts.reduce((s, p) => s + p.count, 0);
  const images = new Uint8Array(count * PIXELS);
  const labels = new Uint8Array(count);
  let k = 0;
  for (const p of parts) {
    images.set(p.images, k * PIXELS);
    labels.set(p.labels, k);
    k += p.count;
  }
  return { images, labels, count };
}

export function loadCifar10(dir: string | undefined): TrainTest {
  if (dir === undefined) throw new DataError('cifar10: no data directory given; pass --data-dir with data_batch_*.bin and test_batch.bin');
  if (!existsSync(dir)) throw new DataError(`${dir}: data directory not found`);
  const d = !existsSync(join(dir, 'test_batch.bin')) && existsSync(join(dir, 'cifar-10-batches-bin')) ? join(dir, 'cifar-10-batches-bin') : dir;
  const trainFiles = [1, 2, 3, 4, 5].map((i) => join(d, `data_batch_${i}.bin`)).filter((f) => existsSync(f));
  if (trainFiles.length === 0) throw new DataError(`${join(d, 'data_batch_1.bin')}: file not found (no CIFAR-10 training batches in ${d})`);
  const testFile = join(d, 'test_batch.bin');
  const train = concatBatches(trainFiles.map((f) => parseCifarBatch(readBytes(f), f)));
  const test = parseCifarBatch(readBytes(testFile), testFile);
  let names = CIFAR10_CLASSES;
  const meta = join(d, 'batches.meta.txt');
  if (existsSync(meta)) {
    const lines = readFileSync(meta, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
    if (lines.length === 10) names = lines;
  }
  const mk = (p: { images: Uint8Array; labels: Uint8Array; count: number }, source: string): Dataset => ({
    source,
    ...p,
    shape: [3, 32, 32],
    classes: 10,
    classNames: names,
  });
  return { name: 'cifar10', train: mk(train, trainFiles.length === 1 ? trainFiles[0]! : `${d} (${trainFiles.length} training batches)`), test: mk(test, testFile) };
}
