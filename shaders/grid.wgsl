// The dispatch grid of every kernel (spliced in by `// #include grid`; the includer declares the
// override WG). A dispatch of more than 65535 workgroups is a 2-D grid of rows of nwg.x
// workgroups (Runtime.grid in src/backends/webgpu/runtime.ts), which kernels read as one flat index.

fn workgroup_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.x + wid.y * nwg.x;
}

// One index per invocation: WG consecutive indices per workgroup.
fn invocation_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return workgroup_index(wid, nwg) * WG + lid;
}
