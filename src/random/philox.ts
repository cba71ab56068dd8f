/**
 * Philox 4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11), the
 * counter-based generator shared by every backend. Element i of a draw with (seed, stream, offset)
 * uses counter [lo32(offset + i), hi32(offset + i), stream, 0] and key [seedLo, seedHi]; the WGSL
 * and CUDA kernels implement exactly this, so a seed gives the same numbers on every device.
 *
 * Mapping of the output words r0, r1 to values:
 *   u(r)      = ((r >>> 8) + 0.5) * 2^-24            in (0, 1), computed in float64; a float32 store
 *                                                   rounds the top half of the range to 24 bits
 *   uniform   = a + (b - a) * u(r0)
 *   normal    = a + b * sqrt(-2 ln u(r0)) * cos(2 pi u(r1))   (Box-Muller)
 *   bernoulli = u(r0) < a ? 1 : 0
 */
import type { RandomParams } from '../backends/backend.js';

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** High 32 bits of the 64-bit product of two u32 values. */
function mulhi(a: number, b: number): number {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const lo = a0 * b0;
  const mid1 = a1 * b0;
  const mid2 = a0 * b1;
  const carry = ((lo >>> 16) + (mid1 & 0xffff) + (mid2 & 0xffff)) >>> 16;
  return (a1 * b1 + (mid1 >>> 16) + (mid2 >>> 16) + carry) >>> 0;
}

/** Philox4x32-10 of one counter; writes the four output words into `out`. */
export function philox4x32(
  c0: number,
  c1: number,
  c2: number,
  c3: number,
  k0: number,
  k1: number,
  out: Uint32Array,
): void {
  for (let r = 0; r < 10; r++) {
    const hi0 = mulhi(M0, c0);
    const lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulhi(M1, c2);
    const lo1 = Math.imul(M1, c2) >>> 0;
    const n0 = (hi1 ^ c1 ^ k0) >>> 0;
    const n2 = (hi0 ^ c3 ^ k1) >>> 0;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

export const TWO_NEG_24 = 1 / 16777216;

export function unitFromWord(r: number): number {
  return ((r >>> 8) + 0.5) * TWO_NEG_24;
}

/** Fill `out` with the draw described by `p` (element i at counter offset + i). */
export function philoxFill(out: { [i: number]: number; length: number }, p: RandomParams): void {
  const words = new Uint32Array(4);
  const offLo = p.offset % 4294967296;
  const offHi = Math.floor(p.offset / 4294967296);
  const seedLo = p.seedLo >>> 0;
  const seedHi = p.seedHi >>> 0;
  const stream = p.stream >>> 0;
  for (let i = 0; i < out.length; i++) {
    const s = offLo + i;
    const c0 = s >>> 0;
    const c1 = (offHi + Math.floor(s / 4294967296)) >>> 0;
    philox4x32(c0, c1, stream, 0, seedLo, seedHi, words);
    const u0 = unitFromWord(words[0]!);
    switch (p.kind) {
      case 'uniform':
        out[i] = p.a + (p.b - p.a) * u0;
        break;
      case 'normal': {
        const u1 = unitFromWord(words[1]!);
        out[i] = p.a + p.b * Math.sqrt(-2 * Math.log(u0)) * Math.cos(2 * Math.PI * u1);
        break;
      }
      case 'bernoulli':
        out[i] = u0 < p.a ? 1 : 0;
        break;
    }
  }
}
