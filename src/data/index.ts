/** Datasets: IDX (MNIST, Fashion-MNIST) and CIFAR-10 binary readers, subsampling, normalization, augmentation, batches. */
import { ArgumentError } from '../errors.js';
import { loadCifar10 } from './cifar.js';
import { channelStats, unitScale, type Normalization, type TrainTest } from './dataset.js';
import { loadIdxDataset } from './mnist.js';

export * from './dataset.js';
export { parseIdx, parseIdxBytes, readIdx, readBytes, maybeGunzip, type IdxArray } from './idx.js';
export { idxDataset } from './idx-format.js';
export { loadIdxDataset, embeddedMnistDir, MNIST_CLASSES, FASHION_CLASSES } from './mnist.js';
export { loadCifar10, parseCifarBatch, CIFAR10_CLASSES, CIFAR_RECORD } from './cifar.js';
export { permutation, uniforms } from './random.js';

export const DATASET_NAMES = ['mnist', 'fashion-mnist', 'cifar10'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

export function isDatasetName(n: string): n is DatasetName {
  return (DATASET_NAMES as readonly string[]).includes(n);
}

/** Load a dataset by name; MNIST defaults to the embedded copy, the others need `dataDir`. */
export function loadDataset(name: string, dataDir?: string): TrainTest {
  switch (name) {
    case 'mnist':
    case 'fashion-mnist':
      return loadIdxDataset(name, dataDir);
    case 'cifar10':
      return loadCifar10(dataDir);
    default:
      throw new ArgumentError(`unknown dataset '${name}' (expected ${DATASET_NAMES.join(', ')})`);
  }
}

/**
 * The default normalization: pixels / 255 for the grayscale sets (as the thesis's TensorFlow
 * pipeline), per-channel standardization with the training set's statistics for CIFAR-10.
 */
export function defaultNormalization(name: string, data: TrainTest): Normalization {
  return name === 'cifar10' ? channelStats(data.train) : unitScale(data.train.shape[0]);
}
