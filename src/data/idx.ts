/**
 * The IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/), raw or gzipped:
 *   bytes 0-1  zero;  byte 2  element type (0x08 = unsigned byte);  byte 3  number of dims d
 *   d big-endian u32 dims, then the elements row-major.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { DataError } from '../errors.js';

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

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

/** Parse an IDX buffer of unsigned bytes; `expectDims` checks the rank. */
export function parseIdx(raw: Uint8Array, file: string, expectDims?: number): IdxArray {
  const buf = maybeGunzip(raw, file);
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

export function readIdx(path: string, expectDims?: number): IdxArray {
  return parseIdx(readBytes(path), path, expectDims);
}
