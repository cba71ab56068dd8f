// Row-wise softmax family over the last axis of a [rows, cols] view: softmax, log-softmax, the
// softmax Jacobian (= cross-entropy Hessian) product p*v - p*(p.v), per-row cross-entropy, the
// fused gradient softmax(z) - onehot(y), and one-hot. Short rows take one invocation per row;
// long rows one workgroup per row with tree reductions (max, then sum) in workgroup memory.

override WG: u32 = 256u;

// #include grid

// kind: 0 softmax, 1 log-softmax, 2 softmax-hvp, 3 cross-entropy, 4 softmax-cross-entropy gradient
struct RowParams { rows: u32, cols: u32, a_shift: u32, b_shift: u32, y_shift: u32, kind: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<uniform> P: RowParams;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

fn fmax(p: f32, q: f32) -> f32 {
  // Math.max: NaN wins (tested on the bits: compilers may assume x == x).
  if ((bitcast<u32>(p) & 0x7fffffffu) > 0x7f800000u) { return p; }
  if ((bitcast<u32>(q) & 0x7fffffffu) > 0x7f800000u) { return q; }
  return max(p, q);
}

// -Infinity cannot be a constant expression in WGSL; a private variable is not folded.
var<private> NEG_INF_BITS: u32 = 0xff800000u;

fn label(r: u32) -> u32 { return b[P.b_shift + r]; }

@compute @workgroup_size(WG)
fn rows_thread(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = invocation_index(wid, nwg, lid);
  if (r >= P.rows) { return; }
  let n = P.cols;
  let ab = P.a_shift + r * n;
  let yb = P.y_shift + r * n;
  if (P.kind == 2u) {
    let vb = P.b_shift + r * n;
    var d = 0.0;
    for (var j = 0u; j < n; j++) { d += a[ab + j] * bitcast<f32>(b[vb + j]); }
    for (var j = 0u; j < n; j++) { y[yb + j] = a[ab + j] * (bitcast<f32>(b[vb + j]) - d); }
    return;
  }
  var m = bitcast<f32>(NEG_INF_BITS);
  for (var j = 0u; j < n; j++) { m = fmax(m, a[ab + j]); }
  var s = 0.0;
  for (var j = 0u; j < n; j++) { s += exp(a[ab + j] - m); }
  switch P.kind {
    case 0u, 4u: {
      let inv = 1.0 / s;
      for (var j = 0u; j < n; j++) { y[yb + j] = exp(a[ab + j] - m) * inv; }
      if (P.kind == 4u) {
        let t = label(r);
        if (t < n) { y[yb + t] -= 1.0; }
      }
    }
    case 1u: {
      let lse = m + log(s);
      for (var j = 0u; j < n; j++) { y[yb + j] = a[ab + j] - lse; }
    }
    default: {
      y[P.y_shift + r] = m + log(s) - a[ab + label(r)];
    }
  }
}

var<workgroup> red: array<f32, WG>;

fn tree_sum(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

fn tree_max(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    if (lid < s) { red[lid] = fmax(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(WG)
fn rows_wg(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = workgroup_index(wid, nwg);
  if (r >= P.rows) { return; }
  let n = P.cols;
  let ab = P.a_shift + r * n;
  let yb = P.y_shift + r * n;
  if (P.kind == 2u) {
    let vb = P.b_shift + r * n;
    var d = 0.0;
    for (var j = lid; j < n; j += WG) { d += a[ab + j] * bitcast<f32>(b[vb + j]); }
    d = tree_sum(lid, d);
    for (var j = lid; j < n; j += WG) { y[yb + j] = a[ab + j] * (bitcast<f32>(b[vb + j]) - d); }
    return;
  }
  var m = bitcast<f32>(NEG_INF_BITS);
  for (var j = lid; j < n; j += WG) { m = fmax(m, a[ab + j]); }
  m = tree_max(lid, m);
  var s = 0.0;
  for (var j = lid; j < n; j += WG) { s += exp(a[ab + j] - m); }
  s = tree_sum(lid, s);
  switch P.kind {
    case 0u, 4u: {
      let inv = 1.0 / s;
      for (var j = lid; j < n; j += WG) { y[yb + j] = exp(a[ab + j] - m) * inv; }
      if (P.kind == 4u) {
        // Same invocation as wrote y[label] above, so no barrier is needed.
        let t = label(r);
        if (t < n && t % WG == lid) { y[yb + t] -= 1.0; }
      }
    }
    case 1u: {
      let lse = m + log(s);
      for (var j = lid; j < n; j += WG) { y[yb + j] = a[ab + j] - lse; }
    }
    default: {
      if (lid == 0u) { y[P.y_shift + r] = m + log(s) - a[ab + label(r)]; }
    }
  }
}

struct OneHotParams { rows: u32, classes: u32, one: u32, a_shift: u32, y_shift: u32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<uniform> PO: OneHotParams;
@group(0) @binding(1) var<storage, read> oh_labels: array<i32>;
@group(0) @binding(2) var<storage, read_write> oh_out: array<u32>;

@compute @workgroup_size(WG)
fn one_hot(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = invocation_index(wid, nwg, lid);
  if (i >= PO.rows * PO.classes) { return; }
  let t = oh_labels[PO.a_shift + i / PO.classes];
  oh_out[PO.y_shift + i] = select(0u, PO.one, t == i32(i % PO.classes));
}
