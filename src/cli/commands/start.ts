// `kubectl dev start`: enter dev mode (live mode arrives with the live-mode issue; --local works now).

import type { Argv, CommandModule } from 'yargs';
import { parseWorkloadRef } from '../../core/kinds.ts';
import type { OutputFormat } from '../../core/manifests.ts';
import type { CliIO } from '../io.ts';
import { startLocal } from '../local.ts';
import { settingsFromArgs, withSettingsFlags, type SettingsArgs } from '../settings-flags.ts';
import { liveModeNotYet } from './shared.ts';

interface StartArgs extends SettingsArgs {
  workload?: string;
  filename?: string | string[];
  local: boolean;
  output: OutputFormat;
  namespace?: string;
}

export function startCommand(io: CliIO): CommandModule {
  return {
    command: 'start [workload]',
    describe: 'Put a workload in dev mode',
    builder: (y: Argv) =>
      withSettingsFlags(y)
        .positional('workload', { type: 'string', describe: 'KIND/NAME, e.g. deployment/web' })
        .option('filename', { alias: 'f', type: 'string', describe: 'Manifests to rewrite (file, directory or -)' })
        .option('local', { type: 'boolean', default: false, describe: 'Rewrite the manifests given with -f and print them; no cluster access' })
        .option('output', { alias: 'o', choices: ['yaml', 'json'] as const, default: 'yaml' as const, describe: 'Output format with --local' })
        .option('namespace', { alias: 'n', type: 'string', describe: 'Namespace of the workload' })
        .example('$0 start --local -f app.yaml --image node:24', 'print app.yaml with its workloads in dev mode')
        .example('$0 start --local -f app.yaml deploy/web -c web', 'only deployment web, container web'),
    handler: async (argv) => {
      const args = argv as unknown as StartArgs;
      if (!args.local) liveModeNotYet('start');
      const targets = args.workload ? [parseWorkloadRef(args.workload, args.namespace)] : undefined;
      await startLocal({ files: [args.filename ?? []].flat(), output: args.output, enter: { settings: settingsFromArgs(args), ...(targets ? { targets } : {}) } }, io);
    },
  };
}
