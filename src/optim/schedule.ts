/**
 * Learning-rate schedules: functions of the number of updates already applied.
 * - constant: lr
 * - step: lr * factors[i] from milestones[i-1] * totalSteps on; the replication report's schedule
 *   (0.1, 0.01 at 50%, 0.001 at 75% of training) is lr = 0.1 with the default milestones and factors.
 */
import { ArgumentError } from '../errors.js';

export type LrSchedule = (step: number) => number;

export type ScheduleSpec =
  | { kind: 'constant' }
  | { kind: 'step'; milestones?: readonly number[]; factors?: readonly number[] };

export const SCHEDULE_NAMES = ['constant', 'step'] as const;

export function constantSchedule(lr: number): LrSchedule {
  return () => lr;
}

/** Piecewise-constant: factors[0] before the first milestone, factors[i] from milestone i-1 (fractions of totalSteps). */
export function stepSchedule(
  lr: number,
  totalSteps: number,
  milestones: readonly number[] = [0.5, 0.75],
  factors: readonly number[] = [1, 0.1, 0.01],
): LrSchedule {
  if (factors.length !== milestones.length + 1) {
    throw new ArgumentError(`stepSchedule: needs one more factor than milestones, got ${factors.length} factors for ${milestones.length} milestones`);
  }
  if (milestones.some((m, i) => !(m > 0 && m < 1) || (i > 0 && m <= milestones[i - 1]!))) {
    throw new ArgumentError(`stepSchedule: milestones must be increasing fractions in (0, 1), got [${milestones.join(', ')}]`);
  }
  if (!Number.isInteger(totalSteps) || totalSteps < 1) throw new ArgumentError(`stepSchedule: totalSteps must be a positive integer, got ${totalSteps}`);
  const bounds = milestones.map((m) => Math.round(m * totalSteps));
  return (step) => {
    let i = 0;
    while (i < bounds.length && step >= bounds[i]!) i++;
    return lr * factors[i]!;
  };
}

export function makeSchedule(spec: ScheduleSpec, lr: number, totalSteps: number): LrSchedule {
  if (!(lr >= 0) || !Number.isFinite(lr)) throw new ArgumentError(`schedule: learning rate must be a finite number >= 0, got ${lr}`);
  switch (spec.kind) {
    case 'constant':
      return constantSchedule(lr);
    case 'step':
      return stepSchedule(lr, totalSteps, spec.milestones, spec.factors);
    default:
      throw new ArgumentError(`schedule: unknown kind '${(spec as { kind: string }).kind}' (expected constant or step)`);
  }
}
