// Philox 4x32-10 (Salmon et al., SC'11), exactly as src/random/philox.ts: element i of a draw uses
// counter [lo32(offset + i), hi32(offset + i), stream, 0] and key [seedLo, seedHi].
//   uniform   = a + (b - a) * u(r0)
//   normal    = a + b * sqrt(-2 ln u(r0)) * cos(2 pi u(r1))     (Box-Muller)
//   bernoulli = u(r0) < p, decided on the 24-bit integer so it matches the double comparison exactly
// with u(r) = ((r >> 8) + 0.5) * 2^-24. The logarithm and cosine are evaluated from the integer
// words with our own range reduction and series, so the result does not depend on the driver's
// precision for log/cos (Vulkan allows 2^-11 absolute error for cos).

override WG: u32 = 256u;

// #include grid

// #include opcodes

// kind: a RandomKind code (kUniform, kNormal, kBernoulli)
struct RandomParams {
  n: u32, base: u32, off_lo: u32, off_hi: u32,
  seed_lo: u32, seed_hi: u32, stream: u32, threshold: u32,
  a: f32, b: f32, one: u32, kind: u32,
}

@group(0) @binding(0) var<uniform> P: RandomParams;
@group(0) @binding(1) var<storage, read_write> y: array<u32>;

// #include magic-div

// (high, low) 32-bit words of the 64-bit product a*b.
fn mulhilo(a: u32, b: u32) -> vec2<u32> {
  return vec2<u32>(mulhi(a, b), a * b);
}

fn philox(ctr: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
  var c = ctr;
  var k = key;
  for (var r = 0u; r < 10u; r++) {
    let p0 = mulhilo(0xd2511f53u, c.x);
    let p1 = mulhilo(0xcd9e8d57u, c.z);
    c = vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
    k = k + vec2<u32>(0x9e3779b9u, 0xbb67ae85u);
  }
  return c;
}

// 2 atanh(s) = ln((1+s)/(1-s)), for |s| <= 1/3.
fn two_atanh(s: f32) -> f32 {
  let z = s * s;
  var p = 1.0 / 19.0;
  p = p * z + 1.0 / 17.0;
  p = p * z + 1.0 / 15.0;
  p = p * z + 1.0 / 13.0;
  p = p * z + 1.0 / 11.0;
  p = p * z + 1.0 / 9.0;
  p = p * z + 1.0 / 7.0;
  p = p * z + 1.0 / 5.0;
  p = p * z + 1.0 / 3.0;
  return 2.0 * (s + s * z * p);
}

// ln u(r) for the 24-bit integer k = r >> 8, u = (k + 0.5) 2^-24.
fn log_unit(k: u32) -> f32 {
  if (k >= 0x800000u) {
    // u >= 1/2: w = 1 - u is exact; ln(1 - w) = 2 atanh(-w / (2 - w)).
    let w = (f32(0x1000000u - k) - 0.5) * (1.0 / 16777216.0);
    return two_atanh(-w / (2.0 - w));
  }
  let u = (f32(k) + 0.5) * (1.0 / 16777216.0);
  let fr = frexp(u);
  var m = fr.fract;
  var e = fr.exp;
  if (m < 0.70710678) { m = m * 2.0; e = e - 1; }
  let lm = two_atanh((m - 1.0) / (m + 1.0));
  return f32(e) * 0.693145752 + (f32(e) * 1.42860677e-6 + lm);
}

fn sin_poly(x: f32) -> f32 {
  let z = x * x;
  return x * (1.0 + z * (-1.0 / 6.0 + z * (1.0 / 120.0 + z * (-1.0 / 5040.0 + z * (1.0 / 362880.0)))));
}

fn cos_poly(x: f32) -> f32 {
  let z = x * x;
  return 1.0 + z * (-0.5 + z * (1.0 / 24.0 + z * (-1.0 / 720.0 + z * (1.0 / 40320.0 + z * (-1.0 / 3628800.0)))));
}

// cos(2 pi u(r)) with u = (2k + 1) 2^-25: split into a quadrant and an exact 23-bit remainder.
fn cos_unit(k: u32) -> f32 {
  let n = 2u * k + 1u;
  let q = n >> 23u;
  let rem = n & 0x7fffffu;
  let scale = 1.57079632679 / 8388608.0;
  var c: f32;
  var s: f32;
  if (rem <= 0x400000u) {
    let t = f32(rem) * scale;
    c = cos_poly(t);
    s = sin_poly(t);
  } else {
    let t = f32(0x800000u - rem) * scale;
    c = sin_poly(t);
    s = cos_poly(t);
  }
  switch q {
    case 0u: { return c; }
    case 1u: { return -s; }
    case 2u: { return -c; }
    default: { return s; }
  }
}

@compute @workgroup_size(WG)
fn random(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = invocation_index(wid, nwg, lid);
  if (i >= P.n) { return; }
  let g = P.base + i;
  let lo = P.off_lo + g;
  let hi = P.off_hi + select(0u, 1u, lo < g);
  let r = philox(vec4<u32>(lo, hi, P.stream, 0u), vec2<u32>(P.seed_lo, P.seed_hi));
  let k0 = r.x >> 8u;
  var v: f32;
  switch P.kind {
    // b holds high - low, rounded once on the host.
    case kUniform: { v = P.a + P.b * ((f32(k0) + 0.5) * (1.0 / 16777216.0)); }
    case kNormal: { v = P.a + P.b * sqrt(-2.0 * log_unit(k0)) * cos_unit(r.y >> 8u); }
    default: {
      y[i] = select(0u, P.one, k0 < P.threshold);
      return;
    }
  }
  y[i] = bitcast<u32>(v);
}
