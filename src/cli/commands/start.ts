// `kubectl dev start`: put a workload in dev mode on the cluster, or (--local) rewrite manifests offline.

import type { Argv, CommandModule } from 'yargs';
import { DevError } from '../../core/errors.ts';
import { parseWorkloadRef } from '../../core/kinds.ts';
import type { OutputFormat } from '../../core/manifests.ts';
import type { CliIO } from '../io.ts';
import type { CommandContext } from '../main.ts';
import { forwardsFrom, withForwardFlags, workloadEntry, type ForwardArgs } from '../forward-flags.ts';
import { parseTimeout, withKubeFlags, type KubeArgs } from '../kube-flags.ts';
import { settingsFromArgs, withSettingsFlags, type SettingsArgs } from '../settings-flags.ts';
import { syncSecretFactory } from '../sync-wiring.ts';

interface StartArgs extends SettingsArgs, KubeArgs, ForwardArgs {
  workload?: string;
  filename?: string | string[];
  local: boolean;
  output: OutputFormat;
  timeout: string;
  'dry-run'?: string;
  'no-sync'?: boolean;
  sync: boolean;
  quiet?: boolean;
  config?: string;
  'local-dir'?: string;
  syncthing?: string;
  'two-way'?: boolean;
  run?: string;
}

export function startCommand(io: CliIO, context: CommandContext): CommandModule {
  return {
    command: 'start [workload]',
    describe: 'Put a workload in dev mode',
    builder: (y: Argv) =>
      withForwardFlags(withKubeFlags(withSettingsFlags(y)))
        .positional('workload', { type: 'string', describe: 'KIND/NAME: deployment|deploy, statefulset|sts, daemonset|ds, job, cronjob|cj, pod|po' })
        .option('timeout', { type: 'string', default: '5m', describe: 'How long to wait for the dev pod to be ready' })
        .option('dry-run', { type: 'string', choices: ['none', 'client', 'server'], describe: 'Print the change as a diff and change nothing (server: validated by the API server)' })
        .option('sync', { type: 'boolean', default: true, describe: 'Hand over to sync once the dev pod is ready (--no-sync: do not)' })
        .option('run', { type: 'string', describe: 'Then run this command line in the dev container and restart it when synced changes land (as kubectl dev run; --run alone: the dev config\'s run)' })
        .option('local-dir', { type: 'string', describe: 'Local directory synced into the work dir (default: the dev config\'s sync.localDir, else the current directory)' })
        .option('syncthing', { type: 'string', describe: 'Path of the local syncthing binary for the sync (default: $KUBECTL_DEV_SYNCTHING, then the one kubectl-dev carries, then syncthing on PATH)' })
        .option('two-way', { type: 'boolean', describe: 'Sync changes made in the container back too (default: send-only)' })
        .option('config', { type: 'string', describe: 'Dev config file (default: .kubectl-dev.yaml here, if present)' })
        .option('quiet', { alias: 'q', type: 'boolean', describe: 'No progress display' })
        .option('filename', { alias: 'f', type: 'string', describe: 'With --local: manifests to rewrite (file, directory or -)' })
        .option('local', { type: 'boolean', default: false, describe: 'Rewrite the manifests given with -f and print them; no cluster access' })
        .option('output', { alias: 'o', choices: ['yaml', 'json'] as const, default: 'yaml' as const, describe: 'Output format with --local' })
        .example('$0 start deploy/reviews -n bookinfo --image node:24', 'dev mode for a Deployment')
        .example('$0 start deploy/web --run "npm run dev" -p 3000', 'dev mode, sync, and a dev server restarted on every change, on localhost:3000')
        .example('$0 start deploy/web --dry-run=server', 'show what would change')
        .example('$0 start --local -f app.yaml deploy/web -c web', 'rewrite a manifest offline'),
    handler: async (argv) => {
      const args = argv as unknown as StartArgs;
      // Loaded here, not at the top: `version` and `--help` start without yaml and client-node.
      const { loadDevConfigFile } = await import('../devconfig-file.ts');
      const { settingsFor } = await import('../../config/devconfig.ts');
      const config = loadDevConfigFile(args.config, io);
      if (args.local) {
        const targets = args.workload ? [parseWorkloadRef(args.workload, args.namespace)] : undefined;
        const flags = settingsFromArgs(args);
        const settings = targets?.[0] ? settingsFor(config, targets[0].kind.kind, targets[0].name, args.namespace, flags) : flags;
        const { startLocal } = await import('../local.ts');
        await startLocal({ files: [args.filename ?? []].flat(), output: args.output, enter: { settings, ...(targets ? { targets } : {}), ...(args.force ? { force: true } : {}) } }, io);
        return;
      }
      if (!args.workload) {
        throw new DevError('INVALID_OPTION', 'start needs the workload, as KIND/NAME', 'for example: kubectl dev start deployment/web (or --local -f FILE to rewrite manifests offline).');
      }
      if (!args.sync && (args.run !== undefined || args.forward !== undefined)) {
        throw new DevError('INVALID_OPTION', `--no-sync cannot be used with ${args.run !== undefined ? '--run' : '--forward'}`, 'they need the sync session that start hands over to; leave out --no-sync.');
      }
      const parsed = parseWorkloadRef(args.workload);
      const forwards = forwardsFrom(args, config, parsed.kind.kind, parsed.name);
      const { kubeTargetFromArgs } = await import('../kube-target.ts');
      const target = kubeTargetFromArgs(args, io);
      const ref = { ...parsed, namespace: target.namespace };
      if (args.run === '' && workloadEntry(config, ref.kind.kind, ref.name).run === undefined) {
        throw new DevError('INVALID_OPTION', '--run needs a command line, or run: in the dev config', `for example: kubectl dev start ${args.workload} --run "npm run dev"`);
      }
      const settings = settingsFor(config, ref.kind.kind, ref.name, ref.namespace, settingsFromArgs(args));
      const timeoutMs = parseTimeout(args.timeout, '--timeout');
      // A forward whose local port is busy would fail after the workload changed: check first.
      if (args.sync && args['dry-run'] === undefined && forwards.specs.length > 0) await (await import('../../run/forwards.ts')).checkLocalPorts(forwards.specs, forwards.addresses);
      const dryRun = args['dry-run'] === 'client' || args['dry-run'] === 'server' ? args['dry-run'] : undefined;
      const { liveDeps } = await import('../live-deps.ts');
      const { startLive } = await import('../../live/start.ts');
      const deps = liveDeps(target, io, { quiet: args.quiet ?? false, syncSecret: syncSecretFactory() });
      const result = await startLive({ ref, settings, timeoutMs, ...(dryRun ? { dryRun } : {}), ...(args.force ? { force: true } : {}) }, deps);
      if (dryRun) {
        const { formatChanges } = await import('../dry-run.ts');
        io.stdout.write(formatChanges(result.changes));
        return;
      }
      const what = `${ref.kind.kind.toLowerCase()}/${ref.name}`;
      io.stdout.write(`${what} is in dev mode: pod ${result.devPod?.metadata?.name ?? '?'}, container ${result.settings.devContainer}, namespace ${ref.namespace}\n`);
      io.stdout.write(`  run a shell:  kubectl dev exec ${what} -n ${ref.namespace}\n  end:          kubectl dev end ${what} -n ${ref.namespace}\n`);
      if (!args.sync) {
        io.stdout.write(`  sync code:    kubectl dev sync ${what} -n ${ref.namespace}\n`);
        return;
      }
      // Hand over to sync, as `kubectl dev sync` would run it (until Ctrl-C), on the same cluster.
      const kubeFlags = (['kubeconfig', 'context', 'cluster', 'user', 'request-timeout'] as const).flatMap((flag) => (args[flag] !== undefined ? [`--${flag}`, String(args[flag])] : []));
      // sync reads the dev config itself (sync.localDir is relative to the config file).
      const { main } = await import('../main.ts');
      // With --run, `run` takes over (sync, forwards and the command); else `sync` (and the forwards).
      const forwardFlags = [...[args.forward ?? []].flat().flatMap((f) => ['--forward', String(f)]), ...[args.address ?? []].flat().flatMap((a) => ['--address', a])];
      const command = args.run === undefined ? [] : args.run === '' ? [] : ['--', '/bin/sh', '-c', args.run];
      const code = await main([args.run !== undefined ? 'run' : 'sync', args.workload, '-n', ref.namespace, ...kubeFlags, ...forwardFlags,
        ...(args.config !== undefined ? ['--config', args.config] : []),
        ...(args['local-dir'] !== undefined ? ['--local-dir', args['local-dir']] : []),
        ...(args.syncthing !== undefined ? ['--syncthing', args.syncthing] : []),
        ...(args['two-way'] ? ['--two-way'] : []), ...command], io);
      context.setExitCode(code);
    },
  };
}
