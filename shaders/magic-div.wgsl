// Integer division by a host-computed magic pair, shared by the kernel families that split flat
// indices (spliced in where a family says `// #include magic-div`). Exact for n < 2^31. Its 32x32
// high product also serves the Philox kernel.

// High word of the 64-bit product a*b.
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
fn fast_div(n: u32, m: u32, s: u32) -> u32 {
  return select(mulhi(n, m) >> s, n, m == 0u);
}

fn fdiv(n: u32, ms: vec2<u32>) -> u32 {
  return fast_div(n, ms.x, ms.y);
}

// An iteration shape of up to 8 dims with each dim's magic divisor (the strided kernels'
// uniforms; the host packs it with dimsWords in src/backends/webgpu/launch.ts).
struct Dims {
  size: array<vec4<u32>, 2>,
  magic: array<vec4<u32>, 2>,
  shift: array<vec4<u32>, 2>,
}
