// Reductions over any axes. The host coalesces the input into kept dims (up to 4, giving the output
// index) and at most two reduced groups (r0 outer, r1 inner) with their strides. Large reductions
// run one workgroup per output (or per output and part of r0, for a later pass over the parts),
// each invocation accumulating a strided slice before a tree reduction in workgroup memory; small
// ones run one invocation per output. max/min propagate NaN as the cpu reference does.

override WG: u32 = 256u;

// #include grid
override IS_INT: bool = false;

// #include opcodes

// op: a ReduceOp code (kSum, kMax, kMin)
struct ReduceParams {
  outputs: u32, parts: u32, out_shift: u32, in_shift: u32,
  r0: u32, s0: u32, r1: u32, s1: u32,
  chunk0: u32, kept_rank: u32, op: u32, _p1: u32,
  kshape: vec4<u32>,
  kstride: vec4<u32>,
}

@group(0) @binding(0) var<uniform> P: ReduceParams;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<u32>;

var<workgroup> scratch: array<u32, WG>;

fn identity() -> u32 {
  if (P.op == kSum) { return 0u; }
  if (IS_INT) {
    if (P.op == kMax) { return 0x80000000u; }
    return 0x7fffffffu;
  }
  if (P.op == kMax) { return 0xff800000u; }
  return 0x7f800000u;
}

fn combine(a: u32, v: u32) -> u32 {
  if (IS_INT) {
    let ai = bitcast<i32>(a);
    let vi = bitcast<i32>(v);
    if (P.op == kSum) { return bitcast<u32>(ai + vi); }
    if (P.op == kMax) { return select(a, v, vi > ai); }
    return select(a, v, vi < ai);
  }
  let af = bitcast<f32>(a);
  let vf = bitcast<f32>(v);
  if (P.op == kSum) { return bitcast<u32>(af + vf); }
  // NaN sticks (tested on the bits: compilers may assume x == x).
  if (nan_bits(a)) { return a; }
  if (nan_bits(v)) { return v; }
  if (P.op == kMax) { return select(a, v, vf > af); }
  return select(a, v, vf < af);
}

fn nan_bits(v: u32) -> bool {
  return (v & 0x7fffffffu) > 0x7f800000u;
}

fn kept_offset(o: u32) -> u32 {
  var rem = o;
  var off = 0u;
  for (var d = 3u; d >= 1u; d--) {
    if (d < P.kept_rank) {
      let n = P.kshape[d];
      off += (rem % n) * P.kstride[d];
      rem = rem / n;
    }
  }
  return off + rem * P.kstride[0];
}

@compute @workgroup_size(WG)
fn reduce_wg(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let wg = workgroup_index(wid, nwg);
  if (wg >= P.outputs * P.parts) { return; }
  let o = wg / P.parts;
  let part = wg % P.parts;
  let base = P.in_shift + kept_offset(o);
  let r0a = part * P.chunk0;
  let r0b = min(P.r0, r0a + P.chunk0);
  // Spread the invocations over (r0, r1): along r1 when it is long, else over both.
  var j0 = 0u;
  var step0 = 1u;
  var j1 = lid;
  var step1 = WG;
  if (P.r1 < WG) {
    let per = WG / P.r1;
    j0 = select(lid / P.r1, P.r0, lid >= per * P.r1);
    j1 = lid % P.r1;
    step0 = per;
    step1 = P.r1;
  }
  var acc = identity();
  for (var a = r0a + j0; a < r0b; a += step0) {
    let row = base + a * P.s0;
    for (var b = j1; b < P.r1; b += step1) {
      acc = combine(acc, x[row + b * P.s1]);
    }
  }
  scratch[lid] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    if (lid < s) { scratch[lid] = combine(scratch[lid], scratch[lid + s]); }
    workgroupBarrier();
  }
  if (lid == 0u) { y[P.out_shift + wg] = scratch[0]; }
}

