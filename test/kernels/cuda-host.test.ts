// The kernel suite on the host build of the CUDA kernel bodies (every CI run), against the cpu reference.
import { defineCudaKernelChecks } from '../cuda/kernel-errors.js';
import { hostBackend, hostStatus } from '../cuda/host-backend.js';
import { defineKernelSuite } from './suite.js';

const status = hostStatus();
if (!status.ok) console.log(`test/kernels/cuda-host: skipped: ${status.reason}`);
defineKernelSuite('cuda host build', status.ok, hostBackend);
defineCudaKernelChecks('cuda host build', status.ok, hostBackend);
