import { describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';

describe('int32 arithmetic on cpu wraps modulo 2^32 like the GPU backends', () => {
  const a = () => g.tensor([2147483647, 3, -7], [3], { dtype: 'int32' });
  it('square, mul of tensors, mul by a scalar and broadcast mul', () => {
    expect(Array.from(g.square(a()).dataSync())).toEqual([1, 9, 49]);
    expect(Array.from(g.mul(a(), a()).dataSync())).toEqual([1, 9, 49]);
    expect(Array.from(g.mul(a(), 2147483647).dataSync())).toEqual([1, 2147483645, -2147483641]);
    const b = g.tensor([2147483647], [1], { dtype: 'int32' });
    expect(Array.from(g.mul(a(), b).dataSync())).toEqual([1, 2147483645, -2147483641]);
  });
});

describe('int32 times a non-integer scalar', () => {
  it('is computed in floating point, then truncated toward zero', () => {
    const a = g.tensor([5, -5, 3], [3], { dtype: 'int32' });
    expect(Array.from(g.mul(a, 0.5).dataSync())).toEqual([2, -2, 1]);
    expect(Array.from(g.mul(a, 2.5).dataSync())).toEqual([12, -12, 7]);
  });
});
