/**
 * The op-code table (src/backends/opcodes.ts) is the only place op codes are written down: the C++
 * enums and WGSL constants are generated from it and committed, and the kernel sources name codes
 * only through them.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ARG_REDUCE_OPS, BINARY_OPS, RANDOM_KINDS, REDUCE_OPS, UNARY_OPS, UPDATE_RULES, cppOpcodes, kernelName, wgslOpcodes,
} from '../../src/backends/opcodes.js';
import { FAMILIES, shaderSource } from '../../src/backends/webgpu/shaders.js';

const read = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

describe('op-code table', () => {
  it('native/opcodes.h and shaders/opcodes.wgsl are what the table generates (run `npx tsx scripts/gen-opcodes.ts`)', () => {
    expect(read('native/opcodes.h')).toBe(cppOpcodes());
    expect(read('shaders/opcodes.wgsl')).toBe(wgslOpcodes());
  });

  it('gives every entry a distinct kernel name', () => {
    const names = [UNARY_OPS, BINARY_OPS, REDUCE_OPS, ARG_REDUCE_OPS, RANDOM_KINDS, UPDATE_RULES].flat().map(kernelName);
    expect(new Set(names).size).toBe(names.length);
    expect(kernelName('leakyReluGrad')).toBe('kLeakyReluGrad');
  });

  it('the WGSL switches over op codes name them (no numeric case labels in the op-coded shaders)', () => {
    for (const family of ['elementwise', 'reduce', 'optim', 'random'] as const) {
      expect(FAMILIES).toContain(family);
      const src = shaderSource(family);
      expect(src, family).toContain('const kNeg: u32 = 0u;');
    }
    const ew = read('shaders/elementwise.wgsl');
    const unary = ew.slice(ew.indexOf('fn unary_f('), ew.indexOf('fn binary_bits('));
    expect(unary.match(/case \d+u:/g) ?? []).toEqual([]);
    for (const op of UNARY_OPS) expect(unary, op).toContain(`case ${kernelName(op)}:`);
    for (const op of BINARY_OPS) expect(unary, op).toContain(`case ${kernelName(op)}:`);
  });

  it('every unary and binary op has a case in the C++ formulas both addons compile (native/formulas.h)', () => {
    const formulas = read('native/formulas.h');
    for (const op of [...UNARY_OPS, ...BINARY_OPS]) expect(formulas, op).toContain(`case ${kernelName(op)}:`);
    expect(read('native/cpu/elementwise.cc')).toContain('#include "../formulas.h"');
    expect(read('native/cuda/kernels/common.cuh')).toContain('#include "../../formulas.h"');
  });
});
