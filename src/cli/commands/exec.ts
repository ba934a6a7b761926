// `kubectl dev exec KIND/NAME [-c C] [-- CMD …]`: a command (default: a shell) in the dev container.

import { parseWorkloadRef } from '../../core/kinds.ts';
import { declare, defineCommand, type CommandContext, type OptionsOfDeclaration } from '../command.ts';
import type { CliIO } from '../io.ts';
import { KUBE_OPTIONS } from '../kube-flags.ts';
import { DUPLICATE_OPTION, workloadOrCopy } from '../duplicate-flags.ts';

const declaration = declare({
  command: 'exec <workload> [command..]',
  describe: 'Run a command (default: a shell) in the dev container',
  options: {
    ...KUBE_OPTIONS,
    ...DUPLICATE_OPTION,
    container: { alias: 'c', type: 'string', describe: 'Container (default: the dev container)' },
    stdin: { alias: 'i', type: 'boolean', describe: 'Pass standard input to the command (implied for a shell or a terminal)' },
  },
  positionals: {
    workload: { type: 'string', describe: 'KIND/NAME in dev mode', demandOption: true },
    command: { type: 'string', array: true, describe: 'Command and arguments, after --' },
  },
  examples: [['$0 exec deploy/web -- npm test', 'run the tests in the dev container']],
});

export type ExecOptions = OptionsOfDeclaration<typeof declaration>;

/** exec passes the remote command's exit code through (context.setExitCode). */
export const exec = defineCommand(declaration, execHandler);

export function execCommand(io: CliIO, context: CommandContext) {
  return exec.module(io, context);
}

async function execHandler(args: ExecOptions, io: CliIO, context: CommandContext): Promise<void> {
  const { kubeTargetFromArgs } = await import('../kube-target.ts');
  const { clusterApi } = await import('../../kube/api.ts');
  const { execInDevPod } = await import('../../live/exec.ts');
  // Validate before the kubeconfig is read.
  const parsed = parseWorkloadRef(args.workload);
  const target = kubeTargetFromArgs(args, io);
  const ref = await workloadOrCopy({ ...parsed, namespace: target.namespace }, args.duplicate, target);
  const command = [...(args.command ?? []), ...(args['--'] ?? [])].map(String);
  const stdin = io.stdin as NodeJS.ReadStream;
  const tty = stdin.isTTY === true && (io.stdout as NodeJS.WriteStream).isTTY === true;
  if (tty) stdin.setRawMode(true);
  try {
    const code = await execInDevPod({
      ref, command: command.length > 0 ? command : ['/bin/sh'], stdin: tty || command.length === 0 || args.stdin ? stdin : null,
      stdout: io.stdout, stderr: io.stderr, tty, ...(args.container ? { container: args.container } : {}),
    }, target.kc, clusterApi(target.kc, target.requestTimeoutMs));
    context.setExitCode(code);
  } finally {
    if (tty) stdin.setRawMode(false);
  }
}
