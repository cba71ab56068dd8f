/** Elementwise kernels: unary, binary (same shape / scalar / broadcast) and where. */
import type { BinaryOp, TensorRef, UnaryOp } from '../backend.js';
import { broadcastStrides, sizeOf, stridesOf, type Shape } from '../../shape.js';
import { coalesce, linearChunks } from './plan.js';
import { contiguous, dimsWords, magic, strided, VPT, WG, Words } from './launch.js';
import { kernel, type GpuStorage, type Runtime } from './runtime.js';
import { fillWords } from './fill.js';
import { BINARY_CODE, COMPARISON_OPS, UNARY_CODE } from '../opcodes.js';

const K_UNARY = kernel('elementwise', 'unary', 'rw');
const K_BINARY = kernel('elementwise', 'binary', 'rrw');
const K_SCALAR = kernel('elementwise', 'binary_scalar', 'rw');
const K_STRIDED = kernel('elementwise', 'binary_strided', 'rrw');
const K_WHERE = kernel('elementwise', 'where_strided', 'rrrw');
const K_CHANNEL = kernel('elementwise', 'binary_channel', 'rrw');

const f32bits = (v: number): number => new Uint32Array(new Float32Array([v]).buffer)[0]!;

export function unary(rt: Runtime, op: UnaryOp, x: TensorRef, alpha: number): GpuStorage {
  const n = x.storage.length;
  const out = rt.alloc(n, x.dtype);
  contiguous(rt, K_UNARY, { IS_INT: x.dtype === 'int32' }, [x.storage, out], n, (n4) =>
    new Words().u32(n4, UNARY_CODE[op]).f32(alpha).done(),
  );
  return out;
}

/** The float32 neighbour of float32 `f` towards +inf (dir 1) or -inf (dir -1). */
function f32Step(f: number, dir: 1 | -1): number {
  if (f === 0) return dir * 1.401298464324817e-45;
  const b = new Float32Array([f]);
  const u = new Int32Array(b.buffer);
  u[0]! += (f > 0) === (dir > 0) ? 1 : -1;
  return b[0]!;
}

const FLIP: Partial<Record<BinaryOp, BinaryOp>> = { gt: 'lt', ge: 'le', lt: 'gt', le: 'ge' };

/**
 * Rewrite a comparison of float32 data with a double scalar as `x op' s'` with s' a float32, so
 * it decides exactly as the float64 reference does: with lo < s < hi the float32 neighbours of s,
 * x > s and x >= s mean x > lo; x < s and x <= s mean x < hi; x == s never holds.
 */
function exactComparison(op: BinaryOp, s: number, left: boolean): { op: BinaryOp; s: number } | { constant: number } {
  const o = left ? (FLIP[op] ?? op) : op;
  const f = Math.fround(s);
  if (Number.isNaN(s)) return { constant: o === 'ne' ? 1 : 0 };
  if (f === s) return { op: o, s };
  const lo = f < s ? f : f32Step(f, -1);
  const hi = f > s ? f : f32Step(f, 1);
  switch (o) {
    case 'gt': case 'ge': return { op: 'gt', s: lo };
    case 'lt': case 'le': return { op: 'lt', s: hi };
    default: return { constant: o === 'ne' ? 1 : 0 };
  }
}

export function binaryScalar(rt: Runtime, op: BinaryOp, x: TensorRef, s: number, left: boolean): GpuStorage {
  const n = x.storage.length;
  const out = rt.alloc(n, x.dtype);
  if (x.dtype === 'int32') {
    const exact = Number.isInteger(s) && Math.abs(s) <= 2147483647;
    contiguous(rt, K_SCALAR, { IS_INT: true }, [x.storage, out], n, (n4) =>
      new Words().u32(n4, BINARY_CODE[op], exact ? s | 0 : f32bits(s), left ? 1 : 0, exact ? 0 : 1).done(),
    );
    return out;
  }
  const cmp = (COMPARISON_OPS as readonly BinaryOp[]).includes(op);
  const e = cmp ? exactComparison(op, s, left) : { op, s };
  if ('constant' in e) {
    fillWords(rt, out, n, f32bits(e.constant));
    return out;
  }
  contiguous(rt, K_SCALAR, { IS_INT: false }, [x.storage, out], n, (n4) =>
    new Words().u32(n4, BINARY_CODE[e.op], f32bits(e.s), left && !cmp ? 1 : 0, 0).done(),
  );
  return out;
}

