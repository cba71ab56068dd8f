/**
 * Host-side draws from the same Philox 4x32-10 generator as the tensors' random ops, for data
 * order, subsampling and augmentation: a (seed, stream) pair fixes a sequence, read by offset.
 */
import { philoxFill } from '../random/philox.js';

/** `n` uniforms in (0, 1) at elements [offset, offset + n) of the (seed, stream) sequence. */
export function uniforms(seed: number, stream: number, offset: number, n: number): Float64Array {
  const out = new Float64Array(n);
  philoxFill(out, {
    kind: 'uniform',
    a: 0,
    b: 1,
    seedLo: seed % 4294967296 >>> 0,
    seedHi: Math.floor(seed / 4294967296) >>> 0,
    stream,
    offset,
  });
  return out;
}

/** A uniformly random permutation of 0..n-1 (Fisher-Yates driven by Philox). */
export function permutation(n: number, seed: number, stream: number): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  const u = uniforms(seed, stream, 0, n);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.min(i, Math.floor(u[i]! * (i + 1)));
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}
