/**
 * Checkpoints: one safetensors file holding the model's state dict under its own names (so
 * `model.load_state_dict(load_file(path), strict=False)` works in PyTorch), the optimizer state
 * under `optim/<param>.<slot>`, and in the metadata the optimizer progress, the training state and
 * any caller-supplied JSON (the run's configuration).
 */
import type { Module } from '../nn/module.js';
import { loadSafetensors, saveSafetensors, type HostTensor } from '../nn/safetensors.js';
import { tensor } from '../ops/creation.js';
import type { Optimizer, OptimizerMeta } from '../optim/optimizers.js';
import { DataError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import type { TrainState } from './train.js';

export const CHECKPOINT_FORMAT = 'gradreg-checkpoint-1';
const OPTIM_PREFIX = 'optim/';

export interface CheckpointContents {
  state: TrainState | null;
  optimizer: OptimizerMeta | null;
  /** Caller JSON (e.g. the run config), parsed. */
  extra: Record<string, unknown>;
}

export async function saveCheckpoint(
  path: string,
  model: Module,
  optimizer: Optimizer | null,
  state: TrainState | null,
  extra: Record<string, unknown> = {},
): Promise<void> {
  const tensors: Record<string, Tensor> = { ...model.stateDict() };
  if (optimizer) for (const [k, t] of Object.entries(optimizer.stateDict())) tensors[OPTIM_PREFIX + k] = t;
  const metadata: Record<string, string> = { format: CHECKPOINT_FORMAT, extra: JSON.stringify(extra) };
  if (optimizer) metadata.optimizer = JSON.stringify(optimizer.meta());
  if (state) metadata.trainState = JSON.stringify(state);
  await saveSafetensors(path, tensors, metadata);
}

function upload(h: HostTensor, like: Tensor): Tensor {
  return tensor(h.data, h.shape, { dtype: h.dtype, device: like.device });
}

function parseJson<T>(path: string, key: string, s: string | undefined): T | null {
  if (s === undefined) return null;
  try {
    return JSON.parse(s) as T;
  } catch {
    throw new DataError(`${path}: checkpoint metadata '${key}' is not valid JSON`);
  }
}

/** Read a checkpoint's metadata without touching a model. */
export function readCheckpointMeta(path: string): CheckpointContents {
  const { metadata } = loadSafetensors(path);
  return contents(path, metadata);
}

function contents(path: string, metadata: Record<string, string>): CheckpointContents {
  if (metadata.format !== CHECKPOINT_FORMAT) throw new DataError(`${path}: not a gradreg checkpoint (format '${metadata.format ?? 'none'}')`);
  return {
    state: parseJson<TrainState>(path, 'trainState', metadata.trainState),
    optimizer: parseJson<OptimizerMeta>(path, 'optimizer', metadata.optimizer),
    extra: parseJson<Record<string, unknown>>(path, 'extra', metadata.extra) ?? {},
  };
}

/** Load model (and optimizer) values from a checkpoint; returns its metadata. */
export function loadCheckpoint(path: string, model: Module, optimizer: Optimizer | null = null): CheckpointContents {
  const { tensors, metadata } = loadSafetensors(path);
  const c = contents(path, metadata);
  const own = model.stateDict();
  const modelSd: Record<string, Tensor> = {};
  const optimSd: Record<string, Tensor> = {};
  const like = Object.values(own)[0];
  try {
    for (const [k, h] of Object.entries(tensors)) {
      if (k.startsWith(OPTIM_PREFIX)) {
        if (optimizer && like) optimSd[k.slice(OPTIM_PREFIX.length)] = upload(h, like);
      } else {
        const target = own[k];
        if (!target) throw new DataError(`${path}: tensor '${k}' does not belong to this model`);
        modelSd[k] = upload(h, target);
      }
    }
    try {
      model.loadStateDict(modelSd);
    } catch (e) {
      throw new DataError(`${path}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (optimizer) {
      if (!c.optimizer) throw new DataError(`${path}: checkpoint has no optimizer state`);
      try {
        optimizer.loadStateDict(optimSd, c.optimizer);
      } catch (e) {
        throw new DataError(`${path}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  } finally {
    for (const t of [...Object.values(modelSd), ...Object.values(optimSd)]) t.dispose();
  }
  return c;
}
