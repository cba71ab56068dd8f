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

/** Dawn's notice that it capped a limit the driver reports as larger than its own fixed maximum. */
const LIMIT_NOTICE = /^Warning: max\w+ artificially reduced from \d+ to \d+ to fit dynamic offset allocation limit\.$/;

export interface Quiet<T> {
  value?: T;
  error?: unknown;
  /** Lines written to stderr while fn ran, less Dawn's limit notices (empty when not captured). */
  lines: string[];
  /** Whether stderr was captured (false without the native addon). */
  captured: boolean;
}

let serial = 0;

/** Split captured stderr into lines and drop Dawn's limit notices and blank lines. */
export function filterDawnStderr(text: string): string[] {
  return text.split(/\r?\n/).filter((l) => l.trim() !== '' && !LIMIT_NOTICE.test(l));
}

/** One line for an error message: the captured lines without source-location lines, joined and capped. */
export function summarizeDawnStderr(lines: readonly string[], max = 400): string {
  const s = lines
    .filter((l) => !/^\s+at /.test(l))
    .map((l) => l.trim())
    .join('; ');
  return s.length > max ? `${s.slice(0, max - 3)}...` : s;
}

/** Run fn with fd 2 captured (see the file comment); never throws, fn's error is in the result. */
export async function quietly<T>(fn: () => Promise<T>): Promise<Quiet<T>> {
  const addon = loadAddon();
  const redirect = typeof addon === 'string' ? undefined : addon.stderrRedirect?.bind(addon);
  const restore = typeof addon === 'string' ? undefined : addon.stderrRestore?.bind(addon);
  if (!redirect || !restore) {
    try {
      return { value: await fn(), lines: [], captured: false };
    } catch (error) {
      return { error, lines: [], captured: false };
    }
  }
  const file = join(tmpdir(), `gradreg-dawn-stderr-${process.pid}-${serial++}.log`);
  const saved = redirect(file);
  if (saved < 0) {
    try {
      return { value: await fn(), lines: [], captured: false };
    } catch (error) {
      return { error, lines: [], captured: false };
    }
  }
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
