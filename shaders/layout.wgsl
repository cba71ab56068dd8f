// Layout kernels on raw 32-bit words (any dtype): a strided gather (permute, expand, slice) and a
// strided place (concat pieces, the interior of pad). The iteration shape's inner dims D1..D7 are
// override constants, so decomposing an index into coordinates divides by constants.

override WG: u32 = 256u;
override R: u32 = 1u;
override D1: u32 = 1u;
override D2: u32 = 1u;
override D3: u32 = 1u;
override D4: u32 = 1u;
override D5: u32 = 1u;
override D6: u32 = 1u;
override D7: u32 = 1u;

fn dim_size(d: u32) -> u32 {
  switch d {
    case 1u: { return D1; }
    case 2u: { return D2; }
    case 3u: { return D3; }
    case 4u: { return D4; }
    case 5u: { return D5; }
    case 6u: { return D6; }
    case 7u: { return D7; }
    default: { return 1u; }
  }
}

fn strided_offset(i: u32, s: array<vec4<u32>, 2>) -> u32 {
  var rem = i;
  var o = 0u;
  for (var d = 7u; d >= 1u; d--) {
    if (d < R) {
      let n = dim_size(d);
      o += (rem % n) * s[d / 4u][d % 4u];
      rem = rem / n;
    }
  }
  return o + rem * s[0].x;
}

struct CopyParams {
  n: u32, dense_shift: u32, base: u32, _p0: u32,
  s: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> PG: CopyParams;
@group(0) @binding(1) var<storage, read> gx: array<u32>;
@group(0) @binding(2) var<storage, read_write> gy: array<u32>;

// y[dense_shift + i] = x[base + offset(i)]
@compute @workgroup_size(WG)
fn gather(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.x + wid.y * nwg.x;
  for (var k = 0u; k < 4u; k++) {
    let i = (wg * 4u + k) * WG + lid;
    if (i < PG.n) { gy[PG.dense_shift + i] = gx[PG.base + strided_offset(i, PG.s)]; }
  }
}

@group(0) @binding(0) var<uniform> PP: CopyParams;
@group(0) @binding(1) var<storage, read> px: array<u32>;
@group(0) @binding(2) var<storage, read_write> py: array<u32>;

// y[base + offset(i)] = x[dense_shift + i]
@compute @workgroup_size(WG)
fn place(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.x + wid.y * nwg.x;
  for (var k = 0u; k < 4u; k++) {
    let i = (wg * 4u + k) * WG + lid;
    if (i < PP.n) { py[PP.base + strided_offset(i, PP.s)] = px[PP.dense_shift + i]; }
  }
}