export function binary(rt: Runtime, op: BinaryOp, a: TensorRef, b: TensorRef, outShape: Shape): GpuStorage {
  const n = sizeOf(outShape);
  const out = rt.alloc(n, a.dtype);
  const isInt = a.dtype === 'int32';
  const c = coalesce(outShape, [stridesOf(outShape), broadcastStrides(a.shape, outShape), broadcastStrides(b.shape, outShape)]);
  if (c.shape.length === 1 && c.strides[1]![0] === 1 && c.strides[2]![0] === 1) {
    contiguous(rt, K_BINARY, { IS_INT: isInt }, [a.storage, b.storage, out], n, (n4) => new Words().u32(n4, BINARY_CODE[op]).done());
    return out;
  }
  if (channelBroadcast(rt, op, a, b, n, c, isInt, out)) return out;
  const ops = [
    { strides: c.strides[1]!, base: 0, length: a.storage.length },
    { strides: c.strides[2]!, base: 0, length: b.storage.length },
    { strides: c.strides[0]!, base: 0, length: n },
  ];
  strided(rt, K_STRIDED, { IS_INT: isInt }, [a.storage, b.storage, out], c.shape, ops, (ch, cnt) =>
    dimsWords(new Words().u32(cnt, ch.bases[2]!, ch.bases[0]!, ch.bases[1]!, 0, ch.shape.length, BINARY_CODE[op], 0), ch.shape)
      .vec(ch.strides[0]!, 2).vec(ch.strides[1]!, 2).vec([], 2).done(),
  );
  return out;
}

/**
 * One operand has the output's layout and the other varies along a single dim of it (after
 * coalescing: shape [.., C, inner] with strides [.., 1, 0] or [C] with stride [1]): the fast
 * path for bias adds, per-channel scales and row vectors.
 */
function channelBroadcast(
  rt: Runtime, op: BinaryOp, a: TensorRef, b: TensorRef, n: number, c: { shape: number[]; strides: number[][] }, isInt: boolean, out: GpuStorage,
): boolean {
  const dense = c.strides[0]!;
  const isDense = (s: number[]): boolean => s.every((v, i) => v === dense[i]);
  const small = (s: number[]): number => {
    // the one dim along which s moves with stride 1, every other stride 0; -1 if not that form
    const moving = s.map((v, i) => (v !== 0 ? i : -1)).filter((i) => i >= 0);
    return moving.length === 1 && s[moving[0]!] === 1 ? moving[0]! : -1;
  };
  let x: TensorRef;
  let v: TensorRef;
  let left: boolean;
  let dim: number;
  if (isDense(c.strides[1]!) && (dim = small(c.strides[2]!)) >= 0) {
    x = a; v = b; left = false;
  } else if (isDense(c.strides[2]!) && (dim = small(c.strides[1]!)) >= 0) {
    x = b; v = a; left = true;
  } else {
    return false;
  }
  const C = c.shape[dim]!;
  const inner = c.shape.slice(dim + 1).reduce((p, d) => p * d, 1);
  if (v.storage.length > rt.lim.maxElems) return false;
  for (const ch of linearChunks(n, rt.lim)) {
    const n4 = Math.ceil(ch.length / 4);
    const w = new Words().u32(n4, BINARY_CODE[op], C, inner, ...magic(inner), ...magic(C), left ? 1 : 0, ch.start, 0, 0).done();
    rt.dispatch(K_CHANNEL, { WG, VPT, IS_INT: isInt }, w, [rt.bind(x.storage, ch), rt.bind(v.storage), rt.bind(out, ch)], rt.grid(Math.ceil(n4 / (WG * VPT))));
  }
  return true;
}

export function where(rt: Runtime, cond: TensorRef, a: TensorRef, b: TensorRef, outShape: Shape): GpuStorage {
  const n = sizeOf(outShape);
  const out = rt.alloc(n, a.dtype);
  const c = coalesce(outShape, [
    stridesOf(outShape), broadcastStrides(cond.shape, outShape), broadcastStrides(a.shape, outShape), broadcastStrides(b.shape, outShape),
  ]);
  const ops = [
    { strides: c.strides[1]!, base: 0, length: cond.storage.length },
    { strides: c.strides[2]!, base: 0, length: a.storage.length },
    { strides: c.strides[3]!, base: 0, length: b.storage.length },
    { strides: c.strides[0]!, base: 0, length: n },
  ];
  strided(rt, K_WHERE, { COND_INT: cond.dtype === 'int32' }, [cond.storage, a.storage, b.storage, out], c.shape, ops, (ch, cnt) =>
    dimsWords(new Words().u32(cnt, ch.bases[3]!, ch.bases[0]!, ch.bases[1]!, ch.bases[2]!, ch.shape.length, 0, 0), ch.shape)
      .vec(ch.strides[0]!, 2).vec(ch.strides[1]!, 2).vec(ch.strides[2]!, 2).done(),
  );
  return out;
}
