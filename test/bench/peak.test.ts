import { describe, expect, it } from 'vitest';
import { flopsPerCycle, nominalPeakGflops, parseCpuInfo } from '../../bench/peak.js';

const cpuinfo = (vendor: string, family: number, mhz: number): string =>
  `processor\t: 0\nvendor_id\t: ${vendor}\ncpu family\t: ${family}\nmodel\t\t: 17\nmodel name\t: Test CPU\ncpu MHz\t\t: ${mhz}\n`;

describe('bench peak', () => {
  it('parses vendor, family, model name and clock from /proc/cpuinfo', () => {
    expect(parseCpuInfo(cpuinfo('AuthenticAMD', 25, 2596.0))).toEqual({ vendor: 'AuthenticAMD', family: 25, model: 'Test CPU', mhz: 2596 });
  });
  it('counts Zen 4 AVX-512 as two 256-bit FMA pipes and Intel AVX-512 as two 512-bit units', () => {
    expect(flopsPerCycle(parseCpuInfo(cpuinfo('AuthenticAMD', 0x19, 2596)), 'avx512')).toBe(32);
    expect(flopsPerCycle(parseCpuInfo(cpuinfo('AuthenticAMD', 0x1a, 2596)), 'avx512')).toBe(64);
    expect(flopsPerCycle(parseCpuInfo(cpuinfo('GenuineIntel', 6, 2100)), 'avx512')).toBe(64);
    expect(flopsPerCycle(parseCpuInfo(cpuinfo('AuthenticAMD', 0x19, 2596)), 'avx2')).toBe(32);
    expect(flopsPerCycle(parseCpuInfo(cpuinfo('GenuineIntel', 6, 2100)), 'portable')).toBe(8);
  });
  it('multiplies cores, clock and flops per cycle', () => {
    expect(nominalPeakGflops(parseCpuInfo(cpuinfo('AuthenticAMD', 25, 2596)), 'avx512', 2)).toBeCloseTo(166.144, 6);
    expect(nominalPeakGflops(parseCpuInfo(cpuinfo('GenuineIntel', 6, 2100)), 'avx512', 2)).toBeCloseTo(268.8, 6);
  });
});
