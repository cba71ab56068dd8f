/**
 * The `data` namespace of the browser entry: in-memory datasets, batching and IDX parsing of bytes
 * the page fetched (uncompressed; a server can send them gzip-encoded), without the file readers.
 */
export * from '../data/dataset.js';
export { parseIdxBytes, idxDataset, MNIST_CLASSES, FASHION_CLASSES, type IdxArray } from '../data/idx-format.js';
export { permutation, uniforms } from '../data/random.js';
