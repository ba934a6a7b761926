// `kubectl dev sync` in the foreground (and the background session --wait starts): the
// forwards, the sync session with its state on stdout, until Ctrl-C or the session ends.
// Loaded by the sync command when it runs (it imports the sync module).

import type { WorkloadRef } from '../core/kinds.ts';
import type { KubeTarget } from '../kube/config.ts';
import { runSync, type SyncTarget } from '../sync/index.ts';
import type { Forwards } from './forward-flags.ts';
import type { CliIO } from './io.ts';
import type { SyncChoice } from './sync-flags.ts';

export interface Foreground {
  options: { background: boolean; once: boolean };
  ref: WorkloadRef;
  timeoutMs: number;
  choice: SyncChoice;
  forwards: Forwards;
  kube: KubeTarget;
  what: string;
  target: SyncTarget;
}

/** Opens the forwards first: a busy local port stops the command before the sync starts. Resolves to their closer. */
async function openForwardsOf(plan: Foreground, say: (line: string) => void): Promise<() => Promise<void>> {
  const { forwards, kube, ref } = plan;
  if (forwards.specs.length === 0) return async () => {};
  const { openForwards, describeForwards } = await import('../run/forwards.ts');
  const { LabelPodFinder } = await import('../sync/dev-pod-finder.ts');
  const { WORKLOAD_LABEL } = await import('../core/marks.ts');
  const { workloadLabelValue } = await import('../core/names.ts');
  const open = await openForwards({
    kc: kube.kc, namespace: kube.namespace, specs: forwards.specs, addresses: forwards.addresses,
    finder: new LabelPodFinder(kube.kc, kube.namespace, `${WORKLOAD_LABEL}=${workloadLabelValue(ref.kind.kind, ref.name)}`),
    onError: (message) => say(`forward: ${message}`),
  });
  for (const line of describeForwards(open.open)) say(line);
  return () => open.close();
}

export async function runForeground(plan: Foreground, io: CliIO, say: (line: string) => void): Promise<void> {
  const { options, choice, kube, ref, what, target } = plan;
  const { localDir, twoWay, ignores, ...rest } = choice;
  const closeForwards = await openForwardsOf(plan, say);
  let handle: Awaited<ReturnType<typeof runSync>>;
  try {
    handle = await runSync({ namespace: kube.namespace, kind: ref.kind.kind, name: ref.name, localDir, twoWay, ignores, ...rest }, {
      kc: kube.kc,
      env: io.env,
      onEvent: (event) => {
        if (options.background) return;
        if (event.type === 'notice') say(`note: ${event.message}`);
        else {
          const s = event.status;
          const detail = s.state === 'syncing' && s.completion !== undefined ? ` ${Math.floor(s.completion)}%` : '';
          const error = s.state === 'error' ? `: ${s.errors[0] ?? s.lastError ?? 'unknown error'}` : s.state === 'connecting' && s.lastError ? ` (${s.lastError})` : '';
          say(`${s.state}${detail}${s.pod && s.connected ? ` [pod ${s.pod}]` : ''}${error}`);
        }
      },
    });
  } catch (error) {
    await closeForwards();
    throw error;
  }
  void handle.done.then(() => closeForwards());
  const stopOnSignal = () => void handle.stop();
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  try {
    if (!options.background) {
      say(`syncing ${localDir} → ${what}:${handle.material.workdir} in namespace ${kube.namespace} (${twoWay ? 'two-way after the initial sync' : 'send-only'}; syncthing ${handle.binary.version})`);
    }
    if (options.once) {
      try {
        await handle.waitInSync(plan.timeoutMs);
        say(`${what}: in sync`);
      } finally {
        await handle.stop();
      }
      return;
    }
    await handle.done;
    const ended = handle.ended();
    if (ended) throw (await import('../sync/presence.ts')).sessionEndedError(ended, target.kind, target.name, target.namespace);
  } finally {
    process.off('SIGINT', stopOnSignal);
    process.off('SIGTERM', stopOnSignal);
  }
}
