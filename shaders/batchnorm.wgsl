// Batch normalization over [N, C, S] per channel. Statistics are two-pass (mean, then the mean of
// squared deviations) like the cpu reference. Each pass is a grid of workgroups, one per (channel,
// part of the batch), each a tree reduction in workgroup memory writing one partial; a small
// finalize kernel sums a channel's partials. Splitting the batch keeps every SM/core busy when
// channels are few, and lets the host bind a huge input window by window.

override WG: u32 = 256u;

// #include grid

// #include magic-div

// c channels of s values per sample; m_s, m_c: magic pairs for dividing by s and c.
struct BnParams {
  batches: u32, per_part: u32, parts_here: u32, part_base: u32,
  parts: u32, x_shift: u32, count: f32, eps: f32,
  c: u32, s: u32, m_s: vec2<u32>,
  m_c: vec2<u32>, _p0: vec2<u32>,
}

fn channel_of(i: u32) -> u32 {
  let q = fdiv(i, P.m_s);
  return q - fdiv(q, P.m_c) * P.c;
}

@group(0) @binding(0) var<uniform> P: BnParams;

var<workgroup> s1: array<f32, WG>;
var<workgroup> s2: array<f32, WG>;

fn tree1(lid: u32) {
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    if (lid < s) { s1[lid] += s1[lid + s]; }
    workgroupBarrier();
  }
}

fn tree2(lid: u32) {
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    if (lid < s) {
      s1[lid] += s1[lid + s];
      s2[lid] += s2[lid + s];
    }
    workgroupBarrier();
  }
}

// The (channel, part) of this workgroup and the first element of its slice; invocations walk the
// slice's (batch, spatial) pairs as j0 + a*step0, j1 + b*step1.
struct Slice { c: u32, part: u32, n0: u32, n1: u32, j0: u32, step0: u32, j1: u32, step1: u32 }

fn slice_of(wg: u32, lid: u32) -> Slice {
  var sl: Slice;
  sl.c = wg / P.parts_here;
  sl.part = wg % P.parts_here;
  sl.n0 = sl.part * P.per_part;
  sl.n1 = min(P.batches, sl.n0 + P.per_part);
  sl.j0 = 0u;
  sl.step0 = 1u;
  sl.j1 = lid;
  sl.step1 = WG;
  if (P.s < WG) {
    let per = WG / P.s;
    sl.j0 = select(lid / P.s, P.batches, lid >= per * P.s);
    sl.j1 = lid % P.s;
    sl.step0 = per;
    sl.step1 = P.s;
  }
  return sl;
}

@group(0) @binding(1) var<storage, read> sx: array<f32>;
@group(0) @binding(2) var<storage, read_write> spart: array<f32>;

@compute @workgroup_size(WG)
fn sum_partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let wg = workgroup_index(wid, nwg);
  if (wg >= P.c * P.parts_here) { return; }
  let sl = slice_of(wg, lid);
  var acc = 0.0;
  for (var n = sl.n0 + sl.j0; n < sl.n1; n += sl.step0) {
    let row = P.x_shift + (n * P.c + sl.c) * P.s;
    for (var s = sl.j1; s < P.s; s += sl.step1) { acc += sx[row + s]; }
  }
  s1[lid] = acc;
  tree1(lid);
  if (lid == 0u) { spart[sl.c * P.parts + P.part_base + sl.part] = s1[0]; }
}

@group(0) @binding(1) var<storage, read> qx: array<f32>;
@group(0) @binding(2) var<storage, read> qmean: array<f32>;
@group(0) @binding(3) var<storage, read_write> qpart: array<f32>;

@compute @workgroup_size(WG)
fn sq_partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let wg = workgroup_index(wid, nwg);
  if (wg >= P.c * P.parts_here) { return; }
  let sl = slice_of(wg, lid);
  let mu = qmean[sl.c];
  var acc = 0.0;
  for (var n = sl.n0 + sl.j0; n < sl.n1; n += sl.step0) {
    let row = P.x_shift + (n * P.c + sl.c) * P.s;
    for (var s = sl.j1; s < P.s; s += sl.step1) {
      let d = qx[row + s] - mu;
      acc += d * d;
    }
  }
  s1[lid] = acc;
  tree1(lid);
  if (lid == 0u) { qpart[sl.c * P.parts + P.part_base + sl.part] = s1[0]; }
}

@group(0) @binding(1) var<storage, read> fpart: array<f32>;
@group(0) @binding(2) var<storage, read_write> fout: array<f32>;

// out[c] = (sum of the channel's partials) / count
@compute @workgroup_size(64)
fn finalize(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= P.c) { return; }
  var acc = 0.0;
  for (var p = 0u; p < P.parts; p++) { acc += fpart[c * P.parts + p]; }
  fout[c] = acc / P.count;
}

