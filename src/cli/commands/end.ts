// `kubectl dev end`: restore the workload exactly and remove what dev mode added; or (--local) on manifests.

import type { Argv, CommandModule } from 'yargs';
import { DevError } from '../../core/errors.ts';
import { parseWorkloadRef } from '../../core/kinds.ts';
import type { OutputFormat } from '../../core/manifests.ts';
import type { CliIO } from '../io.ts';
import { parseTimeout, withKubeFlags, type KubeArgs } from '../kube-flags.ts';
import { syncSecretFactory } from '../sync-wiring.ts';

interface EndArgs extends KubeArgs {
  workload?: string;
  filename?: string | string[];
  local: boolean;
  output: OutputFormat;
  force?: boolean;
  timeout: string;
  quiet?: boolean;
}

export function endCommand(io: CliIO): CommandModule {
  return {
    command: 'end [workload]',
    describe: 'End dev mode and restore the workload exactly',
    builder: (y: Argv) =>
      withKubeFlags(y)
        .positional('workload', { type: 'string', describe: 'KIND/NAME, e.g. deployment/web' })
        .option('force', { type: 'boolean', describe: 'Restore even if the workload was changed while in dev mode (those changes are lost)' })
        .option('timeout', { type: 'string', default: '2m', describe: 'How long to wait for a replaced pod to go away' })
        .option('quiet', { alias: 'q', type: 'boolean', describe: 'No progress display' })
        .option('filename', { alias: 'f', type: 'string', describe: 'With --local: manifests to restore (file, directory or -)' })
        .option('local', { type: 'boolean', default: false, describe: 'Restore the manifests given with -f and print them; no cluster access' })
        .option('output', { alias: 'o', choices: ['yaml', 'json'] as const, default: 'yaml' as const, describe: 'Output format with --local' }),
    handler: async (argv) => {
      const args = argv as unknown as EndArgs;
      if (args.local) {
        const { endLocal } = await import('../local.ts');
        await endLocal({ files: [args.filename ?? []].flat(), output: args.output }, io);
        return;
      }
      if (!args.workload) {
        throw new DevError('INVALID_OPTION', 'end needs the workload, as KIND/NAME', 'for example: kubectl dev end deployment/web (kubectl dev status lists workloads in dev mode).');
      }
      const { kubeTargetFromArgs } = await import('../kube-target.ts');
      const target = kubeTargetFromArgs(args, io);
      const ref = { ...parseWorkloadRef(args.workload), namespace: target.namespace };
      const timeoutMs = parseTimeout(args.timeout, '--timeout');
      const { liveDeps } = await import('../live-deps.ts');
      const { endLive } = await import('../../live/end.ts');
      const deps = liveDeps(target, io, { quiet: args.quiet ?? false, syncSecret: syncSecretFactory() });
      const result = await endLive({ ref, timeoutMs, force: args.force ?? false }, deps);
      // The local side of sync for this workload (a session here or in another terminal) stops too.
      const sync = await import('../../sync/index.ts');
      if (await sync.stopLocalSync(sync.syncTargetOf(target.kc, ref.namespace, ref.kind.kind, ref.name), io.env)) result.removed.push('the local sync');
      const what = `${ref.kind.kind.toLowerCase()}/${ref.name}`;
      if (!result.wasInDevMode) {
        io.stdout.write(`${what} is not in dev mode in namespace ${ref.namespace}; nothing to restore${result.removed.length ? ` (removed leftovers: ${result.removed.join(', ')})` : ''}\n`);
        return;
      }
      io.stdout.write(`${what} restored in namespace ${ref.namespace}${result.removed.length ? `; removed ${result.removed.join(', ')}` : ''}\n`);
    },
  };
}
