// The command line: parse, validate, call, map errors to exit codes.

import yargs from 'yargs';
import { DevError } from '../core/errors.ts';
import { parseWorkloadRef } from '../core/kinds.ts';
import type { OutputFormat } from '../core/manifests.ts';
import { EXIT } from './exit-codes.ts';
import type { CliIO } from './io.ts';
import { endLocal, startLocal } from './local.ts';
import { reportError } from './report.ts';
import { settingsFromArgs, withSettingsFlags } from './settings-flags.ts';

declare const KUBECTL_DEV_VERSION: string | undefined;
export const VERSION = typeof KUBECTL_DEV_VERSION === 'string' ? KUBECTL_DEV_VERSION : '0.0.0-dev';

function liveModeNotYet(command: string): never {
  throw new DevError('NOT_IMPLEMENTED', `live "${command}" against a cluster is not available in this build`,
    `use --local with -f to rewrite manifests offline, e.g. kubectl dev ${command} --local -f app.yaml`);
}

function build(args: string[], io: CliIO) {
  return yargs(args)
    // -f and --env repeat (-f a -f b); a value never swallows the next positional.
    .parserConfiguration({ 'greedy-arrays': false })
    .scriptName('kubectl dev')
    .usage('Usage: $0 <command> [options]\n\nRun your code in a live Kubernetes workload, synced from your machine.')
    .command('start [workload]', 'Put a workload in dev mode', (y) =>
      withSettingsFlags(y)
        .positional('workload', { type: 'string', describe: 'KIND/NAME, e.g. deployment/web' })
        .option('filename', { alias: 'f', type: 'string', array: true, describe: 'Manifests to rewrite (file, directory or -)' })
        .option('local', { type: 'boolean', default: false, describe: 'Rewrite the manifests given with -f and print them; no cluster access' })
        .option('output', { alias: 'o', choices: ['yaml', 'json'] as const, default: 'yaml' as const, describe: 'Output format with --local' })
        .option('namespace', { alias: 'n', type: 'string', describe: 'Namespace of the workload' })
        .example('$0 start --local -f app.yaml --image node:24', 'print app.yaml with its workloads in dev mode')
        .example('$0 start --local -f app.yaml deploy/web -c web', 'only deployment web, container web'),
      async (argv) => {
        if (!argv.local) liveModeNotYet('start');
        const targets = argv.workload ? [parseWorkloadRef(argv.workload, argv.namespace)] : undefined;
        await startLocal({ files: argv.filename ?? [], output: argv.output as OutputFormat, enter: { settings: settingsFromArgs(argv), ...(targets ? { targets } : {}) } }, io);
      })
    .command('end [workload]', 'End dev mode and restore the workload exactly', (y) =>
      y
        .positional('workload', { type: 'string', describe: 'KIND/NAME, e.g. deployment/web' })
        .option('filename', { alias: 'f', type: 'string', array: true, describe: 'Manifests to restore (file, directory or -)' })
        .option('local', { type: 'boolean', default: false, describe: 'Restore the manifests given with -f and print them; no cluster access' })
        .option('output', { alias: 'o', choices: ['yaml', 'json'] as const, default: 'yaml' as const, describe: 'Output format with --local' }),
      async (argv) => {
        if (!argv.local) liveModeNotYet('end');
        await endLocal({ files: argv.filename ?? [], output: argv.output as OutputFormat }, io);
      })
    .command('version', 'Print the version', () => {}, () => {
      io.stdout.write(`kubectl-dev ${VERSION}\n`);
    })
    .demandCommand(1, 'name a command: start, end or version')
    .strict()
    .recommendCommands()
    .help()
    .alias('help', 'h')
    .version(VERSION)
    .wrap(null)
    .exitProcess(false);
}

/** Runs the CLI with the given arguments and streams; resolves to the exit code. */
export async function main(args: string[], io: CliIO): Promise<number> {
  let usageError: Error | undefined;
  let output = '';
  try {
    await build(args, io)
      .fail((message, error) => {
        if (error) throw error;
        usageError = new Error(message);
      })
      .parseAsync(args, {}, (_err, _argv, text) => {
        output = text;
      });
  } catch (error) {
    if (error instanceof DevError) return reportError(error, io);
    if (!usageError) return reportError(error, io);
  }
  if (usageError) {
    io.stderr.write(`error: ${usageError.message}\n  hint: see kubectl dev --help\n`);
    return EXIT.usage;
  }
  if (output) io.stdout.write(`${output}\n`);
  return EXIT.ok;
}
