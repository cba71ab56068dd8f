// 2-D pooling over the planes of NCHW tensors: max-pool with argmax indices, the gather at given
// indices and its adjoint, average pooling and its adjoint. The adjoints are gathers (each input
// pixel visits the windows that cover it), so there are no atomics. The geometry is made of
// override constants.

override WG: u32 = 256u;
override H: u32 = 1u;
override W: u32 = 1u;
override KH: u32 = 1u;
override KW: u32 = 1u;
override SH: u32 = 1u;
override SW: u32 = 1u;
override PH: u32 = 0u;
override PW: u32 = 0u;
override OH: u32 = 1u;
override OW: u32 = 1u;

struct PoolParams { planes: u32, a_shift: u32, b_shift: u32, y_shift: u32 }

fn row_of(o: u32) -> i32 { return i32((o / OW) % OH * SH) - i32(PH); }
fn col_of(o: u32) -> i32 { return i32(o % OW * SW) - i32(PW); }

@group(0) @binding(0) var<uniform> P: PoolParams;
@group(0) @binding(1) var<storage, read> mx: array<f32>;
@group(0) @binding(2) var<storage, read_write> my: array<f32>;
@group(0) @binding(3) var<storage, read_write> mi: array<i32>;

// Max over each window; idx = h*W + w of the first maximum (a NaN, once taken, stays).
@compute @workgroup_size(WG)
fn max_pool(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let o = (wid.x + wid.y * nwg.x) * WG + lid;
  if (o >= P.planes * OH * OW) { return; }
  let base = P.a_shift + (o / (OH * OW)) * H * W;
  let y0 = row_of(o);
  let x0 = col_of(o);
  var best = 0.0;
  var bi = -1;
  for (var a = 0u; a < KH; a++) {
    let iy = y0 + i32(a);
    if (iy < 0 || iy >= i32(H)) { continue; }
    for (var b = 0u; b < KW; b++) {
      let ix = x0 + i32(b);
      if (ix < 0 || ix >= i32(W)) { continue; }
      let pos = iy * i32(W) + ix;
      let v = mx[base + u32(pos)];
      if (v > best || bi < 0) { best = v; bi = pos; }
    }
  }
  my[P.y_shift + o] = best;
  mi[P.y_shift + o] = bi;
}

@group(0) @binding(0) var<uniform> PG: PoolParams;
@group(0) @binding(1) var<storage, read> gx: array<f32>;
@group(0) @binding(2) var<storage, read> gi: array<i32>;
@group(0) @binding(3) var<storage, read_write> gy: array<f32>;

// out[p, k] = x[p, idx[p, k]]
@compute @workgroup_size(WG)
fn gather(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let o = (wid.x + wid.y * nwg.x) * WG + lid;
  if (o >= PG.planes * OH * OW) { return; }
  let base = PG.a_shift + (o / (OH * OW)) * H * W;
  gy[PG.y_shift + o] = gx[base + u32(gi[PG.b_shift + o])];
}

// The adjoint of gather: each input pixel sums the window outputs whose index chose it.
@compute @workgroup_size(WG)
fn scatter(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= PG.planes * H * W) { return; }
  let w = i % W;
  let h = (i / W) % H;
  let pos = i32(h * W + w);
  let obase = (i / (H * W)) * OH * OW;
  var s = 0.0;
  for (var a = 0u; a < KH; a++) {
    let ty = i32(h + PH) - i32(a);
    if (ty < 0 || ty % i32(SH) != 0 || ty / i32(SH) >= i32(OH)) { continue; }
    for (var b = 0u; b < KW; b++) {
      let tx = i32(w + PW) - i32(b);
      if (tx < 0 || tx % i32(SW) != 0 || tx / i32(SW) >= i32(OW)) { continue; }
      let o = obase + u32(ty) / SH * OW + u32(tx) / SW;
      if (gi[PG.b_shift + o] == pos) { s += gx[PG.a_shift + o]; }
    }
  }
  gy[PG.y_shift + i] = s;
}

@group(0) @binding(0) var<uniform> PA: PoolParams;
@group(0) @binding(1) var<storage, read> ax: array<f32>;
@group(0) @binding(2) var<storage, read_write> ay: array<f32>;

// Average over each window, padding counted as zeros (divisor KH*KW).
@compute @workgroup_size(WG)
fn avg_pool(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let o = (wid.x + wid.y * nwg.x) * WG + lid;
  if (o >= PA.planes * OH * OW) { return; }
  let base = PA.a_shift + (o / (OH * OW)) * H * W;
  let y0 = row_of(o);
  let x0 = col_of(o);
  var s = 0.0;
  for (var a = 0u; a < KH; a++) {
    let iy = y0 + i32(a);
    if (iy < 0 || iy >= i32(H)) { continue; }
    for (var b = 0u; b < KW; b++) {
      let ix = x0 + i32(b);
      if (ix < 0 || ix >= i32(W)) { continue; }
      s += ax[base + u32(iy * i32(W) + ix)];
    }
  }
  ay[PA.y_shift + o] = s * (1.0 / f32(KH * KW));
}

// The adjoint of avg_pool: each input pixel sums gy / (KH*KW) over the windows covering it.
@compute @workgroup_size(WG)
fn avg_pool_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= PA.planes * H * W) { return; }
  let w = i % W;
  let h = (i / W) % H;
  let obase = PA.a_shift + (i / (H * W)) * OH * OW;
  let inv = 1.0 / f32(KH * KW);
  var s = 0.0;
  for (var a = 0u; a < KH; a++) {
    let ty = i32(h + PH) - i32(a);
    if (ty < 0 || ty % i32(SH) != 0 || ty / i32(SH) >= i32(OH)) { continue; }
    for (var b = 0u; b < KW; b++) {
      let tx = i32(w + PW) - i32(b);
      if (tx < 0 || tx % i32(SW) != 0 || tx / i32(SW) >= i32(OW)) { continue; }
      s += ax[obase + u32(ty) / SH * OW + u32(tx) / SW] * inv;
    }
  }
  ay[PA.y_shift + i] = s;
}
