/**
 * Typed errors. Every message names the op, what it expected and what it got, e.g.
 * `conv2d: input has 3 channels but weight expects 1 (input [50,3,32,32], weight [32,1,3,3])`.
 */
export class GradregError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Shapes that do not fit together (broadcasting, matmul inner dims, conv channels, ...). */
export class ShapeError extends GradregError {}

/** A dtype the op or device does not accept (float64 on webgpu, int32 where floats are needed). */
export class DTypeError extends GradregError {}

/** A device that is missing, mismatched between inputs, lost, or failed to compile a kernel. */
export class DeviceError extends GradregError {}

/** Bad data: labels out of range, corrupt files, non-finite values where they are not allowed. */
export class DataError extends GradregError {}

/** A tensor used after `dispose()` (or after the `tidy` scope that owned it ended). */
export class DisposedError extends GradregError {}

/** Bad arguments that are neither shapes nor dtypes (negative strides, unknown option values). */
export class ArgumentError extends GradregError {}

/** grad() with respect to an input the outputs do not depend on; `index` is its position in the inputs. */
export class UnusedInputError extends ArgumentError {
  constructor(
    message: string,
    readonly index: number,
  ) {
    super(message);
  }
}

export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}
