// Layout kernels on raw 32-bit words (any dtype): a strided gather (permute, broadcastTo, slice) and a
// strided place (concat pieces, the interior of pad). A flat index is split into coordinates by
// multiplying with the host's magic numbers (exact for n < 2^31), so one pipeline serves every
// shape.

override WG: u32 = 256u;
// false: gather (strided reads, dense writes); true: place (dense reads, strided writes)
override PLACE: bool = false;

// #include grid

// #include magic-div

struct CopyParams {
  n: u32, dense_shift: u32, base: u32, rank: u32,
  dims: Dims,
  s: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> P: CopyParams;

fn strided_offset(i: u32) -> u32 {
  var rem = i;
  var o = 0u;
  for (var j = 1u; j < P.rank; j++) {
    let d = P.rank - j;
    let v = d / 4u;
    let c = d % 4u;
    let q = fast_div(rem, P.dims.magic[v][c], P.dims.shift[v][c]);
    o += (rem - q * P.dims.size[v][c]) * P.s[v][c];
    rem = q;
  }
  return o + rem * P.s[0].x;
}

@group(0) @binding(1) var<storage, read> cx: array<u32>;
@group(0) @binding(2) var<storage, read_write> cy: array<u32>;

// Each invocation takes 4 consecutive dense elements: one index split, then steps along the last dim.
struct Walk { o: u32, c: u32, inner: u32, step: u32 }

fn walk_start(i0: u32) -> Walk {
  let last = P.rank - 1u;
  var w: Walk;
  w.inner = P.dims.size[last / 4u][last % 4u];
  w.step = P.s[last / 4u][last % 4u];
  w.o = strided_offset(i0);
  w.c = i0 - fast_div(i0, P.dims.magic[last / 4u][last % 4u], P.dims.shift[last / 4u][last % 4u]) * w.inner;
  return w;
}

fn walk_next(w: ptr<function, Walk>, i: u32) {
  (*w).c += 1u;
  (*w).o += (*w).step;
  if ((*w).c == (*w).inner) {
    (*w).c = 0u;
    (*w).o = strided_offset(i);
  }
}

// The gather y[dense_shift + i] = x[base + offset(i)], or with PLACE the place
// y[base + offset(i)] = x[dense_shift + i].
@compute @workgroup_size(WG)
fn strided_copy(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i0 = invocation_index(wid, nwg, lid) * 4u;
  if (i0 >= P.n) { return; }
  var w = walk_start(i0);
  for (var k = 0u; k < 4u; k++) {
    let i = i0 + k;
    if (i >= P.n) { return; }
    if (k > 0u) { walk_next(&w, i); }
    if (PLACE) {
      cy[P.base + w.o] = cx[P.dense_shift + i];
    } else {
      cy[P.dense_shift + i] = cx[P.base + w.o];
    }
  }
}
