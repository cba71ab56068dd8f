// 2-D pooling over the planes of NCHW tensors: max-pool with argmax indices, the gather at given
// indices and its adjoint, average pooling and its adjoint. The adjoints are gathers (each input
// pixel visits the windows that cover it), so there are no atomics. The geometry is a uniform and
// index splits multiply by the host's magic numbers.

override WG: u32 = 256u;

// #include grid

// #include magic-div

struct PoolParams {
  planes: u32, a_shift: u32, b_shift: u32, y_shift: u32,
  h: u32, w: u32, kh: u32, kw: u32,
  sh: u32, sw: u32, ph: u32, pw: u32,
  // tiles = 1: windows tile the image (kernel == stride, no padding), so each pixel has one window
  oh: u32, ow: u32, tiles: u32, _p1: u32,
  // magic pairs for dividing by oh*ow, ow, h*w, w, sh, sw
  m_ohow: vec2<u32>, m_ow: vec2<u32>, m_hw: vec2<u32>, m_w: vec2<u32>,
  m_sh: vec2<u32>, m_sw: vec2<u32>, _p2: vec2<u32>, _p3: vec2<u32>,
}

@group(0) @binding(0) var<uniform> P: PoolParams;

// Plane, first window row and first window column of output o.
fn window_of(o: u32) -> vec3<i32> {
  let plane = fdiv(o, P.m_ohow);
  let r = o - plane * P.oh * P.ow;
  let oy = fdiv(r, P.m_ow);
  let ox = r - oy * P.ow;
  return vec3<i32>(i32(plane), i32(oy * P.sh) - i32(P.ph), i32(ox * P.sw) - i32(P.pw));
}

// The part of output o's window inside the image: rows y0..y1 and columns x0..x1 (ends
// exclusive) of the plane that starts at `base`.
struct Window { base: u32, y0: i32, y1: i32, x0: i32, x1: i32 }

fn window_in_image(o: u32) -> Window {
  let win = window_of(o);
  return Window(P.a_shift + u32(win.x) * P.h * P.w, max(win.y, 0), min(win.y + i32(P.kh), i32(P.h)),
                max(win.z, 0), min(win.z + i32(P.kw), i32(P.w)));
}

// Plane and position of input pixel i, as (plane, h, w).
fn pixel_of(i: u32) -> vec3<u32> {
  let plane = fdiv(i, P.m_hw);
  let r = i - plane * P.h * P.w;
  let h = fdiv(r, P.m_w);
  return vec3<u32>(plane, h, r - h * P.w);
}

// Output index of the window (oy, ox) covering input (h, w) through kernel tap (a, b), or -1.
fn tap(h: u32, w: u32, a: u32, b: u32) -> i32 {
  let ty = i32(h + P.ph) - i32(a);
  let tx = i32(w + P.pw) - i32(b);
  if (ty < 0 || tx < 0) { return -1; }
  let oy = fdiv(u32(ty), P.m_sh);
  let ox = fdiv(u32(tx), P.m_sw);
  if (oy * P.sh != u32(ty) || ox * P.sw != u32(tx) || oy >= P.oh || ox >= P.ow) { return -1; }
  return i32(oy * P.ow + ox);
}

@group(0) @binding(1) var<storage, read> mx: array<f32>;
@group(0) @binding(2) var<storage, read_write> my: array<f32>;
@group(0) @binding(3) var<storage, read_write> mi: array<i32>;

