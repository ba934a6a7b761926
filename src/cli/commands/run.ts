// `kubectl dev run KIND/NAME [-- CMD …]`: run a command in the dev container and restart
// it when synced changes have landed there; -p forwards app ports. Ctrl-C stops the
// command in the container and leaves dev mode in place.

import type { Argv, CommandModule } from 'yargs';
import { DevError } from '../../core/errors.ts';
import { parseWorkloadRef } from '../../core/kinds.ts';
import { parseDuration } from '../../core/duration.ts';
import type { CliIO } from '../io.ts';
import { forwardsFrom, withForwardFlags, workloadEntry, type ForwardArgs } from '../forward-flags.ts';
import { withKubeFlags, type KubeArgs } from '../kube-flags.ts';
import { syncChoiceFrom, withSyncFlags, type SyncFlagArgs } from '../sync-flags.ts';

interface RunArgs extends KubeArgs, ForwardArgs, SyncFlagArgs {
  workload: string;
  command?: string[];
  '--'?: string[];
  restart: boolean;
  'restart-on'?: string | string[];
  timeout: string;
}

export function runCommand(io: CliIO): CommandModule {
  return {
    command: 'run <workload> [command..]',
    describe: 'Run a command in the dev container; restart it when synced changes land',
    builder: (y: Argv) =>
      withSyncFlags(withForwardFlags(withKubeFlags(y)))
        .positional('workload', { type: 'string', describe: 'KIND/NAME in dev mode', demandOption: true })
        .positional('command', { type: 'string', array: true, describe: 'Command and arguments, after -- (default: the dev config\'s run)' })
        .option('restart', { type: 'boolean', default: true, describe: 'Restart the command when synced changes have landed in the container (--no-restart: never)' })
        .option('restart-on', { type: 'string', describe: 'Only changes to paths matching this glob restart (repeatable; "*.py" matches at any depth, "src/**" from the top)' })
        .option('timeout', { type: 'string', default: '5m', describe: 'How long to wait for the initial sync before the first start' })
        .example('$0 run deploy/web -p 8080:8080 -- npm run dev', 'run the dev server, restart it on every synced change, forward its port')
        .example('$0 run deploy/api --restart-on "*.py" -- python app.py', 'restart only when Python files change'),
    handler: async (argv) => {
      const args = argv as unknown as RunArgs;
      const ref = parseWorkloadRef(args.workload);
      const timeoutMs = parseDuration(args.timeout, '--timeout');
      const { loadDevConfigFile } = await import('../devconfig-file.ts');
      const config = loadDevConfigFile(args.config, io);
      const fromFile = workloadEntry(config, ref.kind.kind, ref.name);
      const argvCommand = [...(args.command ?? []), ...(args['--'] ?? [])].map(String);
      const command = argvCommand.length > 0 ? argvCommand : fromFile.run !== undefined ? ['/bin/sh', '-c', fromFile.run] : undefined;
      if (!command) {
        throw new DevError('INVALID_OPTION', 'run needs a command: after --, or run: in the dev config',
          `for example: kubectl dev run ${args.workload} -- npm run dev (or run: "npm run dev" under workloads: ${args.workload} in .kubectl-dev.yaml).`);
      }
      const { specs, addresses } = forwardsFrom(args, config, ref.kind.kind, ref.name);
      const { kubeTargetFromArgs } = await import('../kube-target.ts');
      const { clusterApi } = await import('../../kube/api.ts');
      const { startRun } = await import('../../run/index.ts');
      const target = kubeTargetFromArgs(args, io);
      const say = (line: string) => io.stderr.write(`[run] ${line}\n`);
      const handle = await startRun({
        kind: ref.kind, name: ref.name, namespace: target.namespace,
        command, restart: args.restart, restartOn: [args['restart-on'] ?? []].flat(),
        forwards: specs, addresses,
        sync: syncChoiceFrom(args, config, ref.kind.kind, ref.name, io.cwd),
        timeoutMs,
      }, {
        stdout: io.stdout, stderr: io.stderr, env: io.env, say,
        onSyncEvent: (event) => {
          if (event.type === 'notice') say(`sync: ${event.message}`);
          else if (event.status.state === 'error' || (event.status.state === 'connecting' && event.status.lastError)) say(`sync: ${event.status.state}: ${event.status.errors[0] ?? event.status.lastError ?? ''}`);
        },
      }, target.kc, clusterApi(target.kc, target.requestTimeoutMs));
      say('Ctrl-C stops the command; the workload stays in dev mode (kubectl dev end restores it)');
      await new Promise<void>((resolveStop) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void handle.stop().finally(resolveStop);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        // A sync run here that ends on its own (stopped by `kubectl dev end`) ends the run too.
        void handle.done.then(stop);
      });
      const ended = handle.ended();
      if (ended) throw ended;
    },
  };
}
