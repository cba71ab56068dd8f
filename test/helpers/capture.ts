/**
 * Capture what a command run in this process writes: stdout and stderr are replaced (from the
 * file's or describe block's beforeAll) by the given sinks, and restored afterwards, when
 * `cleanup` (e.g. removing the test's temporary directory) also runs.
 */
import { afterAll, beforeAll, vi } from 'vitest';

export function captureOutput(o: { out: (s: string) => void; err?: (s: string) => void; cleanup?: () => void }): void {
  beforeAll(() => {
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => (o.out(String(s)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => (o.err?.(String(s)), true));
  });
  afterAll(() => {
    vi.restoreAllMocks();
    o.cleanup?.();
  });
}
