// Fill, copy and cast. Words are moved as u32 (vec4 at a time); casts reinterpret them.

override WG: u32 = 256u;

// #include grid
override VPT: u32 = 4u;
// cast direction: 0 = f32 -> i32, 1 = i32 -> f32
override MODE: u32 = 0u;

struct FillParams { n4: u32, value: u32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<uniform> PF: FillParams;
@group(0) @binding(1) var<storage, read_write> fy: array<vec4<u32>>;

@compute @workgroup_size(WG)
fn fill(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let wg = workgroup_index(wid, nwg);
  for (var k = 0u; k < VPT; k++) {
    let i = (wg * VPT + k) * WG + lid;
    if (i < PF.n4) { fy[i] = vec4<u32>(PF.value); }
  }
}

// f32 -> i32 as JavaScript stores a double into an Int32Array: truncate, wrap modulo 2^32, NaN/Inf -> 0.
fn to_i32(v: f32) -> i32 {
  let x = trunc(v);
  if ((bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u || abs(x) > 3.0e38) { return 0; }
  if (abs(x) < 2147483648.0) { return i32(x); }
  let m = x - floor(x / 4294967296.0) * 4294967296.0;
  return bitcast<i32>(u32(m));
}

@group(0) @binding(0) var<uniform> PC: FillParams;
@group(0) @binding(1) var<storage, read> cx: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> cy: array<vec4<u32>>;

@compute @workgroup_size(WG)
fn cast_words(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let wg = workgroup_index(wid, nwg);
  for (var k = 0u; k < VPT; k++) {
    let i = (wg * VPT + k) * WG + lid;
    if (i < PC.n4) {
      let v = cx[i];
      if (MODE == 0u) {
        let f = bitcast<vec4<f32>>(v);
        cy[i] = bitcast<vec4<u32>>(vec4<i32>(to_i32(f.x), to_i32(f.y), to_i32(f.z), to_i32(f.w)));
      } else {
        cy[i] = bitcast<vec4<u32>>(vec4<f32>(bitcast<vec4<i32>>(v)));
      }
    }
  }
}
