/**
 * The machine's nominal float32 peak: cores x clock x float32 flops per cycle per core, where the
 * flops per cycle follow from the micro-architecture's FMA units, not from the ISA alone:
 *
 * - Intel server cores with AVX-512 (Skylake-SP Gold/Platinum and later): two 512-bit FMA units,
 *   2 x 16 lanes x 2 flops = 64.
 * - AMD Zen 4 (family 0x19 with AVX-512): AVX-512 runs on the two 256-bit FMA pipes, a 512-bit FMA
 *   taking both ("double-pumped", A. J. Yee's Zen 4 AVX-512 teardown, numberworld.org, 2022), so
 *   2 x 8 x 2 = 32. The FMA probe agrees: 232 GFLOP/s on two cores reported at 2596 MHz is 32 flops
 *   per cycle at a 3.6 GHz boost clock, or 64 at 1.8 GHz, below the base clock.
 * - AMD Zen 5 (family 0x1A): full 512-bit FMA pipes, 64.
 * - AVX2 with FMA (Haswell and later, Zen 1-3): two 256-bit FMA units, 32.
 * - Anything else: one 128-bit multiply and add, 8.
 *
 * The clock is /proc/cpuinfo's (the base clock on a VM); cores that boost above it can exceed this
 * nominal peak, which is why the bench also prints the probed peak (FMA chains on every thread).
 */
export interface CpuId {
  vendor: string;
  family: number;
  model: string;
  mhz: number;
}

export function parseCpuInfo(text: string): CpuId {
  const field = (name: string): string | undefined => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(text)?.[1]?.trim();
  return {
    vendor: field('vendor_id') ?? 'unknown',
    family: Number(field('cpu family') ?? NaN),
    model: field('model name') ?? 'unknown',
    mhz: Number(field('cpu MHz') ?? NaN),
  };
}

/** Float32 flops per cycle per core for this CPU running the given native ISA. */
export function flopsPerCycle(cpu: CpuId, isa: string): number {
  if (isa === 'avx512') {
    if (cpu.vendor === 'AuthenticAMD' && cpu.family === 0x19) return 32;
    return 64;
  }
  if (isa === 'avx2') return 32;
  return 8;
}

export function nominalPeakGflops(cpu: CpuId, isa: string, cores: number): number {
  return (cores * cpu.mhz * 1e6 * flopsPerCycle(cpu, isa)) / 1e9;
}
