// `kubectl dev version`.

import type { CommandModule } from 'yargs';
import type { CliIO } from '../io.ts';
import { VERSION } from '../version.ts';

export function versionCommand(io: CliIO): CommandModule {
  return {
    command: 'version',
    describe: 'Print the version',
    handler: () => {
      io.stdout.write(`kubectl-dev ${VERSION}\n`);
    },
  };
}
