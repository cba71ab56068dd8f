/**
 * The parts of quiet.ts that need no file system or native addon: what a probe returns, sorting
 * Dawn's captured stderr, and running a probe without capturing (what the browser build does, where
 * the browser's own GPU process has the only stderr).
 */
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

/** Run fn without capturing anything; never throws, fn's error is in the result. */
export async function uncaptured<T>(fn: () => Promise<T>): Promise<Quiet<T>> {
  try {
    return { value: await fn(), lines: [], captured: false };
  } catch (error) {
    return { error, lines: [], captured: false };
  }
}
