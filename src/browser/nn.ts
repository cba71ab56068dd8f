/** The `nn` namespace of the browser entry: src/nn/index.ts less the safetensors file functions. */
export { Module, copyInto, functionalCall, type StateDict } from '../nn/module.js';
export {
  Linear, Conv2d, MaxPool2d, AvgPool2d, BatchNorm2d, BatchNorm1d, Dropout, ReLU, LeakyReLU, Tanh, Sigmoid, Flatten,
  Sequential, BasicBlock, setRandomStep, DROPOUT_STEP_STRIDE,
  type ParamOptions, type DenseOptions, type Conv2dLayerOptions, type PoolLayerOptions, type BatchNormLayerOptions,
  type BasicBlockOptions,
} from '../nn/layers.js';
export { initTensor, deriveSeed, fans, type InitName, type InitOptions } from '../nn/init.js';
export { createModel, isModelName, ResNet, MODEL_NAMES, type ModelName, type ModelOptions } from '../nn/models.js';
