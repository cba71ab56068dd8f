/**
 * The IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/), uncompressed:
 *   bytes 0-1  zero;  byte 2  element type (0x08 = unsigned byte);  byte 3  number of dims d
 *   d big-endian u32 dims, then the elements row-major.
 * This part needs no file system (the browser build uses it); idx.ts adds files and gunzip.
 */
import { DataError } from '../errors.js';
import type { Dataset } from './dataset.js';

export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
export const FASHION_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** Parse an uncompressed IDX buffer of unsigned bytes; `expectDims` checks the rank. */
export function parseIdxBytes(buf: Uint8Array, file: string, expectDims?: number): IdxArray {
  if (buf.length < 4) throw new DataError(`${file}: truncated IDX file (${buf.length} bytes, no header)`);
  const magic = ((buf[0]! << 24) | (buf[1]! << 16) | (buf[2]! << 8) | buf[3]!) >>> 0;
  const hex = `0x${magic.toString(16).padStart(8, '0')}`;
  if (buf[0] !== 0 || buf[1] !== 0) throw new DataError(`${file}: bad magic number ${hex} (not an IDX file)`);
  if (buf[2] !== 0x08) throw new DataError(`${file}: bad magic number ${hex}: element type 0x${buf[2]!.toString(16)} is not 0x08 (unsigned byte)`);
  const nd = buf[3]!;
  if (nd < 1 || (expectDims !== undefined && nd !== expectDims)) {
    throw new DataError(`${file}: bad magic number ${hex}: ${nd} dims, expected ${expectDims ?? 'at least 1'}`);
  }
  const headerLen = 4 + 4 * nd;
  if (buf.length < headerLen) throw new DataError(`${file}: truncated IDX header (${buf.length} of ${headerLen} bytes)`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < nd; i++) dims.push(dv.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  const have = buf.length - headerLen;
  if (have < count) {
    throw new DataError(`${file}: truncated: the header promises ${count} values (dims ${dims.join('x')}) but the file holds ${have}`);
  }
  if (have > count) throw new DataError(`${file}: ${have - count} unexpected bytes after the ${count} values (dims ${dims.join('x')})`);
  return { dims, data: buf.subarray(headerLen) };
}


/** A dataset from parsed image [N, H, W] and label [N] IDX arrays; the sources name the files in messages. */
export function idxDataset(img: IdxArray, lbl: IdxArray, classNames: readonly string[], imgSource: string, lblSource: string): Dataset {
  if (img.dims.length !== 3) throw new DataError(`${imgSource}: ${img.dims.length} dims, expected 3 (images, rows, columns)`);
  const [n, h, w] = img.dims as [number, number, number];
  if (lbl.dims[0] !== n) throw new DataError(`${lblSource}: ${lbl.dims[0]} labels for the ${n} images of ${imgSource}`);
  for (let i = 0; i < n; i++) {
    if (lbl.data[i]! >= classNames.length) throw new DataError(`${lblSource}: label ${lbl.data[i]} at position ${i} is not a class 0-${classNames.length - 1}`);
  }
  return {
    source: imgSource,
    images: img.data,
    labels: lbl.data,
    count: n,
    shape: [1, h, w],
    classes: classNames.length,
    classNames,
  };
}
