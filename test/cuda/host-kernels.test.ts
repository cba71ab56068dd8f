// Kernel-level checks of the CUDA kernel bodies, compiled for the host, against the cpu reference.
import { hostBackend, hostStatus } from './host-backend.js';
import { defineKernelSuite } from './kernel-suite.js';

const status = hostStatus();
if (!status.ok) console.log(`test/cuda/host-kernels: skipped: ${status.reason}`);
defineKernelSuite('cuda host build', status.ok, hostBackend);
