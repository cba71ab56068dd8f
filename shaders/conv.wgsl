// im2col and its adjoint col2im for 2-D windows over NCHW images. The window geometry is made of
// override constants, so every index split divides by constants. col2im is written as a gather
// (each image pixel sums the columns that read it), so it needs no atomics and is deterministic.

override WG: u32 = 256u;
override C: u32 = 1u;
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

struct ConvParams { images: u32, x_shift: u32, y_shift: u32, _p0: u32 }

@group(0) @binding(0) var<uniform> P: ConvParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

// cols[n, (c*KH + i)*KW + j, oy*OW + ox] = x[n, c, oy*SH - PH + i, ox*SW - PW + j] (0 outside).
@compute @workgroup_size(WG)
fn im2col(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let L = OH * OW;
  let ROWS = C * KH * KW;
  let total = P.images * ROWS * L;
  let wg = wid.x + wid.y * nwg.x;
  for (var k = 0u; k < 4u; k++) {
    let i = (wg * 4u + k) * WG + lid;
    if (i >= total) { return; }
    let n = i / (ROWS * L);
    let r = i % (ROWS * L);
    let row = r / L;
    let l = r % L;
    let c = row / (KH * KW);
    let ij = row % (KH * KW);
    let iy = i32((l / OW) * SH + ij / KW) - i32(PH);
    let ix = i32((l % OW) * SW + ij % KW) - i32(PW);
    var v = 0.0;
    if (iy >= 0 && iy < i32(H) && ix >= 0 && ix < i32(W)) {
      v = x[P.x_shift + ((n * C + c) * H + u32(iy)) * W + u32(ix)];
    }
    y[P.y_shift + i] = v;
  }
}

// x[n, c, h, w] = sum over the (i, j) whose window position lands on (h, w).
@compute @workgroup_size(WG)
fn col2im(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let L = OH * OW;
  let ROWS = C * KH * KW;
  let total = P.images * C * H * W;
  let wg = wid.x + wid.y * nwg.x;
  for (var k = 0u; k < 4u; k++) {
    let i = (wg * 4u + k) * WG + lid;
    if (i >= total) { return; }
    let w = i % W;
    let h = (i / W) % H;
    let nc = i / (W * H);
    let c = nc % C;
    let n = nc / C;
    let base = P.x_shift + n * ROWS * L;
    var s = 0.0;
    for (var a = 0u; a < KH; a++) {
      let ty = i32(h + PH) - i32(a);
      if (ty < 0 || ty % i32(SH) != 0 || ty / i32(SH) >= i32(OH)) { continue; }
      let oy = u32(ty) / SH;
      for (var b = 0u; b < KW; b++) {
        let tx = i32(w + PW) - i32(b);
        if (tx < 0 || tx % i32(SW) != 0 || tx / i32(SW) >= i32(OW)) { continue; }
        let ox = u32(tx) / SW;
        s += x[base + ((c * KH + a) * KW + b) * L + oy * OW + ox];
      }
    }
    y[P.y_shift + i] = s;
  }
}
