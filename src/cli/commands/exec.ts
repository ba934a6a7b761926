// `kubectl dev exec KIND/NAME [-c C] [-- CMD …]`: a command (default: a shell) in the dev container.

import type { Argv, CommandModule } from 'yargs';
import { parseWorkloadRef } from '../../core/kinds.ts';
import type { CliIO } from '../io.ts';
import { withKubeFlags, type KubeArgs } from '../kube-flags.ts';

interface ExecArgs extends KubeArgs {
  workload: string;
  container?: string;
  stdin?: boolean;
  command?: string[];
  '--'?: string[];
}

/** Sets the exit code that the entry will return (exec passes the remote command's code through). */
export type ExitCodeSink = (code: number) => void;

export function execCommand(io: CliIO, setExitCode: ExitCodeSink): CommandModule {
  return {
    command: 'exec <workload> [command..]',
    describe: 'Run a command (default: a shell) in the dev container',
    builder: (y: Argv) =>
      withKubeFlags(y)
        .positional('workload', { type: 'string', describe: 'KIND/NAME in dev mode' })
        .positional('command', { type: 'string', array: true, describe: 'Command and arguments, after --' })
        .option('container', { alias: 'c', type: 'string', describe: 'Container (default: the dev container)' })
        .option('stdin', { alias: 'i', type: 'boolean', describe: 'Pass standard input to the command (implied for a shell or a terminal)' })
        .example('$0 exec deploy/web -- npm test', 'run the tests in the dev container'),
    handler: async (argv) => {
      const args = argv as unknown as ExecArgs;
      const { kubeTargetFromArgs } = await import('../kube-target.ts');
      const { clusterApi } = await import('../../kube/api.ts');
      const { execInDevPod } = await import('../../live/exec.ts');
      const target = kubeTargetFromArgs(args, io);
      const ref = { ...parseWorkloadRef(args.workload), namespace: target.namespace };
      const command = [...(args.command ?? []), ...(args['--'] ?? [])].map(String);
      const stdin = io.stdin as NodeJS.ReadStream;
      const tty = stdin.isTTY === true && (io.stdout as NodeJS.WriteStream).isTTY === true;
      if (tty) stdin.setRawMode(true);
      try {
        const code = await execInDevPod({
          ref, command: command.length > 0 ? command : ['/bin/sh'], stdin: tty || command.length === 0 || args.stdin ? stdin : null,
          stdout: io.stdout, stderr: io.stderr, tty, ...(args.container ? { container: args.container } : {}),
        }, target.kc, clusterApi(target.kc, target.requestTimeoutMs));
        setExitCode(code);
      } finally {
        if (tty) stdin.setRawMode(false);
      }
    },
  };
}
