// `kubectl dev end`: restore the workload exactly and remove what dev mode added; or (--local) on manifests.

import { DevError } from '../../core/errors.ts';
import { describeHolder } from '../../core/holder.ts';
import { parseWorkloadRef } from '../../core/kinds.ts';
import { declare, defineCommand, Problems, repeatable, type CommandContext, type OptionsOfDeclaration } from '../command.ts';
import type { CliIO } from '../io.ts';
import { KUBE_OPTIONS, parseTimeout } from '../kube-flags.ts';
import { syncSecretFactory } from '../sync-wiring.ts';
import { DUPLICATE_OPTION, workloadOrCopy } from '../duplicate-flags.ts';

const declaration = declare({
  command: 'end [workload]',
  describe: 'End dev mode and restore the workload exactly',
  options: {
    ...KUBE_OPTIONS,
    ...DUPLICATE_OPTION,
    force: { type: 'boolean', describe: 'Restore the original even if the workload was changed, or reverted by another field manager, while in dev mode (those changes are lost)' },
    'delete-volumes': { type: 'boolean', describe: 'Also delete the workload\'s PersistentVolumeClaim of persisted paths (default: kept for the next start)' },
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
    if (args.duplicate) throw new DevError('INVALID_OPTION', '--duplicate cannot be used with --local', '--local restores manifests offline; a dev copy lives on the cluster only: kubectl dev end KIND/NAME --duplicate.');
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
  const ref = await workloadOrCopy({ ...parsed!, namespace: target.namespace }, args.duplicate, target);
  const { liveDeps } = await import('../live-deps.ts');
  const { endLive } = await import('../../live/end.ts');
  const deps = liveDeps(target, io, { quiet: args.quiet ?? false, syncSecret: syncSecretFactory() });
  const result = await endLive({ ref, timeoutMs: timeoutMs!, force: args.force ?? false, deleteVolumes: args['delete-volumes'] ?? false }, deps);
  // The local side of sync for this workload (a session here or in another terminal) stops too.
  const sync = await import('../../sync/index.ts');
  if (await sync.stopLocalSync(sync.syncTargetOf(target.kc, ref.namespace, ref.kind.kind, ref.name), io.env)) result.removed.push('the local sync');
  const what = `${ref.kind.kind.toLowerCase()}/${ref.name}`;
  const held = result.heldByOther;
  if (held) io.stderr.write(`note: ${what} was in dev mode by ${describeHolder(held)}${held.since ? ` since ${held.since}` : ''}: this ended their session\n`);
  if (result.duplicateOf !== undefined) {
    io.stdout.write(`${what} (a dev copy of ${result.duplicateOf.toLowerCase()}, which was not touched) deleted in namespace ${ref.namespace}${result.removed.length ? `; removed ${result.removed.join(', ')}` : ''}\n`);
  } else if (result.reverted) {
    const { revertedText } = await import('../../core/revert.ts');
    io.stdout.write(`${what} was ${revertedText(result.reverted)} (${result.reverted.undone.join(', ')}): that change is kept, not restored over; ` +
      `removed what dev mode left in namespace ${ref.namespace}${result.removed.length ? `: ${result.removed.join(', ')}` : ''}\n`);
  } else if (!result.wasInDevMode) {
    io.stdout.write(`${what} is not in dev mode in namespace ${ref.namespace}; nothing to restore${result.removed.length ? ` (removed leftovers: ${result.removed.join(', ')})` : ''}\n`);
    return;
  } else {
    io.stdout.write(`${what} restored in namespace ${ref.namespace}${result.removed.length ? `; removed ${result.removed.join(', ')}` : ''}\n`);
  }
  if (result.keptClaim) io.stdout.write(`  kept PersistentVolumeClaim ${result.keptClaim} for the next start${result.duplicateOf !== undefined ? ' of your copy' : ''} (delete it: kubectl dev volumes rm ${what} -n ${ref.namespace})\n`);
}
