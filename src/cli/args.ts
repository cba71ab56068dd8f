/** Flag parsing shared by subcommands: user mistakes become a UsageError (one line, exit 2). */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { GradregError } from '../errors.js';

export class UsageError extends GradregError {}

export type FlagSpec = NonNullable<ParseArgsConfig['options']>;

/** Parse `argv` against `options`; unknown flags, missing values and positionals are UsageErrors. */
export function parseFlags(cmd: string, argv: string[], options: FlagSpec): Record<string, string | boolean | undefined> {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, strict: true, allowPositionals: true });
    if (positionals.length > 0) throw new UsageError(`${cmd}: unexpected argument '${positionals[0]}' (see 'gradreg ${cmd} --help')`);
    return values as Record<string, string | boolean | undefined>;
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const msg = e instanceof Error ? e.message.split('\n')[0]! : String(e);
    throw new UsageError(`${cmd}: ${msg.replace(/\. To specify a positional argument.*$/, '')} (see 'gradreg ${cmd} --help')`);
  }
}

export function intFlag(name: string, v: string | boolean | undefined, def: number, min = 1): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`--${name}: expected an integer >= ${min}, got '${String(v)}'`);
  }
  return n;
}

export function numFlag(name: string, v: string | boolean | undefined, def: number, min = 0): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n) || n < min) {
    throw new UsageError(`--${name}: expected a number >= ${min}, got '${String(v)}'`);
  }
  return n;
}

export function choiceFlag<T extends string>(name: string, v: string | boolean | undefined, choices: readonly T[], def: T): T {
  if (v === undefined) return def;
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) {
    throw new UsageError(`--${name}: unknown value '${String(v)}' (expected one of: ${choices.join(', ')})`);
  }
  return v as T;
}