@compute @workgroup_size(WG)
fn reduce_thread(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let o = invocation_index(wid, nwg, lid);
  if (o >= P.outputs) { return; }
  let base = P.in_shift + kept_offset(o);
  var acc = identity();
  if (P.r1 == 1u) {
    // One reduced run: four independent chains, so loop overhead and latency are shared.
    var acc1 = identity();
    var acc2 = identity();
    var acc3 = identity();
    let r4 = P.r0 & ~3u;
    for (var a = 0u; a < r4; a += 4u) {
      let row = base + a * P.s0;
      acc = combine(acc, x[row]);
      acc1 = combine(acc1, x[row + P.s0]);
      acc2 = combine(acc2, x[row + 2u * P.s0]);
      acc3 = combine(acc3, x[row + 3u * P.s0]);
    }
    for (var a = r4; a < P.r0; a++) { acc = combine(acc, x[base + a * P.s0]); }
    acc = combine(combine(acc, acc1), combine(acc2, acc3));
  } else {
    for (var a = 0u; a < P.r0; a++) {
      let row = base + a * P.s0;
      for (var b = 0u; b < P.r1; b++) {
        acc = combine(acc, x[row + b * P.s1]);
      }
    }
  }
  y[P.out_shift + o] = acc;
}

// ---- argmax / argmin along one axis of an [outer, len, inner] view ----

// arg: an ArgReduceOp code (kArgmax, kArgmin)
struct ArgParams {
  outputs: u32, len: u32, inner: u32, in_shift: u32,
  out_shift: u32, arg: u32, _p1: u32, _p2: u32,
}

@group(0) @binding(0) var<uniform> PA: ArgParams;
@group(0) @binding(1) var<storage, read> ax: array<u32>;
@group(0) @binding(2) var<storage, read_write> ay: array<i32>;

var<workgroup> best_v: array<u32, WG>;
var<workgroup> best_i: array<u32, WG>;

fn is_nan(v: u32) -> bool {
  if (IS_INT) { return false; }
  return nan_bits(v);
}

// True when v beats b (strictly; ties keep the earlier index).
fn beats(v: u32, b: u32) -> bool {
  if (IS_INT) {
    if (PA.arg == kArgmax) { return bitcast<i32>(v) > bitcast<i32>(b); }
    return bitcast<i32>(v) < bitcast<i32>(b);
  }
  if (PA.arg == kArgmax) { return bitcast<f32>(v) > bitcast<f32>(b); }
  return bitcast<f32>(v) < bitcast<f32>(b);
}

@compute @workgroup_size(WG)
fn arg_thread(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let o = invocation_index(wid, nwg, lid);
  if (o >= PA.outputs) { return; }
  let base = PA.in_shift + (o / PA.inner) * PA.len * PA.inner + o % PA.inner;
  var b = ax[base];
  var bi = 0u;
  // The first extremum wins; a NaN counts as the extremum (the first NaN wins), as on the cpu.
  for (var k = 1u; k < PA.len; k++) {
    let v = ax[base + k * PA.inner];
    if ((!is_nan(b) && !is_nan(v) && beats(v, b)) || (is_nan(v) && !is_nan(b))) { b = v; bi = k; }
  }
  ay[PA.out_shift + o] = i32(bi);
}

// Whether candidate (v, vi) wins over (u, ui): NaN first, then the extremum, then the lower index.
fn wins(v: u32, vi: u32, u: u32, ui: u32) -> bool {
  if (vi == 0xffffffffu) { return false; }
  if (ui == 0xffffffffu) { return true; }
  let vn = is_nan(v);
  let un = is_nan(u);
  if (vn || un) { return (vn && !un) || (vn && un && vi < ui); }
  if (beats(v, u)) { return true; }
  if (beats(u, v)) { return false; }
  return vi < ui;
}

@compute @workgroup_size(WG)
fn arg_wg(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let o = workgroup_index(wid, nwg);
  if (o >= PA.outputs) { return; }
  let base = PA.in_shift + (o / PA.inner) * PA.len * PA.inner + o % PA.inner;
  var b = 0u;
  var bi = 0xffffffffu;
  for (var k = lid; k < PA.len; k += WG) {
    let v = ax[base + k * PA.inner];
    if (wins(v, k, b, bi)) { b = v; bi = k; }
  }
  best_v[lid] = b;
  best_i[lid] = bi;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    if (lid < s && wins(best_v[lid + s], best_i[lid + s], best_v[lid], best_i[lid])) {
      best_v[lid] = best_v[lid + s];
      best_i[lid] = best_i[lid + s];
    }
    workgroupBarrier();
  }
  if (lid == 0u) { ay[PA.out_shift + o] = i32(best_i[0]); }
}
