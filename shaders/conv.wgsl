// im2col and its adjoint col2im for 2-D windows over NCHW images. The geometry is a uniform (one
// pipeline for every conv layer); index splits multiply by the host's magic numbers (exact for
// n < 2^31). col2im is written as a gather (each image pixel sums the columns that read it), so
// it needs no atomics and is deterministic.

override WG: u32 = 256u;

fn mulhi(a: u32, b: u32) -> u32 {
  let a0 = a & 0xffffu;
  let a1 = a >> 16u;
  let b0 = b & 0xffffu;
  let b1 = b >> 16u;
  let lo = a0 * b0;
  let mid1 = a1 * b0;
  let mid2 = a0 * b1;
  let carry = ((lo >> 16u) + (mid1 & 0xffffu) + (mid2 & 0xffffu)) >> 16u;
  return a1 * b1 + (mid1 >> 16u) + (mid2 >> 16u) + carry;
}

// floor(n / d) from the magic pair (m, s) of d; m == 0 means d == 1.
fn fdiv(n: u32, ms: vec2<u32>) -> u32 {
  return select(mulhi(n, ms.x) >> ms.y, n, ms.x == 0u);
}

struct ConvParams {
  images: u32, x_shift: u32, y_shift: u32, c: u32,
  h: u32, w: u32, kh: u32, kw: u32,
  sh: u32, sw: u32, ph: u32, pw: u32,
  oh: u32, ow: u32, _p0: u32, _p1: u32,
  // magic pairs for dividing by rows*L, L, kh*kw, kw, ow, w, h, c, sh, sw
  m_rl: vec2<u32>, m_l: vec2<u32>, m_khkw: vec2<u32>, m_kw: vec2<u32>,
  m_ow: vec2<u32>, m_w: vec2<u32>, m_h: vec2<u32>, m_c: vec2<u32>,
  m_sh: vec2<u32>, m_sw: vec2<u32>, _p2: vec2<u32>, _p3: vec2<u32>,
}

@group(0) @binding(0) var<uniform> P: ConvParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

// cols[n, (c*kh + i)*kw + j, oy*ow + ox] = x[n, c, oy*sh - ph + i, ox*sw - pw + j] (0 outside).
// Each invocation takes 4 consecutive columns: one index split, then steps along the output row.
@compute @workgroup_size(WG)
fn im2col(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let L = P.oh * P.ow;
  let RL = P.c * P.kh * P.kw * L;
  let total = P.images * RL;
  let i0 = ((wid.x + wid.y * nwg.x) * WG + lid) * 4u;
  if (i0 >= total) { return; }
  var base = 0u;
  var iy = 0;
  var ix = 0;
  var ox = 0u;
  for (var k = 0u; k < 4u; k++) {
    let i = i0 + k;
    if (i >= total) { return; }
    if (k == 0u || ox == P.ow) {
      let n = fdiv(i, P.m_rl);
      let r = i - n * RL;
      let row = fdiv(r, P.m_l);
      let l = r - row * L;
      let c = fdiv(row, P.m_khkw);
      let ij = row - c * P.kh * P.kw;
      let a = fdiv(ij, P.m_kw);
      let b = ij - a * P.kw;
      let oy = fdiv(l, P.m_ow);
      ox = l - oy * P.ow;
      iy = i32(oy * P.sh + a) - i32(P.ph);
      ix = i32(ox * P.sw + b) - i32(P.pw);
      base = P.x_shift + (n * P.c + c) * P.h * P.w;
    }
    var v = 0.0;
    if (iy >= 0 && iy < i32(P.h) && ix >= 0 && ix < i32(P.w)) {
      v = x[base + u32(iy) * P.w + u32(ix)];
    }
    y[P.y_shift + i] = v;
    ox += 1u;
    ix += i32(P.sw);
  }
}

// x[n, c, h, w] = sum over the (i, j) whose window position lands on (h, w).
@compute @workgroup_size(WG)
fn col2im(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let L = P.oh * P.ow;
  let total = P.images * P.c * P.h * P.w;
  let wg = wid.x + wid.y * nwg.x;
  for (var k = 0u; k < 4u; k++) {
    let i = (wg * 4u + k) * WG + lid;
    if (i >= total) { return; }
    let q1 = fdiv(i, P.m_w);
    let w = i - q1 * P.w;
    let q2 = fdiv(q1, P.m_h);
    let h = q1 - q2 * P.h;
    let n = fdiv(q2, P.m_c);
    let c = q2 - n * P.c;
    let base = P.x_shift + n * P.c * P.kh * P.kw * L;
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
    y[P.y_shift + i] = s;
  }
}
