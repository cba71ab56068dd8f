// im2col and its adjoint col2im for 2-D windows over NCHW images. The geometry is a uniform (one
// pipeline for every conv layer); index splits multiply by the host's magic numbers (exact for
// n < 2^31). col2im is written as a gather (each image pixel sums the columns that read it), so
// it needs no atomics and is deterministic.

override WG: u32 = 256u;

// #include grid

// #include magic-div

struct ConvParams {
  images: u32, x_shift: u32, y_shift: u32, c: u32,
  h: u32, w: u32, kh: u32, kw: u32,
  sh: u32, sw: u32, ph: u32, pw: u32,
  oh: u32, ow: u32, _p0: u32, _p1: u32,
  // magic pairs for dividing by oh, c*kh*kw, kh*kw, kw, h, c, sh, sw
  m_oh: vec2<u32>, m_rows: vec2<u32>, m_khkw: vec2<u32>, m_kw: vec2<u32>,
  m_h: vec2<u32>, m_c: vec2<u32>, m_sh: vec2<u32>, m_sw: vec2<u32>,
}

@group(0) @binding(0) var<uniform> P: ConvParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

// cols[n, (c*kh + i)*kw + j, oy*ow + ox] = x[n, c, oy*sh - ph + i, ox*sw - pw + j] (0 outside).
// One invocation per output row (n, (c, i, j), oy): the index is split once and the ow columns
// are walked with the same trip count in every invocation (no divergence between SIMD lanes).
@compute @workgroup_size(WG)
fn im2col(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let rows = P.c * P.kh * P.kw;
  let t = invocation_index(wid, nwg, lid);
  if (t >= P.images * rows * P.oh) { return; }
  let q = fdiv(t, P.m_oh);
  let oy = t - q * P.oh;
  let n = fdiv(q, P.m_rows);
  let row = q - n * rows;
  let c = fdiv(row, P.m_khkw);
  let ij = row - c * P.kh * P.kw;
  let a = fdiv(ij, P.m_kw);
  let b = ij - a * P.kw;
  let iy = i32(oy * P.sh + a) - i32(P.ph);
  let out = P.y_shift + t * P.ow;
  let rowOk = iy >= 0 && iy < i32(P.h);
  let src = P.x_shift + ((n * P.c + c) * P.h + u32(max(iy, 0))) * P.w;
  var ix = i32(b) - i32(P.pw);
  for (var ox = 0u; ox < P.ow; ox++) {
    var v = 0.0;
    if (rowOk && ix >= 0 && ix < i32(P.w)) { v = x[src + u32(ix)]; }
    y[out + ox] = v;
    ix += i32(P.sw);
  }
}

// x[n, c, h, w] = sum over the (i, j) whose window position lands on (h, w).
// One invocation per image row (n, c, h): the kernel rows i that reach it and their output rows
// are found once; the w loop has the same trip count in every invocation.
@compute @workgroup_size(WG)
fn col2im(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let L = P.oh * P.ow;
  let t = invocation_index(wid, nwg, lid);
  if (t >= P.images * P.c * P.h) { return; }
  let q = fdiv(t, P.m_h);
  let h = t - q * P.h;
  let n = fdiv(q, P.m_c);
  let c = q - n * P.c;
  let base = P.x_shift + n * P.c * P.kh * P.kw * L;
  let out = P.y_shift + t * P.w;
  for (var w = 0u; w < P.w; w++) {
    var s = 0.0;
    for (var a = 0u; a < P.kh; a++) {
      let ty = i32(h + P.ph) - i32(a);
      if (ty < 0) { break; }
      let oy = fdiv(u32(ty), P.m_sh);
      if (oy * P.sh != u32(ty) || oy >= P.oh) { continue; }
      for (var b = 0u; b < P.kw; b++) {
        let tx = i32(w + P.pw) - i32(b);
        if (tx < 0) { break; }
        let ox = fdiv(u32(tx), P.m_sw);
        if (ox * P.sw != u32(tx) || ox >= P.ow) { continue; }
        s += x[base + ((c * P.kh + a) * P.kw + b) * L + oy * P.ow + ox];
      }
    }
    y[out + w] = s;
  }
}
