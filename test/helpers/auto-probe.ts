/**
 * Run as a child process by test/engine-auto.test.ts: picks a device with setBackend('auto'), runs
 * one op on it, and prints the auto report as JSON on stdout (stderr is what the test inspects).
 */
import * as g from '../../src/index.js';

const report = await g.setBackend('auto');
const y = g.sum(g.mul(g.tensor([1, 2, 3]), 2));
console.log(JSON.stringify({ ...report, value: await y.item() }));
