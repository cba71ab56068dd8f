/** Modules, layers, initializers, the papers' models, and safetensors checkpoints. */
export { Module, copyInto, functionalCall, type StateDict } from './module.js';
export {
  Linear, Conv2d, MaxPool2d, AvgPool2d, BatchNorm2d, BatchNorm1d, Dropout, ReLU, LeakyReLU, Tanh, Sigmoid, Flatten,
  Sequential, BasicBlock, setRandomStep, DROPOUT_STEP_STRIDE,
  type ParamOptions, type DenseOptions, type Conv2dLayerOptions, type PoolLayerOptions, type BatchNormLayerOptions,
  type BasicBlockOptions,
} from './layers.js';
export { initTensor, deriveSeed, fans, type InitName, type InitOptions } from './init.js';
export { createModel, isModelName, ResNet, MODEL_NAMES, type ModelName, type ModelOptions } from './models.js';
export {
  encodeSafetensors, decodeSafetensors, saveSafetensors, loadSafetensors, writeFileAtomic, toHost, type HostTensor,
} from './safetensors.js';
