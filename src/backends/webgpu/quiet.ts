/**
 * Quiet device probing. Dawn prints from native code straight to stderr while it enumerates
 * adapters: NormalizeLimits (Dawn's src/dawn/native/Limits.cpp) caps a driver's
 * maxDynamicUniformBuffersPerPipelineLayout and maxDynamicStorageBuffersPerPipelineLayout at
 * Dawn's own maximum (16) when the driver reports more (lavapipe reports 1000000), and
 * logs a "... artificially reduced from 1000000 to 16 ..." warning for each, a notice about Dawn's
 * internal cap that no requested limit avoids (it runs before requestAdapter returns); and without
 * a Vulkan driver the loader's and Dawn's vkCreateInstance failures follow, several lines with a
 * source location. Dawn's warning log goes to the C stderr with no callback, so JavaScript cannot
 * intercept it.
 *
 * `quietly(fn)` points file descriptor 2 at a temporary file while `fn` runs (the native addon's
 * stderrRedirect: a dup2 pair), then sorts what was written: Dawn's limit notices are dropped; the
 * rest is returned, so that a failure can carry it in its message (the auto report shows why webgpu
 * was skipped) and a success can pass it on to stderr unchanged (it may be a real warning). Without
 * the native addon nothing is captured and Dawn prints as before.
 */
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAddon } from '../native/addon.js';
import { filterDawnStderr, uncaptured, type Quiet } from './dawn-stderr.js';

export { filterDawnStderr, summarizeDawnStderr, uncaptured, type Quiet } from './dawn-stderr.js';

let serial = 0;

/** Run fn with fd 2 captured (see the file comment); never throws, fn's error is in the result. */
export async function quietly<T>(fn: () => Promise<T>): Promise<Quiet<T>> {
  const addon = loadAddon();
  const redirect = typeof addon === 'string' ? undefined : addon.stderrRedirect?.bind(addon);
  const restore = typeof addon === 'string' ? undefined : addon.stderrRestore?.bind(addon);
  if (!redirect || !restore) return uncaptured(fn);
  const file = join(tmpdir(), `gradreg-dawn-stderr-${process.pid}-${serial++}.log`);
  const saved = redirect(file);
  if (saved < 0) return uncaptured(fn);
  const out: Quiet<T> = { lines: [], captured: true };
  try {
    out.value = await fn();
  } catch (error) {
    out.error = error;
  } finally {
    restore(saved);
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      // nothing was written
    }
    rmSync(file, { force: true });
    out.lines = filterDawnStderr(text);
  }
  return out;
}
