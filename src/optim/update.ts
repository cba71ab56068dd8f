/**
 * The one op through which optimizers touch parameters: a fused in-place update of the parameter's
 * storage (and its state buffers) by the backend's `applyUpdate` kernel. It records nothing: the
 * parameter tensor keeps its identity and stays a leaf for autograd, only its values change.
 */
import type { UpdateParams, UpdateRule } from '../backends/backend.js';
import { DeviceError, DTypeError, ShapeError, fmtShape } from '../errors.js';
import { isFloat } from '../dtype.js';
import type { Tensor } from '../tensor.js';

const SLOTS: Record<UpdateRule, number> = { sgd: 0, momentum: 1, nesterov: 1, adagrad: 1, rmsprop: 1, adam: 2 };

/** Number of state buffers `rule` keeps per parameter. */
export function stateSlots(rule: UpdateRule): number {
  return SLOTS[rule];
}

/** param <- update(param, grad, state) in place (state updated in place too). */
export function applyUpdate(rule: UpdateRule, param: Tensor, grad: Tensor, state: readonly Tensor[], p: UpdateParams): void {
  const pb = param.live('applyUpdate');
  const gb = grad.live('applyUpdate');
  if (!isFloat(param.dtype)) throw new DTypeError(`applyUpdate: parameter must be float, got ${param.dtype}`);
  if (state.length !== SLOTS[rule]) throw new ShapeError(`applyUpdate: rule '${rule}' needs ${SLOTS[rule]} state buffers, got ${state.length}`);
  for (const [what, t] of [['gradient', grad], ...state.map((s, i) => [`state ${i}`, s] as const)] as const) {
    t.live('applyUpdate');
    if (t.device !== param.device) throw new DeviceError(`applyUpdate: ${what} is on ${t.device} but the parameter is on ${param.device}`);
    if (t.dtype !== param.dtype) throw new DTypeError(`applyUpdate: ${what} is ${t.dtype} but the parameter is ${param.dtype}`);
    if (t.size !== param.size) {
      throw new ShapeError(`applyUpdate: ${what} has shape ${fmtShape(t.shape)} but the parameter has ${fmtShape(param.shape)}`);
    }
  }
  pb.backend.applyUpdate(rule, pb.storage, gb.storage, state.map((s) => s.storage), p);
}
