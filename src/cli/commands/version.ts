// `kubectl dev version`.

import { declare, defineCommand, type CommandContext } from '../command.ts';
import type { CliIO } from '../io.ts';
import { VERSION } from '../version.ts';

export const version = defineCommand(declare({ command: 'version', describe: 'Print the version', options: {} }), (_options, io) => {
  io.stdout.write(`kubectl-dev ${VERSION}\n`);
});

export function versionCommand(io: CliIO, context: CommandContext) {
  return version.module(io, context);
}
