/**
 * The safetensors format (https://huggingface.co/docs/safetensors), written and read here so that
 * checkpoints load in PyTorch with `safetensors.torch.load_file`:
 *   8 bytes   little-endian u64 N, the header length
 *   N bytes   UTF-8 JSON: { name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__": {str: str} },
 *             padded with spaces to a multiple of 8
 *   rest      the tensors' raw little-endian bytes; offsets are relative to the start of this section
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DType, TypedArray } from '../dtype.js';
import { DataError } from '../errors.js';
import type { Tensor } from '../tensor.js';

export interface HostTensor {
  dtype: DType;
  shape: number[];
  data: TypedArray;
}

const CODES: Record<DType, string> = { float32: 'F32', float64: 'F64', int32: 'I32' };
const FROM_CODE: Record<string, DType> = { F32: 'float32', F64: 'float64', I32: 'int32' };
const BYTES: Record<DType, number> = { float32: 4, float64: 8, int32: 4 };

/** Serialize host tensors (in the given order) and string metadata. */
export function encodeSafetensors(tensors: Record<string, HostTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new DataError(`safetensors: '${name}' has ${t.data.length} values for shape [${t.shape}]`);
    const bytes = n * BYTES[t.dtype];
    header[name] = { dtype: CODES[t.dtype], shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  const enc = new TextEncoder();
  let hb = enc.encode(json);
  const padded = Math.ceil(hb.length / 8) * 8;
  if (padded !== hb.length) {
    json += ' '.repeat(padded - hb.length);
    hb = enc.encode(json);
  }
  const out = new Uint8Array(8 + hb.length + offset);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  let p = 8 + hb.length;
  for (const t of Object.values(tensors)) {
    const d = t.data;
    if (t.dtype === 'float32') for (let i = 0; i < d.length; i++, p += 4) dv.setFloat32(p, d[i]!, true);
    else if (t.dtype === 'float64') for (let i = 0; i < d.length; i++, p += 8) dv.setFloat64(p, d[i]!, true);
    else for (let i = 0; i < d.length; i++, p += 4) dv.setInt32(p, d[i]!, true);
  }
  return out;
}

/** Parse a safetensors buffer; `file` names the source in errors. */
export function decodeSafetensors(buf: Uint8Array, file: string): { tensors: Record<string, HostTensor>; metadata: Record<string, string> } {
  if (buf.length < 8) throw new DataError(`${file}: not a safetensors file (${buf.length} bytes, shorter than the 8-byte header length)`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = Number(dv.getBigUint64(0, true));
  if (n < 2 || 8 + n > buf.length) throw new DataError(`${file}: header length ${n} does not fit the file size ${buf.length} (truncated or not safetensors)`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(8, 8 + n))) as Record<string, unknown>;
  } catch (e) {
    throw new DataError(`${file}: header is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new DataError(`${file}: header is not a JSON object`);
  const base = 8 + n;
  const dataLen = buf.length - base;
  const metadata: Record<string, string> = {};
  const tensors: Record<string, HostTensor> = {};
  let covered = 0;
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      for (const [k, v] of Object.entries((entry ?? {}) as Record<string, unknown>)) {
        if (typeof v !== 'string') throw new DataError(`${file}: metadata value '${k}' is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = typeof e.dtype === 'string' ? FROM_CODE[e.dtype] : undefined;
    if (!dtype) throw new DataError(`${file}: tensor '${name}' has unsupported dtype ${JSON.stringify(e.dtype)} (supported: F32, F64, I32)`);
    if (!Array.isArray(e.shape) || e.shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new DataError(`${file}: tensor '${name}' has an invalid shape ${JSON.stringify(e.shape)}`);
    }
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !Number.isInteger(off[0]) || !Number.isInteger(off[1])) {
      throw new DataError(`${file}: tensor '${name}' has invalid data_offsets ${JSON.stringify(off)}`);
    }
    const [b, end] = off as [number, number];
    const shape = e.shape as number[];
    const count = shape.reduce((a, c) => a * c, 1);
    if (b < 0 || end < b || end > dataLen) {
      throw new DataError(`${file}: tensor '${name}' spans bytes ${b}-${end} but the data section has ${dataLen} bytes (truncated?)`);
    }
    if (end - b !== count * BYTES[dtype]) {
      throw new DataError(`${file}: tensor '${name}' has ${end - b} bytes for ${dtype} [${shape}] (${count * BYTES[dtype]} expected)`);
    }
    covered += end - b;
    const p0 = base + b;
    const data: TypedArray = dtype === 'float64' ? new Float64Array(count) : dtype === 'int32' ? new Int32Array(count) : new Float32Array(count);
    if (dtype === 'float32') for (let i = 0; i < count; i++) data[i] = dv.getFloat32(p0 + 4 * i, true);
    else if (dtype === 'float64') for (let i = 0; i < count; i++) data[i] = dv.getFloat64(p0 + 8 * i, true);
    else for (let i = 0; i < count; i++) data[i] = dv.getInt32(p0 + 4 * i, true);
    tensors[name] = { dtype, shape, data };
  }
  if (covered !== dataLen) throw new DataError(`${file}: the tensors cover ${covered} of the ${dataLen} data bytes (corrupt or overlapping offsets)`);
  return { tensors, metadata };
}

/** Write `bytes` to `path` atomically: a temp file in the same directory, then rename. */
export function writeFileAtomic(path: string, bytes: Uint8Array | string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Read tensors to the host (awaiting device reads). */
export async function toHost(tensors: Record<string, Tensor>): Promise<Record<string, HostTensor>> {
  const out: Record<string, HostTensor> = {};
  for (const [k, t] of Object.entries(tensors)) out[k] = { dtype: t.dtype, shape: [...t.shape], data: await t.data() };
  return out;
}

/** Save tensors and metadata to a .safetensors file, atomically. */
export async function saveSafetensors(path: string, tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): Promise<void> {
  writeFileAtomic(path, encodeSafetensors(await toHost(tensors), metadata));
}

/** Load a .safetensors file to host tensors; DataError naming the file when missing or corrupt. */
export function loadSafetensors(path: string): { tensors: Record<string, HostTensor>; metadata: Record<string, string> } {
  let buf: Uint8Array;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new DataError(`${path}: cannot read checkpoint (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return decodeSafetensors(buf, path);
}