// Max over each window; idx = h*W + w of the first maximum, where a NaN beats any number (as on the cpu).
@compute @workgroup_size(WG)
fn max_pool2d(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let o = invocation_index(wid, nwg, lid);
  if (o >= P.planes * P.oh * P.ow) { return; }
  let win = window_in_image(o);
  var best = 0.0;
  var bi = -1;
  for (var iy = win.y0; iy < win.y1; iy++) {
    for (var ix = win.x0; ix < win.x1; ix++) {
      let pos = iy * i32(P.w) + ix;
      let v = mx[win.base + u32(pos)];
      let vn = (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
      let bn = (bitcast<u32>(best) & 0x7fffffffu) > 0x7f800000u;
      if ((v > best && !vn && !bn) || bi < 0 || (vn && !bn)) { best = v; bi = pos; }
    }
  }
  my[P.y_shift + o] = best;
  mi[P.y_shift + o] = bi;
}

@group(0) @binding(1) var<storage, read> gx: array<f32>;
@group(0) @binding(2) var<storage, read> gi: array<i32>;
@group(0) @binding(3) var<storage, read_write> gy: array<f32>;

// out[p, k] = x[p, idx[p, k]]
@compute @workgroup_size(WG)
fn max_pool_gather(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let o = invocation_index(wid, nwg, lid);
  if (o >= P.planes * P.oh * P.ow) { return; }
  let base = P.a_shift + fdiv(o, P.m_ohow) * P.h * P.w;
  gy[P.y_shift + o] = gx[base + u32(gi[P.b_shift + o])];
}

// The adjoint of gather: each input pixel sums the window outputs whose index chose it.
@compute @workgroup_size(WG)
fn max_pool_scatter(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = invocation_index(wid, nwg, lid);
  if (i >= P.planes * P.h * P.w) { return; }
  let px = pixel_of(i);
  let pos = i32(px.y * P.w + px.z);
  let obase = px.x * P.oh * P.ow;
  var s = 0.0;
  if (P.tiles != 0u) {
    let oy = fdiv(px.y, P.m_sh);
    let ox = fdiv(px.z, P.m_sw);
    if (oy < P.oh && ox < P.ow) {
      let o = obase + oy * P.ow + ox;
      if (gi[P.b_shift + o] == pos) { s = gx[P.a_shift + o]; }
    }
  } else {
    for (var a = 0u; a < P.kh; a++) {
      for (var b = 0u; b < P.kw; b++) {
        let t = tap(px.y, px.z, a, b);
        if (t >= 0) {
          let o = obase + u32(t);
          if (gi[P.b_shift + o] == pos) { s += gx[P.a_shift + o]; }
        }
      }
    }
  }
  gy[P.y_shift + i] = s;
}

@group(0) @binding(1) var<storage, read> ax: array<f32>;
@group(0) @binding(2) var<storage, read_write> ay: array<f32>;

// Average over each window, padding counted as zeros (divisor kh*kw).
@compute @workgroup_size(WG)
fn avg_pool2d(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let o = invocation_index(wid, nwg, lid);
  if (o >= P.planes * P.oh * P.ow) { return; }
  let win = window_in_image(o);
  var s = 0.0;
  for (var iy = win.y0; iy < win.y1; iy++) {
    for (var ix = win.x0; ix < win.x1; ix++) {
      s += ax[win.base + u32(iy * i32(P.w) + ix)];
    }
  }
  ay[P.y_shift + o] = s * (1.0 / f32(P.kh * P.kw));
}

// The adjoint of avg_pool: each input pixel sums gy / (kh*kw) over the windows covering it.
@compute @workgroup_size(WG)
fn avg_pool2d_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = invocation_index(wid, nwg, lid);
  if (i >= P.planes * P.h * P.w) { return; }
  let px = pixel_of(i);
  let obase = P.a_shift + px.x * P.oh * P.ow;
  let inv = 1.0 / f32(P.kh * P.kw);
  var s = 0.0;
  for (var a = 0u; a < P.kh; a++) {
    for (var b = 0u; b < P.kw; b++) {
      let t = tap(px.y, px.z, a, b);
      if (t >= 0) { s += ax[obase + u32(t)] * inv; }
    }
  }
  ay[P.y_shift + i] = s;
}

@group(0) @binding(0) var<uniform> PS: PoolParams;
@group(0) @binding(1) var<storage, read> sx: array<f32>;
@group(0) @binding(2) var<storage, read> si: array<i32>;
@group(0) @binding(3) var<storage, read_write> sy: array<f32>;

// The adjoint of gather when windows tile the image (no two windows share a pixel): each output
// writes its value at its index; the caller zero-fills the image first. One invocation per window
// instead of one per pixel.
@compute @workgroup_size(WG)
fn max_pool_scatter_tiles(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let o = invocation_index(wid, nwg, lid);
  if (o >= PS.planes * PS.oh * PS.ow) { return; }
  let plane = fdiv(o, PS.m_ohow);
  sy[PS.y_shift + plane * PS.h * PS.w + u32(si[PS.b_shift + o])] = sx[PS.a_shift + o];
}
