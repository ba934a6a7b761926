// `kubectl dev end`: end dev mode and restore the workload (live mode arrives with the live-mode issue; --local works now).

import type { Argv, CommandModule } from 'yargs';
import type { OutputFormat } from '../../core/manifests.ts';
import type { CliIO } from '../io.ts';
import { endLocal } from '../local.ts';
import { liveModeNotYet } from './shared.ts';

export function endCommand(io: CliIO): CommandModule {
  return {
    command: 'end [workload]',
    describe: 'End dev mode and restore the workload exactly',
    builder: (y: Argv) =>
      y
        .positional('workload', { type: 'string', describe: 'KIND/NAME, e.g. deployment/web' })
        .option('filename', { alias: 'f', type: 'string', describe: 'Manifests to restore (file, directory or -)' })
        .option('local', { type: 'boolean', default: false, describe: 'Restore the manifests given with -f and print them; no cluster access' })
        .option('output', { alias: 'o', choices: ['yaml', 'json'] as const, default: 'yaml' as const, describe: 'Output format with --local' }),
    handler: async (argv) => {
      const args = argv as unknown as { filename?: string | string[]; local: boolean; output: OutputFormat };
      if (!args.local) liveModeNotYet('end');
      await endLocal({ files: [args.filename ?? []].flat(), output: args.output }, io);
    },
  };
}
