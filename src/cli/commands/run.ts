// `kubectl dev run KIND/NAME [-- CMD …]`: run a command in the dev container and restart
// it when synced changes have landed there; -p forwards app ports. Ctrl-C stops the
// command in the container and leaves dev mode in place.

import { dirname, resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { DevError } from '../../core/errors.ts';
import { parseWorkloadRef } from '../../core/kinds.ts';
import { parseDuration } from '../../core/duration.ts';
import type { CliIO } from '../io.ts';
import { forwardsFrom, withForwardFlags, workloadEntry, type ForwardArgs } from '../forward-flags.ts';
import { withKubeFlags, type KubeArgs } from '../kube-flags.ts';
import { syncSettingsFrom } from './sync.ts';

interface RunArgs extends KubeArgs, ForwardArgs {
  workload: string;
  command?: string[];
  '--'?: string[];
  restart: boolean;
  'restart-on'?: string | string[];
  'local-dir'?: string;
  'two-way'?: boolean;
  config?: string;
  syncthing?: string;
  ignore?: string | string[];
  timeout: string;
  watcher: 'fast' | 'syncthing';
  'watcher-delay': number;
}

export function runCommand(io: CliIO): CommandModule {
  return {
    command: 'run <workload> [command..]',
    describe: 'Run a command in the dev container; restart it when synced changes land',
    builder: (y: Argv) =>
      withForwardFlags(withKubeFlags(y))
        .positional('workload', { type: 'string', describe: 'KIND/NAME in dev mode', demandOption: true })
        .positional('command', { type: 'string', array: true, describe: 'Command and arguments, after -- (default: the dev config\'s run)' })
        .option('restart', { type: 'boolean', default: true, describe: 'Restart the command when synced changes have landed in the container (--no-restart: never)' })
        .option('restart-on', { type: 'string', describe: 'Only changes to paths matching this glob restart (repeatable; "*.py" matches at any depth, "src/**" from the top)' })
        .option('local-dir', { type: 'string', describe: 'Local directory to sync (default: the dev config\'s sync.localDir, else the current directory)' })
        .option('two-way', { type: 'boolean', describe: 'Sync changes made in the container back too (default: send-only)' })
        .option('config', { type: 'string', describe: 'Dev config file (default: .kubectl-dev.yaml here, if present): run, forward, sync' })
        .option('syncthing', { type: 'string', describe: 'Path of the syncthing binary' })
        .option('ignore', { type: 'string', describe: 'A path pattern not to sync (repeatable)' })
        .option('timeout', { type: 'string', default: '5m', describe: 'How long to wait for the initial sync before the first start' })
        // For comparisons (bench/hot-reload.ts): syncthing's own watcher instead of the fast path.
        .option('watcher', { choices: ['fast', 'syncthing'] as const, default: 'fast' as const, hidden: true })
        .option('watcher-delay', { type: 'number', default: 1, hidden: true })
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
      const fromConfig = syncSettingsFrom(config, ref.kind.kind, ref.name, dirname(resolve(io.cwd, config?.source ?? '.kubectl-dev.yaml')));
      const { kubeTargetFromArgs } = await import('../kube-target.ts');
      const { clusterApi } = await import('../../kube/api.ts');
      const { startRun } = await import('../../run/index.ts');
      const target = kubeTargetFromArgs(args, io);
      const say = (line: string) => io.stderr.write(`[run] ${line}\n`);
      const handle = await startRun({
        kind: ref.kind, name: ref.name, namespace: target.namespace,
        command, restart: args.restart, restartOn: [args['restart-on'] ?? []].flat(),
        forwards: specs, addresses,
        sync: {
          localDir: args['local-dir'] !== undefined ? resolve(io.cwd, args['local-dir']) : (fromConfig.localDir ?? io.cwd),
          twoWay: args['two-way'] ?? fromConfig.twoWay ?? false,
          ignores: [...fromConfig.ignore, ...[args.ignore ?? []].flat()],
          ...(args.syncthing !== undefined ? { syncthingPath: resolve(io.cwd, args.syncthing) } : {}),
          ...(args.watcher === 'syncthing' ? { watcher: 'syncthing' as const, watcherDelayS: args['watcher-delay'] } : {}),
        },
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
    },
  };
}
