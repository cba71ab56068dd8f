/**
 * The IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/), raw or gzipped:
 *   bytes 0-1  zero;  byte 2  element type (0x08 = unsigned byte);  byte 3  number of dims d
 *   d big-endian u32 dims, then the elements row-major.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { DataError } from '../errors.js';
import { parseIdxBytes, type IdxArray } from './idx-format.js';

export { parseIdxBytes, type IdxArray } from './idx-format.js';

/** Read a whole file, DataError naming it when it is missing or unreadable. */
export function readBytes(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a directory' : code ?? String(e);
    throw new DataError(`${path}: ${why}`);
  }
}

/** Undo gzip when the buffer starts with the gzip magic 1f 8b. */
export function maybeGunzip(buf: Uint8Array, file: string): Uint8Array {
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      return gunzipSync(buf);
    } catch (e) {
      throw new DataError(`${file}: corrupt or truncated gzip data (${e instanceof Error ? e.message : String(e)})`);
    }
  }
  return buf;
}

/** Parse an IDX buffer of unsigned bytes, raw or gzipped; `expectDims` checks the rank. */
export function parseIdx(raw: Uint8Array, file: string, expectDims?: number): IdxArray {
  return parseIdxBytes(maybeGunzip(raw, file), file, expectDims);
}

export function readIdx(path: string, expectDims?: number): IdxArray {
  return parseIdx(readBytes(path), path, expectDims);
}
