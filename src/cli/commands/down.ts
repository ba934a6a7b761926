// `kubectl dev down [WORKLOAD…]`: end dev mode for every workload of the dev config (or those
// named), in parallel, each restored exactly by `end`'s own code (and its local sync stopped);
// one table of what became of each; a non-zero exit when any failed.

import { DevError } from '../../core/errors.ts';
import { formatColumns, labelsFor, overallError, prefixOf, selectWorkloads, type Outcome } from '../../up/plan.ts';
import { declare, defineCommand, Problems, type OptionsOfDeclaration } from '../command.ts';
import type { CliIO } from '../io.ts';
import { KUBE_OPTIONS, parseTimeout } from '../kube-flags.ts';
import { requireDevConfig } from './up.ts';

const declaration = declare({
  command: 'down [workloads..]',
  describe: 'End dev mode for every workload of the dev config, restoring each exactly',
  options: {
    ...KUBE_OPTIONS,
    config: { type: 'string', describe: 'Dev config file (default: .kubectl-dev.yaml here)' },
    force: { type: 'boolean', describe: 'Restore even workloads changed while in dev mode (those changes are lost)' },
    timeout: { type: 'string', default: '2m', describe: 'How long to wait for each replaced pod to go away' },
    quiet: { alias: 'q', type: 'boolean', describe: 'No progress lines' },
  },
  positionals: { workloads: { type: 'string', array: true, describe: 'Only these workloads of the dev config (KIND/NAME or NAME)' } },
});

export type DownOptions = OptionsOfDeclaration<typeof declaration>;

export const down = defineCommand(declaration, downHandler);

async function downHandler(options: DownOptions, io: CliIO): Promise<void> {
  const problems = new Problems();
  const config = await requireDevConfig(options.config, io, problems, 'down');
  const timeoutMs = problems.check(() => parseTimeout(options.timeout, '--timeout'));
  const entries = config ? problems.check(() => selectWorkloads(config, (options.workloads ?? []).map(String))) : undefined;
  const { completeTarget, targetOf } = await import('../kube-target.ts');
  const completed = completeTarget(options, io);
  problems.throwIfAny();
  const kube = targetOf(completed);
  const refs = entries!.map((e) => ({ ...e.ref, namespace: e.ref.namespace ?? kube.namespace }));
  const labels = labelsFor(refs.map((r) => ({ kind: r.kind.kind, name: r.name, namespace: r.namespace })));
  const { liveDeps } = await import('../live-deps.ts');
  const { endLive } = await import('../../live/end.ts');
  const sync = await import('../../sync/index.ts');
  const { prefixLines } = await import('../../run/output.ts');
  const { syncSecretFactory } = await import('../sync-wiring.ts');
  const { resolve } = await import('../../config/resolve.ts');
  const { workloadOrCopy } = await import('../duplicate-flags.ts');
  const results = await Promise.all(refs.map(async (named, i): Promise<Outcome & { result: string }> => {
    const label = labels[i]!;
    const deps = liveDeps(kube, { ...io, stderr: prefixLines(io.stderr, prefixOf(label)) }, { quiet: options.quiet ?? false, syncSecret: syncSecretFactory() });
    try {
      // duplicate: true in the dev config: up made the current user's copy; that is what ends.
      const ref = await workloadOrCopy(named, resolve(config!, { kind: named.kind.kind, name: named.name }, named.namespace).duplicate, kube);
      const ended = await endLive({ ref, timeoutMs: timeoutMs!, force: options.force ?? false }, deps);
      const stopped = await sync.stopLocalSync(sync.syncTargetOf(kube.kc, ref.namespace, ref.kind.kind, ref.name), io.env);
      const removed = [...ended.removed, ...(stopped ? ['the local sync'] : [])];
      const done = `${ended.duplicateOf !== undefined ? `dev copy ${ref.name} deleted` : 'restored'}${ended.keptClaim ? `; kept PersistentVolumeClaim ${ended.keptClaim}` : ''}`;
      return { label, result: ended.wasInDevMode ? done : `not in dev mode${removed.length > 0 ? ' (leftovers removed)' : ''}` };
    } catch (error) {
      if (!(error instanceof DevError)) throw error;
      return { label, error, result: `failed: ${error.message}` };
    }
  }));
  io.stdout.write(formatColumns(['WORKLOAD', 'KIND', 'NAMESPACE', 'RESULT'], results.map((r, i) => [r.label, refs[i]!.kind.kind, refs[i]!.namespace, r.result])));
  const failed = overallError('down', results);
  if (failed) throw failed;
}
