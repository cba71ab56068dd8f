/**
 * The subcommand table of the `gradreg` command: adding a subcommand is one entry in COMMANDS.
 * User errors (bad flags, missing or corrupt data) print one line and exit 2, with no stack trace.
 */
import { DataError } from '../errors.js';
import { UsageError } from './args.js';
import { TRAIN_USAGE, trainCommand } from './train-command.js';
import { REPRODUCE_USAGE, run as reproduceCommand } from './reproduce.js';
import { COST_USAGE, run as costCommand } from './cost.js';
import { PLAN_USAGE, SLURM_USAGE, STATUS_USAGE, planCommand, slurmCommand, statusCommand } from './cluster.js';

export interface Command {
  summary: string;
  usage: string;
  run: (argv: string[]) => Promise<number>;
}

export const COMMANDS: Record<string, Command> = {
  train: { summary: "train one of the papers' models on MNIST, Fashion-MNIST or CIFAR-10", usage: TRAIN_USAGE, run: trainCommand },
  reproduce: { summary: "run a table or figure of the papers (every method, lambda and seed), resumable", usage: REPRODUCE_USAGE, run: reproduceCommand },
  cost: { summary: 'time and peak memory of one training step per regularizer, relative to baseline', usage: COST_USAGE, run: costCommand },
  plan: { summary: "a preset's runs and estimated core-hours per method and size, before anything runs", usage: PLAN_USAGE, run: planCommand },
  slurm: { summary: 'an sbatch array script running a preset as shards on a SLURM cluster (--submit submits it)', usage: SLURM_USAGE, run: slurmCommand },
  status: { summary: 'done / running / missing runs per shard of a results directory', usage: STATUS_USAGE, run: statusCommand },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const list = Object.entries(COMMANDS)
    .map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
    .join('\n');
  return `Usage: gradreg <command> [options]\n\nCommands:\n${list}\n\nRun 'gradreg <command> --help' for a command's options.`;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(`${usage()}\n`);
    return cmd === undefined ? 2 : 0;
  }
  const c = COMMANDS[cmd];
  if (!c) {
    process.stderr.write(`gradreg: unknown command '${cmd}' (commands: ${Object.keys(COMMANDS).join(', ')})\n`);
    return 2;
  }
  try {
    return await c.run(rest);
  } catch (e) {
    if (e instanceof UsageError || e instanceof DataError) {
      process.stderr.write(`gradreg ${cmd}: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