@group(0) @binding(1) var<storage, read> nx: array<f32>;
@group(0) @binding(2) var<storage, read> nmean: array<f32>;
@group(0) @binding(3) var<storage, read> nvar: array<f32>;
@group(0) @binding(4) var<storage, read> ngamma: array<f32>;
@group(0) @binding(5) var<storage, read> nbeta: array<f32>;
@group(0) @binding(6) var<storage, read_write> ny: array<f32>;

// y = (x - mean) * gamma / sqrt(var + eps) + beta
@compute @workgroup_size(WG)
fn normalize(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let total = P.batches * P.c * P.s;
  let wg = workgroup_index(wid, nwg);
  for (var k = 0u; k < 4u; k++) {
    let i = (wg * 4u + k) * WG + lid;
    if (i >= total) { return; }
    let c = channel_of(i);
    let ga = ngamma[c] / sqrt(nvar[c] + P.eps);
    ny[P.x_shift + i] = (nx[P.x_shift + i] - nmean[c]) * ga + nbeta[c];
  }
}

@group(0) @binding(1) var<storage, read> bx: array<f32>;
@group(0) @binding(2) var<storage, read> bgy: array<f32>;
@group(0) @binding(3) var<storage, read> bmean: array<f32>;
@group(0) @binding(4) var<storage, read> bvar: array<f32>;
@group(0) @binding(5) var<storage, read_write> bpart: array<f32>;

// Partials of sum(gy) (first half of bpart) and sum(gy * xhat) (second half).
@compute @workgroup_size(WG)
fn bwd_partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let wg = workgroup_index(wid, nwg);
  if (wg >= P.c * P.parts_here) { return; }
  let sl = slice_of(wg, lid);
  let mu = bmean[sl.c];
  let inv = 1.0 / sqrt(bvar[sl.c] + P.eps);
  var a = 0.0;
  var b = 0.0;
  for (var n = sl.n0 + sl.j0; n < sl.n1; n += sl.step0) {
    let row = P.x_shift + (n * P.c + sl.c) * P.s;
    for (var s = sl.j1; s < P.s; s += sl.step1) {
      let g = bgy[row + s];
      a += g;
      b += g * (bx[row + s] - mu) * inv;
    }
  }
  s1[lid] = a;
  s2[lid] = b;
  tree2(lid);
  if (lid == 0u) {
    let slot = sl.c * P.parts + P.part_base + sl.part;
    bpart[slot] = s1[0];
    bpart[P.c * P.parts + slot] = s2[0];
  }
}

@group(0) @binding(1) var<storage, read> dx_x: array<f32>;
@group(0) @binding(2) var<storage, read> dx_gy: array<f32>;
@group(0) @binding(3) var<storage, read> dx_mean: array<f32>;
@group(0) @binding(4) var<storage, read> dx_var: array<f32>;
@group(0) @binding(5) var<storage, read> dx_gamma: array<f32>;
@group(0) @binding(6) var<storage, read> dx_sg: array<f32>;
@group(0) @binding(7) var<storage, read> dx_sgx: array<f32>;
@group(0) @binding(8) var<storage, read_write> dx_out: array<f32>;

// dx = gamma * invstd / M * (M*gy - sum(gy) - xhat * sum(gy*xhat))
@compute @workgroup_size(WG)
fn bwd_dx(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let total = P.batches * P.c * P.s;
  let wg = workgroup_index(wid, nwg);
  for (var k = 0u; k < 4u; k++) {
    let i = (wg * 4u + k) * WG + lid;
    if (i >= total) { return; }
    let c = channel_of(i);
    let inv = 1.0 / sqrt(dx_var[c] + P.eps);
    let f = dx_gamma[c] * inv / P.count;
    let xhat = (dx_x[P.x_shift + i] - dx_mean[c]) * inv;
    dx_out[P.x_shift + i] = f * (P.count * dx_gy[P.x_shift + i] - dx_sg[c] - xhat * dx_sgx[c]);
  }
}

@group(0) @binding(1) var<storage, read> gpart: array<f32>;
@group(0) @binding(2) var<storage, read_write> gsg: array<f32>;
@group(0) @binding(3) var<storage, read_write> gsgx: array<f32>;

// dbeta = sum(gy) and dgamma = sum(gy * xhat) from the partials.
@compute @workgroup_size(64)
fn finalize_bwd(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= P.c) { return; }
  var a = 0.0;
  var b = 0.0;
  for (var p = 0u; p < P.parts; p++) {
    a += gpart[c * P.parts + p];
    b += gpart[P.c * P.parts + c * P.parts + p];
  }
  gsg[c] = a;
  gsgx[c] = b;
}
