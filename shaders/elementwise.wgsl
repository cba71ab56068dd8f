// Elementwise kernels: unary, binary (same shape, scalar operand, broadcast), where.
//
// Values travel as raw 32-bit words (u32) and are reinterpreted as f32 or i32 by the IS_INT
// override, so one source serves both dtypes. Contiguous kernels move vec4s: each invocation
// handles VPT vec4s spaced WG apart, so consecutive invocations touch consecutive memory (coalesced
// on GPUs; whole SIMD rows on lavapipe, where lanes are invocations).
// The op is a uniform (a branch every invocation takes the same way), not an override: one
// pipeline serves every op, which matters where compiling a pipeline costs a second (lavapipe).
// The strided kernels read inputs through per-dim strides (0 on broadcast dims) and split a flat
// index into coordinates by multiplying with precomputed magic numbers (exact for n < 2^31).

override WG: u32 = 256u;

// #include grid
override VPT: u32 = 4u;
override IS_INT: bool = false;
override COND_INT: bool = false;

// #include opcodes

// ---- unary ops (named by the op-code table, src/backends/opcodes.ts) ----

fn expm1_(x: vec4<f32>) -> vec4<f32> {
  // Taylor series near 0 (where exp(x) - 1 cancels), exp elsewhere.
  let p = x * (1.0 + x * (0.5 + x * (1.0 / 6.0 + x * (1.0 / 24.0 + x * (1.0 / 120.0 + x * (1.0 / 720.0 + x * (1.0 / 5040.0 + x * (1.0 / 40320.0))))))));
  return select(exp(x) - 1.0, p, abs(x) < vec4<f32>(0.5));
}

fn log1p_(x: vec4<f32>) -> vec4<f32> {
  // log(1+x) * x / ((1+x) - 1) cancels the rounding of 1+x (Goldberg).
  let w = 1.0 + x;
  let d = w - 1.0;
  return select(log(w) * (x / d), x, d == vec4<f32>(0.0));
}

// NaN tests on the bits: WGSL lets compilers assume floats are never NaN, so x != x may fold away.
fn nan4(x: vec4<f32>) -> vec4<bool> {
  return (bitcast<vec4<u32>>(x) & vec4<u32>(0x7fffffffu)) > vec4<u32>(0x7f800000u);
}

