/** Flag parsing shared by subcommands: user mistakes become a UsageError (one line, exit 2). */
import { accessSync, constants, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { GradregError } from '../errors.js';

/** A mistake in the command line: printed as `gradreg <command>: <message>`, exit status 2. */
export class UsageError extends GradregError {}

export type FlagSpec = NonNullable<ParseArgsConfig['options']>;

const NEGATIVE_NUMBER = /^-(\d|\.\d|inf)/i;

/**
 * Parse `argv` against `options`; unknown flags, missing values and positionals are UsageErrors.
 * A value that looks like a negative number (`--epochs -1`) is taken as the value, so the option's
 * own check can say what it expected, rather than node's "argument is ambiguous".
 */
export function parseFlags(cmd: string, argv: string[], options: FlagSpec): Record<string, string | boolean | undefined> {
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    const spec = a.startsWith('--') && !a.includes('=') ? options[a.slice(2)] : undefined;
    if (spec?.type === 'string' && next !== undefined && NEGATIVE_NUMBER.test(next)) {
      args.push(`${a}=${next}`);
      i++;
    } else args.push(a);
  }
  const help = `(see 'gradreg ${cmd} --help')`;
  try {
    const { values, positionals } = parseArgs({ args, options, strict: true, allowPositionals: true });
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}' ${help}`);
    return values as Record<string, string | boolean | undefined>;
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const msg = e instanceof Error ? e.message.split('\n')[0]! : String(e);
    const ambiguous = /^Option '(--[\w-]+)[^']*' argument is ambiguous/.exec(msg);
    if (ambiguous) {
      const i = args.indexOf(ambiguous[1]!);
      throw new UsageError(`${ambiguous[1]}: expected a value, got the option '${args[i + 1] ?? ''}' ${help}`);
    }
    const missing = /^Option '(--[\w-]+)[^']*' argument missing/.exec(msg);
    if (missing) throw new UsageError(`${missing[1]}: expected a value ${help}`);
    throw new UsageError(`${msg.replace(/\. To specify a positional argument.*$/, '')} ${help}`);
  }
}

/** An integer option: `min` and above (the default need not obey it: 0 can mean "off"). */
export function intFlag(name: string, v: string | boolean | undefined, def: number, min = 1): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`--${name}: expected an integer >= ${min}, got '${String(v)}'`);
  }
  return n;
}

/** A finite number option, `min` and above (or above `min` with `exclusive`). */
export function numFlag(name: string, v: string | boolean | undefined, def: number, min = 0, exclusive = false): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n) || n < min || (exclusive && n === min)) {
    throw new UsageError(`--${name}: expected a number ${exclusive ? '>' : '>='} ${min}, got '${String(v)}'`);
  }
  return n;
}

/** A number option that must be > 0 (a learning rate, an epsilon). */
export function positiveFlag(name: string, v: string | boolean | undefined, def: number): number {
  return numFlag(name, v, def, 0, true);
}

export function choiceFlag<T extends string>(name: string, v: string | boolean | undefined, choices: readonly T[], def: T): T {
  if (v === undefined) return def;
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) {
    throw new UsageError(`--${name}: unknown value '${String(v)}' (expected one of: ${choices.join(', ')})`);
  }
  return v as T;
}

/** The nearest existing directory at or above `p`, or the existing non-directory that blocks it. */
function nearestExisting(p: string): string {
  let cur = p;
  while (!existsSync(cur)) {
    const up = dirname(cur);
    if (up === cur) return cur;
    cur = up;
  }
  return cur;
}

/**
 * Check before any work that `dir` can hold a command's output: it is a directory or can be created
 * as one, and files can be written there. The check creates and removes a scratch directory in the
 * nearest existing ancestor (permission bits alone do not tell, e.g. for root or read-only mounts);
 * `dir` itself is not created.
 */
export function checkOutputDir(flag: string, dir: string): string {
  const abs = resolve(dir);
  const at = nearestExisting(abs);
  let isDir: boolean;
  try {
    isDir = statSync(at).isDirectory();
  } catch (e) {
    throw new UsageError(`${flag} ${dir}: cannot be used as an output directory (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!isDir) {
    throw new UsageError(at === abs ? `${flag} ${dir}: is a file, expected a directory` : `${flag} ${dir}: ${at} is a file, so the directory cannot be created`);
  }
  try {
    accessSync(at, constants.W_OK | constants.X_OK);
    const probe = mkdtempSync(join(at, '.gradreg-write-check-'));
    rmSync(probe, { recursive: true, force: true });
  } catch {
    throw new UsageError(`${flag} ${dir}: ${at === abs ? 'the directory is' : `${at} is`} not writable`);
  }
  return abs;
}
