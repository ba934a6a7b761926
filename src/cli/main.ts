// The command line: parse, validate, call, map errors to exit codes.

import yargs from 'yargs';
import { DevError } from '../core/errors.ts';
import type { Command, CommandContext } from './command.ts';
import { completeEngine, completion } from './commands/completion.ts';
import { doctor } from './commands/doctor.ts';
import { down } from './commands/down.ts';
import { end } from './commands/end.ts';
import { env } from './commands/env.ts';
import { exec } from './commands/exec.ts';
import { status } from './commands/status.ts';
import { render } from './commands/render.ts';
import { run } from './commands/run.ts';
import { start } from './commands/start.ts';
import { sync } from './commands/sync.ts';
import { up } from './commands/up.ts';
import { version } from './commands/version.ts';
import { volumes } from './commands/volumes.ts';
import { EXIT } from './exit-codes.ts';
import type { CliIO } from './io.ts';
import { reportError } from './report.ts';
import { VERSION } from './version.ts';

/** Every command, one declaration each (src/cli/command.ts). Exported for completion, which asks yargs for command and flag names. */
export const COMMANDS: ReadonlyArray<Pick<Command, 'name' | 'module'>> = [start, end, status, volumes, exec, env, render, sync, run, up, down, version, doctor, completion, completeEngine];

function build(args: string[], io: CliIO, context: CommandContext) {
  let parser = yargs(args)
    // -f and --env repeat (-f a -f b); a value never swallows the next positional; what follows -- is kept apart (exec).
    .parserConfiguration({ 'greedy-arrays': false, 'populate--': true })
    .scriptName('kubectl dev')
    .usage('Usage: $0 <command> [options]\n\nRun your code in a live Kubernetes workload, synced from your machine.');
  for (const command of COMMANDS) parser = parser.command(command.module(io, context));
  return parser
    .demandCommand(1, 'name a command (see the list above)')
    .strict()
    .recommendCommands()
    .help()
    .alias('help', 'h')
    .version(VERSION)
    .wrap(null)
    .exitProcess(false);
}

/** A command-line mistake found by yargs (unknown flag or command, missing argument). */
class UsageError extends Error {}

/** Runs the CLI with the given arguments and streams; resolves to the exit code. */
export async function main(args: string[], io: CliIO): Promise<number> {
  let output = '';
  let exitCode: number = EXIT.ok;
  const context: CommandContext = { setExitCode: (code) => { exitCode = code; } };
  try {
    await build(args, io, context)
      .fail((message, error) => {
        // Throwing stops yargs here: a command with a wrong flag never runs its handler.
        throw error ?? new UsageError(message);
      })
      .parseAsync(args, {}, (_err, _argv, text) => {
        output = text;
      });
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`error: ${error.message}\n  hint: see kubectl dev --help\n`);
      return EXIT.usage;
    }
    return reportError(error, io);
  }
  if (output) io.stdout.write(`${output}\n`);
  return exitCode;
}