fn isnan1(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

// Ordered comparisons that are false when either side is NaN, whatever the compiler assumes.
fn lt4(a: vec4<f32>, b: vec4<f32>) -> vec4<bool> { return (a < b) & !(nan4(a) | nan4(b)); }
fn gt4(a: vec4<f32>, b: vec4<f32>) -> vec4<bool> { return (a > b) & !(nan4(a) | nan4(b)); }

fn unary_f(op: u32, x: vec4<f32>, alpha: f32) -> vec4<f32> {
  let zero = vec4<f32>(0.0);
  let one = vec4<f32>(1.0);
  switch op {
    case kNeg: { return -x; }
    case kExp: { return exp(x); }
    case kLog: { return log(x); }
    case kSqrt: { return sqrt(x); }
    case kRsqrt: { return 1.0 / sqrt(x); }
    case kReciprocal: { return 1.0 / x; }
    case kAbs: { return abs(x); }
    case kSquare: { return x * x; }
    // relu keeps NaN (x < 0 ? 0 : x), like the cpu reference
    case kRelu: { return select(x, zero, lt4(x, zero)); }
    case kLeakyRelu: { return select(alpha * x, x, gt4(x, zero)); }
    case kLeakyReluGrad: { return select(vec4<f32>(alpha), one, gt4(x, zero)); }
    case kSigmoid: {
      let e = exp(-abs(x));
      return select(select(e / (1.0 + e), 1.0 / (1.0 + e), x >= zero), x, nan4(x));
    }
    case kTanh: {
      // tanh|x| = -expm1(-2|x|) / (2 + expm1(-2|x|)): no overflow, no cancellation near 0.
      let m = expm1_(-2.0 * abs(x));
      let t = -m / (2.0 + m);
      return select(select(t, -t, x < zero), x, nan4(x));
    }
    case kSoftplus: {
      let l = log1p_(exp(-abs(x)));
      return select(select(l, x + l, x > zero), x, nan4(x));
    }
    case kSign: { return select(select(zero, -one, lt4(x, zero)), one, gt4(x, zero)); }
    case kSin: { return sin(x); }
    case kCos: { return cos(x); }
    default: { return x; }
  }
}

fn unary_i(op: u32, x: vec4<i32>, alpha: f32) -> vec4<i32> {
  switch op {
    case kNeg: { return -x; }
    case kAbs: { return abs(x); }
    case kSquare: { return x * x; }
    case kSign: { return select(select(vec4<i32>(0), vec4<i32>(-1), x < vec4<i32>(0)), vec4<i32>(1), x > vec4<i32>(0)); }
    default: { return trunc_i32(unary_f(op, vec4<f32>(x), alpha)); }
  }
}

// f32 -> i32 as JavaScript stores a double into an Int32Array: truncate, wrap modulo 2^32, NaN/Inf -> 0.
fn trunc_i32(v: vec4<f32>) -> vec4<i32> {
  var out: vec4<i32>;
  for (var k = 0u; k < 4u; k++) {
    let x = trunc(v[k]);
    if (isnan1(x) || abs(x) > 3.0e38) {
      out[k] = 0;
    } else if (abs(x) < 2147483648.0) {
      out[k] = i32(x);
    } else {
      let m = x - floor(x / 4294967296.0) * 4294967296.0;
      out[k] = bitcast<i32>(u32(m));
    }
  }
  return out;
}

// ---- binary ops ----

// Infinity and NaN cannot be constant expressions in WGSL; private variables are not folded.
var<private> INF_BITS: u32 = 0x7f800000u;
var<private> NAN_BITS: u32 = 0x7fc00000u;

fn pow_f(a: f32, b: f32) -> f32 {
  // Math.pow semantics for negative bases with integer exponents and for zero bases.
  if (b == 0.0) { return 1.0; }
  if (a == 0.0) {
    if (b > 0.0) { return 0.0; }
    return bitcast<f32>(INF_BITS);
  }
  if (a < 0.0) {
    if (b != trunc(b)) { return bitcast<f32>(NAN_BITS); }
    let m = pow(-a, b);
    let odd = abs(b) < 16777216.0 && (i32(abs(b)) & 1) == 1;
    return select(m, -m, odd);
  }
  return pow(a, b);
}

fn pow_i(a: i32, b: i32) -> i32 {
  if (b < 0) {
    if (a == 1) { return 1; }
    if (a == -1) { return select(1, -1, (b & 1) != 0); }
    return 0;
  }
  var r = 1;
  var base = a;
  var e = b;
  while (e > 0) {
    if ((e & 1) != 0) { r = r * base; }
    base = base * base;
    e = e >> 1u;
  }
  return r;
}

fn binary_f(op: u32, a: vec4<f32>, b: vec4<f32>) -> vec4<f32> {
  let zero = vec4<f32>(0.0);
  let one = vec4<f32>(1.0);
  let nan = nan4(a) | nan4(b);
  switch op {
    case kAdd: { return a + b; }
    case kSub: { return a - b; }
    case kMul: { return a * b; }
    case kDiv: { return a / b; }
    case kPow: { return vec4<f32>(pow_f(a.x, b.x), pow_f(a.y, b.y), pow_f(a.z, b.z), pow_f(a.w, b.w)); }
    case kMaximum: { return max_js(a, b, true); }
    case kMinimum: { return max_js(a, b, false); }
    case kEq: { return select(zero, one, (a == b) & !nan); }
    case kNe: { return select(zero, one, (a != b) | nan); }
    case kLt: { return select(zero, one, (a < b) & !nan); }
    case kLe: { return select(zero, one, (a <= b) & !nan); }
    case kGt: { return select(zero, one, (a > b) & !nan); }
    case kGe: { return select(zero, one, (a >= b) & !nan); }
    default: { return a; }
  }
}

// Math.max / Math.min: NaN if either is NaN, and max(-0, 0) = 0, min(-0, 0) = -0.
fn max_js(a: vec4<f32>, b: vec4<f32>, is_max: bool) -> vec4<f32> {
  let ab = bitcast<vec4<u32>>(a);
  let bb = bitcast<vec4<u32>>(b);
  var r: vec4<f32>;
  if (is_max) {
    r = select(select(bitcast<vec4<f32>>(ab & bb), b, b > a), a, a > b);
  } else {
    r = select(select(bitcast<vec4<f32>>(ab | bb), b, b < a), a, a < b);
  }
  return select(select(r, b, nan4(b)), a, nan4(a));
}

fn binary_i(op: u32, a: vec4<i32>, b: vec4<i32>) -> vec4<i32> {
  let zero = vec4<i32>(0);
  let one = vec4<i32>(1);
  switch op {
    case kAdd: { return a + b; }
    case kSub: { return a - b; }
    case kMul: { return a * b; }
    case kDiv: { return select(a / b, zero, b == zero); }
    case kPow: { return vec4<i32>(pow_i(a.x, b.x), pow_i(a.y, b.y), pow_i(a.z, b.z), pow_i(a.w, b.w)); }
    case kMaximum: { return select(b, a, a >= b); }
    case kMinimum: { return select(b, a, a <= b); }
    case kEq: { return select(zero, one, a == b); }
    case kNe: { return select(zero, one, a != b); }
    case kLt: { return select(zero, one, a < b); }
    case kLe: { return select(zero, one, a <= b); }
    case kGt: { return select(zero, one, a > b); }
    case kGe: { return select(zero, one, a >= b); }
    default: { return a; }
  }
}

fn binary_bits(op: u32, a: vec4<u32>, b: vec4<u32>) -> vec4<u32> {
  if (IS_INT) { return bitcast<vec4<u32>>(binary_i(op, bitcast<vec4<i32>>(a), bitcast<vec4<i32>>(b))); }
  return bitcast<vec4<u32>>(binary_f(op, bitcast<vec4<f32>>(a), bitcast<vec4<f32>>(b)));
}

// ---- contiguous kernels ----

struct UnaryParams { n4: u32, op: u32, alpha: f32, _p0: u32 }

@group(0) @binding(0) var<uniform> PU: UnaryParams;
@group(0) @binding(1) var<storage, read> ux: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> uy: array<vec4<u32>>;

@compute @workgroup_size(WG)
fn unary(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let wg = workgroup_index(wid, nwg);
  for (var k = 0u; k < VPT; k++) {
    let i = (wg * VPT + k) * WG + lid;
    if (i < PU.n4) {
      if (IS_INT) {
        uy[i] = bitcast<vec4<u32>>(unary_i(PU.op, bitcast<vec4<i32>>(ux[i]), PU.alpha));
      } else {
        uy[i] = bitcast<vec4<u32>>(unary_f(PU.op, bitcast<vec4<f32>>(ux[i]), PU.alpha));
      }
    }
  }
}

struct BinaryParams { n4: u32, op: u32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<uniform> PB: BinaryParams;
@group(0) @binding(1) var<storage, read> ba: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> bb: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read_write> by: array<vec4<u32>>;

@compute @workgroup_size(WG)
fn binary(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let wg = workgroup_index(wid, nwg);
  for (var k = 0u; k < VPT; k++) {
    let i = (wg * VPT + k) * WG + lid;
    if (i < PB.n4) {
      by[i] = binary_bits(PB.op, ba[i], bb[i]);
    }
  }
}

// left: 0 = x op s, 1 = s op x; int_via_float: s is an f32 applied to int32 data (compute in f32, truncate as JS does).
struct ScalarParams { n4: u32, op: u32, s: u32, left: u32, int_via_float: u32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<uniform> PS: ScalarParams;
@group(0) @binding(1) var<storage, read> sx: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> sy: array<vec4<u32>>;

@compute @workgroup_size(WG)
fn binary_scalar(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let wg = workgroup_index(wid, nwg);
  let s = vec4<u32>(PS.s);
  for (var k = 0u; k < VPT; k++) {
    let i = (wg * VPT + k) * WG + lid;
    if (i < PS.n4) {
      if (IS_INT && PS.int_via_float != 0u) {
        let x = vec4<f32>(bitcast<vec4<i32>>(sx[i]));
        let sf = bitcast<vec4<f32>>(s);
        var r: vec4<f32>;
        if (PS.left != 0u) { r = binary_f(PS.op, sf, x); } else { r = binary_f(PS.op, x, sf); }
        sy[i] = bitcast<vec4<u32>>(trunc_i32(r));
      } else if (PS.left != 0u) {
        sy[i] = binary_bits(PS.op, s, sx[i]);
      } else {
        sy[i] = binary_bits(PS.op, sx[i], s);
      }
    }
  }
}

// ---- strided (broadcasting) kernels ----

// #include magic-div

struct StridedParams {
  n: u32, out_shift: u32, base0: u32, base1: u32,
  base2: u32, rank: u32, op: u32, _p0: u32,
  dims: Dims,
  s0: array<vec4<u32>, 2>,
  s1: array<vec4<u32>, 2>,
  s2: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> PT: StridedParams;

// Offsets of element i of the iteration shape in the three strided operands.
fn offsets3(i: u32) -> vec3<u32> {
  var rem = i;
  var o = vec3<u32>(0u);
  for (var j = 1u; j < PT.rank; j++) {
    let d = PT.rank - j;
    let v = d / 4u;
    let c = d % 4u;
    let q = fast_div(rem, PT.dims.magic[v][c], PT.dims.shift[v][c]);
    o += (rem - q * PT.dims.size[v][c]) * vec3<u32>(PT.s0[v][c], PT.s1[v][c], PT.s2[v][c]);
    rem = q;
  }
  return o + rem * vec3<u32>(PT.s0[0].x, PT.s1[0].x, PT.s2[0].x);
}

@group(0) @binding(1) var<storage, read> ta: array<u32>;
@group(0) @binding(2) var<storage, read> tb: array<u32>;
@group(0) @binding(3) var<storage, read_write> ty: array<u32>;

// Each invocation takes 4 consecutive elements: one index split, then steps along the last dim.
@compute @workgroup_size(WG)
fn binary_strided(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i0 = (invocation_index(wid, nwg, lid)) * 4u;
  if (i0 >= PT.n) { return; }
  let last = PT.rank - 1u;
  let inner = PT.dims.size[last / 4u][last % 4u];
  let step = vec3<u32>(PT.s0[last / 4u][last % 4u], PT.s1[last / 4u][last % 4u], 0u);
  var o = offsets3(i0);
  var c = i0 - fast_div(i0, PT.dims.magic[last / 4u][last % 4u], PT.dims.shift[last / 4u][last % 4u]) * inner;
  var av: vec4<u32>;
  var bv: vec4<u32>;
  for (var k = 0u; k < 4u; k++) {
    if (k > 0u) {
      c += 1u;
      o += step;
      if (c == inner) { c = 0u; o = offsets3(min(i0 + k, PT.n - 1u)); }
    }
    av[k] = ta[PT.base0 + o.x];
    bv[k] = tb[PT.base1 + o.y];
  }
  let r = binary_bits(PT.op, av, bv);
  for (var k = 0u; k < 4u; k++) {
    if (i0 + k < PT.n) { ty[PT.out_shift + i0 + k] = r[k]; }
  }
}

@group(0) @binding(1) var<storage, read> wc: array<u32>;
@group(0) @binding(2) var<storage, read> wa: array<u32>;
@group(0) @binding(3) var<storage, read> wb: array<u32>;
@group(0) @binding(4) var<storage, read_write> wy: array<u32>;

@compute @workgroup_size(WG)
fn where_strided(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i0 = (invocation_index(wid, nwg, lid)) * 4u;
  if (i0 >= PT.n) { return; }
  let last = PT.rank - 1u;
  let inner = PT.dims.size[last / 4u][last % 4u];
  let step = vec3<u32>(PT.s0[last / 4u][last % 4u], PT.s1[last / 4u][last % 4u], PT.s2[last / 4u][last % 4u]);
  var o = offsets3(i0);
  var c = i0 - fast_div(i0, PT.dims.magic[last / 4u][last % 4u], PT.dims.shift[last / 4u][last % 4u]) * inner;
  for (var k = 0u; k < 4u; k++) {
    let i = i0 + k;
    if (i >= PT.n) { return; }
    if (k > 0u) {
      c += 1u;
      o += step;
      if (c == inner) { c = 0u; o = offsets3(i); }
    }
    let cv = wc[PT.base0 + o.x];
    var on: bool;
    if (COND_INT) { on = cv != 0u; } else { on = (cv & 0x7fffffffu) != 0u; }
    wy[PT.out_shift + i] = select(wb[PT.base2 + o.z], wa[PT.base1 + o.y], on);
  }
}

// ---- broadcast of one operand along a single dim (bias add, per-channel scale, row vectors) ----
// out = x op v[(i / inner) % c] (or v[...] op x when left = 1), x contiguous like out. x and out
// move as vec4s; the small operand is read once per element (once per vec4 when inner % 4 == 0).
// base: index of the window's first element in the whole tensor (windows split large tensors)
struct ChannelParams { n4: u32, op: u32, c: u32, inner: u32, m_inner: vec2<u32>, m_c: vec2<u32>, left: u32, base: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<uniform> PC: ChannelParams;
@group(0) @binding(1) var<storage, read> cx: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> cv: array<u32>;
@group(0) @binding(3) var<storage, read_write> cy: array<vec4<u32>>;

fn channel_of(i: u32) -> u32 {
  let q = fast_div(i, PC.m_inner.x, PC.m_inner.y);
  return q - fast_div(q, PC.m_c.x, PC.m_c.y) * PC.c;
}

@compute @workgroup_size(WG)
fn binary_channel(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let wg = workgroup_index(wid, nwg);
  for (var k = 0u; k < VPT; k++) {
    let i4 = (wg * VPT + k) * WG + lid;
    if (i4 < PC.n4) {
      let i = PC.base + i4 * 4u;
      var v: vec4<u32>;
      if (PC.inner % 4u == 0u) {
        v = vec4<u32>(cv[channel_of(i)]);
      } else {
        v = vec4<u32>(cv[channel_of(i)], cv[channel_of(i + 1u)], cv[channel_of(i + 2u)], cv[channel_of(i + 3u)]);
      }
      if (PC.left != 0u) { cy[i4] = binary_bits(PC.op, v, cx[i4]); } else { cy[i4] = binary_bits(PC.op, cx[i4], v); }
    }
  }
}
