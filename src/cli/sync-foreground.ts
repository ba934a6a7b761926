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

/** Opens the forwards first (-p, then -R): a busy local port stops the command before the sync starts. Resolves to their closer. */
async function openForwardsOf(plan: Foreground, say: (line: string) => void, debug: boolean): Promise<() => Promise<void>> {
  const { forwards, kube, ref } = plan;
  if (forwards.specs.length === 0 && forwards.reverse.length === 0) return async () => {};
  const { LabelPodFinder } = await import('../sync/dev-pod-finder.ts');
  const { WORKLOAD_LABEL } = await import('../core/marks.ts');
  const { workloadLabelValue } = await import('../core/names.ts');
  const { clusterApi } = await import('../kube/api.ts');
  const cluster = clusterApi(kube.kc);
  const finder = new LabelPodFinder(cluster, kube.namespace, `${WORKLOAD_LABEL}=${workloadLabelValue(ref.kind.kind, ref.name)}`);
  const closers: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  };
  try {
    if (forwards.specs.length > 0) {
      const { openForwards, describeForwards } = await import('../run/forwards.ts');
      const open = await openForwards({
        kc: kube.kc, namespace: kube.namespace, specs: forwards.specs, addresses: forwards.addresses, finder,
        onError: (message) => say(`forward: ${message}`),
      });
      closers.push(() => open.close());
      for (const line of describeForwards(open.open)) say(line);
    }
    if (forwards.reverse.length > 0) {
      const { openReverseForwards } = await import('../reverse/index.ts');
      const reverse = await openReverseForwards({ kc: kube.kc, cluster, namespace: kube.namespace, finder, specs: forwards.reverse, say, ...(debug ? { debug: (m: string) => say(`debug: ${m}`) } : {}) });
      closers.push(() => reverse.forwards.close());
      for (const line of reverse.lines) say(line);
    }
  } catch (error) {
    await closeAll();
    throw error;
  }
  return closeAll;
}

export async function runForeground(plan: Foreground, io: CliIO, say: (line: string) => void): Promise<void> {
  const { options, choice, kube, ref, what, target } = plan;
  const { localDir, twoWay, ignores, ...rest } = choice;
  const closeForwards = await openForwardsOf(plan, say, Boolean(io.env.KUBECTL_DEV_DEBUG));
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
