// Batched matrix product C[b] = op(A[b]) @ op(B[b]) with broadcast batch dims and transposed
// operands, tiled in workgroup memory with register blocking.
//
// Two kernels: `matmul` for GPUs, tiled in workgroup memory, and `matmul_cpu` for CPU Vulkan
// drivers (lavapipe), register-blocked without workgroup memory (see its comment below).
//
// `matmul`: a workgroup computes a TM x TN tile of C, TM = WY*RM rows and TN = 4*WX columns;
// invocation (lx, ly) owns RM rows and 4 adjacent columns, held as RM vec4 accumulators (8 x 4 =
// 32 floats of registers with RM = 8). Each K step stages a BK-deep slice of A, stored k-major so
// that the RM rows an invocation reads form one broadcast address for its whole row of
// invocations (no bank conflicts), and a BK-deep slice of B as vec4 columns, so each invocation
// reads its 4 columns with one 16-byte load; global loads are coalesced (consecutive invocations,
// consecutive addresses). Per K step an invocation does 4*RM FMAs per (RM + 4) workgroup-memory
// words read.
//
// Fold (flag): when A is the same matrix for every batch entry, the batch is folded into the N dimension
// (column j is column j % L of batch entry j / L), so many small products become one wide one.
// Operands are addressed through strides (a_rs, a_ks, b_ks, b_ns, c_ms, c_ns), which covers the
// transposed operands and lets the host compute C^T = op(B)^T op(A)^T, storing the tile
// transposed, when that orientation gives more columns to spread over invocations.

override WX: u32 = 32u;
override WY: u32 = 1u;
override RM: u32 = 16u;
override BK: u32 = 32u;

// flags: bit 0 = A is stored k-major (stage it row-fastest), bit 1 = FOLD.
// Loop bounds come from uniforms where a constant bound would let the driver's compiler unroll
// them completely: on lavapipe that made one pipeline take tens of seconds to build.
struct MatmulParams {
  m: u32, l: u32, k: u32, ncols: u32,
  a_rs: u32, a_ks: u32, b_ks: u32, b_ns: u32,
  c_ms: u32, c_ns: u32, batch_rank: u32, batch_base: u32,
  win_a: u32, win_b: u32, win_c: u32, flags: u32,
  bshape: vec4<u32>,
  astride: vec4<u32>,
  bstride: vec4<u32>,
  cstride: vec4<u32>,
  a_tile: u32, bk: u32, _p0: u32, _p1: u32,
}

@group(0) @binding(0) var<uniform> P: MatmulParams;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;

var<workgroup> As: array<f32, BK * WY * RM>;
var<workgroup> Bs: array<vec4<f32>, BK * WX>;

// Element offsets of batch entry `b` in A, B and C.
fn batch_offsets(b: u32) -> vec3<u32> {
  var rem = b;
  var o = vec3<u32>(0u);
  for (var j = 1u; j < P.batch_rank; j++) {
    let d = P.batch_rank - j;
    let n = P.bshape[d];
    let c = rem % n;
    rem = rem / n;
    o += c * vec3<u32>(P.astride[d], P.bstride[d], P.cstride[d]);
  }
  return o + rem * vec3<u32>(P.astride[0], P.bstride[0], P.cstride[0]);
}

// Offsets in B and C of global column j (relative to their windows), or a sentinel past the end.
fn column_offsets(j: u32, zb: vec3<u32>) -> vec2<u32> {
  if (j >= P.ncols) { return vec2<u32>(0xffffffffu); }
  if ((P.flags & 2u) != 0u) {
    let bo = batch_offsets(P.batch_base + j / P.l);
    let c = j % P.l;
    return vec2<u32>(bo.y - P.win_b + c * P.b_ns, bo.z - P.win_c + c * P.c_ns);
  }
  return vec2<u32>(zb.y - P.win_b + j * P.b_ns, zb.z - P.win_c + j * P.c_ns);
}

