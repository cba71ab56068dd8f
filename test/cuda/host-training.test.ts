// End to end on the host build of the CUDA kernels: training with a gradient penalty vs the cpu reference.
import { HOST_DEVICE, hostStatus, useHostDevice } from './host-backend.js';
import { defineTrainingSuite } from './training-suite.js';

const status = hostStatus();
if (!status.ok) console.log(`test/cuda/host-training: skipped: ${status.reason}`);
defineTrainingSuite('cuda host build', status.ok, HOST_DEVICE, useHostDevice, 1e-4);
