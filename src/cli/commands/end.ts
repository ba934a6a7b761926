// `kubectl dev end`: restore the workload exactly and remove what dev mode added; or (--local) on manifests.

import { DevError } from '../../core/errors.ts';
import { parseWorkloadRef } from '../../core/kinds.ts';
import { declare, defineCommand, Problems, repeatable, type CommandContext, type OptionsOfDeclaration } from '../command.ts';
import type { CliIO } from '../io.ts';
import { KUBE_OPTIONS, parseTimeout } from '../kube-flags.ts';
import { syncSecretFactory } from '../sync-wiring.ts';

const declaration = declare({
  command: 'end [workload]',
  describe: 'End dev mode and restore the workload exactly',
  options: {
    ...KUBE_OPTIONS,
    force: { type: 'boolean', describe: 'Restore even if the workload was changed while in dev mode (those changes are lost)' },
    timeout: { type: 'string', default: '2m', describe: 'How long to wait for a replaced pod to go away' },
    quiet: { alias: 'q', type: 'boolean', describe: 'No progress display' },
    filename: { alias: 'f', type: 'string', coerce: repeatable, describe: 'With --local: manifests to restore (file, directory or -)' },
    local: { type: 'boolean', default: false, describe: 'Restore the manifests given with -f and print them; no cluster access' },
    output: { alias: 'o', choices: ['yaml', 'json'], default: 'yaml', describe: 'Output format with --local' },
  },
  positionals: { workload: { type: 'string', describe: 'KIND/NAME, e.g. deployment/web' } },
});

export type EndOptions = OptionsOfDeclaration<typeof declaration>;

export const end = defineCommand(declaration, endHandler);

export function endCommand(io: CliIO, context: CommandContext) {
  return end.module(io, context);
}

async function endHandler(args: EndOptions, io: CliIO): Promise<void> {
  if (args.local) {
    const { endLocal } = await import('../local.ts');
    await endLocal({ files: args.filename ?? [], output: args.output }, io);
    return;
  }
  if (!args.workload) {
    throw new DevError('INVALID_OPTION', 'end needs the workload, as KIND/NAME', 'for example: kubectl dev end deployment/web (kubectl dev status lists workloads in dev mode).');
  }
  const problems = new Problems();
  const parsed = problems.check(() => parseWorkloadRef(args.workload!));
  const timeoutMs = problems.check(() => parseTimeout(args.timeout, '--timeout'));
  const { completeTarget, targetOf } = await import('../kube-target.ts');
  const completed = completeTarget(args, io);
  problems.throwIfAny();
  const target = targetOf(completed);
  const ref = { ...parsed!, namespace: target.namespace };
  const { liveDeps } = await import('../live-deps.ts');
  const { endLive } = await import('../../live/end.ts');
  const deps = liveDeps(target, io, { quiet: args.quiet ?? false, syncSecret: syncSecretFactory() });
  const result = await endLive({ ref, timeoutMs: timeoutMs!, force: args.force ?? false }, deps);
  // The local side of sync for this workload (a session here or in another terminal) stops too.
  const sync = await import('../../sync/index.ts');
  if (await sync.stopLocalSync(sync.syncTargetOf(target.kc, ref.namespace, ref.kind.kind, ref.name), io.env)) result.removed.push('the local sync');
  const what = `${ref.kind.kind.toLowerCase()}/${ref.name}`;
  if (!result.wasInDevMode) {
    io.stdout.write(`${what} is not in dev mode in namespace ${ref.namespace}; nothing to restore${result.removed.length ? ` (removed leftovers: ${result.removed.join(', ')})` : ''}\n`);
    return;
  }
  io.stdout.write(`${what} restored in namespace ${ref.namespace}${result.removed.length ? `; removed ${result.removed.join(', ')}` : ''}\n`);
}