@compute @workgroup_size(WX, WY)
fn matmul(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
  let TM = WY * RM;
  let TN = 4u * WX;
  let NT = WX * WY;
  let m0 = wid.y * TM;
  let n0 = wid.x * TN;
  let fold = (P.flags & 2u) != 0u;
  let a_kmajor = (P.flags & 1u) != 0u;
  var zb = vec3<u32>(0u);
  if (!fold) { zb = batch_offsets(P.batch_base + wid.z); }
  let a_base = zb.x - P.win_a;

  // The columns this invocation stages (TN / NT <= 4 of them).
  let per = TN / NT;
  var load_off: array<u32, 4>;
  for (var t = 0u; t < per; t++) {
    load_off[t] = column_offsets(n0 + lid + t * NT, zb).x;
  }

  var acc: array<vec4<f32>, 32>;
  for (var k0 = 0u; k0 < P.k; k0 += BK) {
    // Stage A[m0 .. m0+TM, k0 .. k0+BK] as As[kk * TM + row].
    for (var e = lid; e < P.a_tile; e += NT) {
      var row: u32;
      var kk: u32;
      if (a_kmajor) { row = e % TM; kk = e / TM; } else { kk = e % BK; row = e / BK; }
      let m = m0 + row;
      let k = k0 + kk;
      var v = 0.0;
      if (m < P.m && k < P.k) { v = A[a_base + m * P.a_rs + k * P.a_ks]; }
      As[kk * TM + row] = v;
    }
    // Stage B[k0 .. k0+BK, n0 .. n0+TN] as vec4 columns Bs[kk * WX + c / 4][c % 4].
    for (var t = 0u; t < per; t++) {
      let c = lid + t * NT;
      let off = load_off[t];
      for (var kk = 0u; kk < P.bk; kk++) {
        let k = k0 + kk;
        var v = 0.0;
        if (off != 0xffffffffu && k < P.k) { v = B[off + k * P.b_ks]; }
        Bs[kk * WX + c / 4u][c % 4u] = v;
      }
    }
    workgroupBarrier();
    let arow = lid3.y * RM;
    let kend = min(P.bk, P.k - k0);
    for (var kk = 0u; kk < kend; kk++) {
      let bv = Bs[kk * WX + lid3.x];
      let ab = kk * TM + arow;
      for (var i = 0u; i < RM; i++) {
        acc[i] = fma(vec4<f32>(As[ab + i]), bv, acc[i]);
      }
    }
    workgroupBarrier();
  }

  var store_off: array<u32, 4>;
  for (var c = 0u; c < 4u; c++) {
    store_off[c] = column_offsets(n0 + lid3.x * 4u + c, zb).y;
  }
  for (var i = 0u; i < RM; i++) {
    let m = m0 + lid3.y * RM + i;
    if (m < P.m) {
      for (var c = 0u; c < 4u; c++) {
        if (store_off[c] != 0xffffffffu) { C[store_off[c] + m * P.c_ms] = acc[i][c]; }
      }
    }
  }
}

// ---- CPU-driver variant: register blocking without workgroup memory ----
// On a CPU Vulkan driver (lavapipe) invocations are the lanes of SIMD registers, workgroup memory
// is ordinary memory behind barriers that cost coroutine switches, a load whose address differs
// per lane is a gather, and one whose address is the same for the whole workgroup is a scalar
// load. So here the RM rows of a tile are shared by the whole workgroup (every A load is
// uniform), each invocation owns 8 columns spaced WX apart (8 gathers of B per k, consecutive
// addresses across invocations), and every loaded value feeds RM x 8 fused multiply-adds held in
// registers. No workgroup memory, no barriers. (Measured on lavapipe: about 2.5x the tiled
// kernel; staging through workgroup memory only adds gathers and scatters there.)
fn store_row(m: u32, v: vec4<f32>, co: vec4<u32>) {
  if (m >= P.m) { return; }
  for (var c = 0u; c < 4u; c++) {
    if (co[c] != 0xffffffffu) { C[co[c] + m * P.c_ms] = v[c]; }
  }
}

@compute @workgroup_size(WX)
fn matmul_cpu(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let m0 = wid.y * RM;
  let jbase = wid.x * WX * 8u + lid;
  let fold = (P.flags & 2u) != 0u;
  var zb = vec3<u32>(0u);
  if (!fold) { zb = batch_offsets(P.batch_base + wid.z); }
  let a_base = zb.x - P.win_a;
  // B offsets of the 8 columns (clamped to the last column) and C offsets (sentinel past the end).
  var bo0: vec4<u32>;
  var bo1: vec4<u32>;
  var co0: vec4<u32>;
  var co1: vec4<u32>;
  for (var c = 0u; c < 4u; c++) {
    let j0 = jbase + c * WX;
    let o0 = column_offsets(min(j0, P.ncols - 1u), zb);
    bo0[c] = o0.x;
    co0[c] = select(0xffffffffu, o0.y, j0 < P.ncols);
    let j1 = jbase + (c + 4u) * WX;
    let o1 = column_offsets(min(j1, P.ncols - 1u), zb);
    bo1[c] = o1.x;
    co1[c] = select(0xffffffffu, o1.y, j1 < P.ncols);
  }
  var acc0: array<vec4<f32>, 16>;
  var acc1: array<vec4<f32>, 16>;
  var koff = 0u;
  for (var k = 0u; k < P.k; k++) {
    let b0 = vec4<f32>(B[bo0.x], B[bo0.y], B[bo0.z], B[bo0.w]);
    let b1 = vec4<f32>(B[bo1.x], B[bo1.y], B[bo1.z], B[bo1.w]);
    for (var i = 0u; i < RM; i++) {
      let a = vec4<f32>(A[a_base + min(m0 + i, P.m - 1u) * P.a_rs + koff]);
      acc0[i] = fma(a, b0, acc0[i]);
      acc1[i] = fma(a, b1, acc1[i]);
    }
    bo0 += vec4<u32>(P.b_ks);
    bo1 += vec4<u32>(P.b_ks);
    koff += P.a_ks;
  }
  for (var i = 0u; i < RM; i++) {
    store_row(m0 + i, acc0[i], co0);
    store_row(m0 + i, acc1[i], co1);
  }
}
