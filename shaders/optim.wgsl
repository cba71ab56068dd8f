// Fused optimizer updates, in place (see src/backends/cpu/optim.ts for the equations):
// g' = g + weightDecay * w; w is first shrunk by (1 - lr * decoupledDecay).
//   sgd: w -= lr g'                       momentum: v = mu v - lr g'; w += v
//   nesterov: v = mu v - lr g'; w += mu v - lr g'
//   adagrad: a += g'^2; w -= lr g' / (sqrt(a) + eps)
//   rmsprop: a = b2 a + (1 - b2) g'^2; w -= lr g' / (sqrt(a) + eps)
//   adam: m = b1 m + (1 - b1) g'; v = b2 v + (1 - b2) g'^2; w -= lr (m / c1) / (sqrt(v / c2) + eps)

override WG: u32 = 256u;

// #include grid

// #include opcodes

// rule: an UpdateRule code (kSgd ... kAdam)
struct OptParams {
  n: u32, rule: u32, _p1: u32, _p2: u32,
  lr: f32, momentum: f32, beta1: f32, beta2: f32,
  eps: f32, weight_decay: f32, shrink: f32, c1: f32,
  // 1 - beta1 and 1 - beta2, computed in float64 on the host (1 - 0.999 in float32 is 1e-5 off).
  c2: f32, omb1: f32, omb2: f32, _p5: u32,
}

@group(0) @binding(0) var<uniform> P: OptParams;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> s0: array<f32>;
@group(0) @binding(4) var<storage, read_write> s1: array<f32>;

@compute @workgroup_size(WG)
fn update0(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = invocation_index(wid, nwg, lid);
  if (i >= P.n) { return; }
  let w0 = w[i];
  let gi = g[i] + P.weight_decay * w0;
  w[i] = w0 * P.shrink - P.lr * gi;
}

@compute @workgroup_size(WG)
fn update1(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = invocation_index(wid, nwg, lid);
  if (i >= P.n) { return; }
  let w0 = w[i];
  let gi = g[i] + P.weight_decay * w0;
  var wi = w0 * P.shrink;
  switch P.rule {
    case kMomentum: {
      let v = P.momentum * s0[i] - P.lr * gi;
      s0[i] = v;
      wi += v;
    }
    case kNesterov: {
      let v = P.momentum * s0[i] - P.lr * gi;
      s0[i] = v;
      wi += P.momentum * v - P.lr * gi;
    }
    case kAdagrad: {
      let a = s0[i] + gi * gi;
      s0[i] = a;
      wi -= (P.lr * gi) / (sqrt(a) + P.eps);
    }
    default: {
      let a = P.beta2 * s0[i] + P.omb2 * gi * gi;
      s0[i] = a;
      wi -= (P.lr * gi) / (sqrt(a) + P.eps);
    }
  }
  w[i] = wi;
}

@compute @workgroup_size(WG)
fn update2(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = invocation_index(wid, nwg, lid);
  if (i >= P.n) { return; }
  let w0 = w[i];
  let gi = g[i] + P.weight_decay * w0;
  let m = P.beta1 * s0[i] + P.omb1 * gi;
  let v = P.beta2 * s1[i] + P.omb2 * gi * gi;
  s0[i] = m;
  s1[i] = v;
  w[i] = w0 * P.shrink - (P.lr * (m / P.c1)) / (sqrt(v / P.c2) + P.eps);
}
