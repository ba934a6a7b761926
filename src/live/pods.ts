// Pod-level helpers: waiting for a pod to be gone, and rolling StatefulSets that update OnDelete.

import { DevError } from '../core/errors.ts';
import { WORKLOAD_LABEL } from '../core/marks.ts';
import type { KubeObject } from '../core/objects.ts';
import type { ObjectRef } from '../kube/api.ts';
import type { LiveDeps } from './deps.ts';

export async function waitUntilGone(ref: ObjectRef, uid: string, timeoutMs: number, deps: LiveDeps): Promise<void> {
  const deadline = deps.clock.now().getTime() + timeoutMs;
  for (;;) {
    const current = await deps.api.get(ref);
    if (!current || current.metadata?.uid !== uid) return;
    if (deps.clock.now().getTime() >= deadline) {
      throw new DevError('TIMEOUT', `${ref.kind}/${ref.name} was not deleted within ${Math.round(timeoutMs / 1000)} s`,
        'a finalizer or a long grace period holds it: kubectl describe shows which. Run the command again when it is gone.');
    }
    await deps.clock.sleep(200);
  }
}

/**
 * A StatefulSet with `updateStrategy: OnDelete` only changes pods that are deleted: delete
 * pod 0 when it is not yet what the template says (a dev pod after start, an original after end).
 */
export async function restartOnDeletePods(statefulSet: KubeObject, namespace: string, deps: LiveDeps, wantDevPod: boolean): Promise<void> {
  const strategy = (statefulSet.spec as { updateStrategy?: { type?: string } } | undefined)?.updateStrategy?.type;
  if (strategy !== 'OnDelete') return;
  const ref = { apiVersion: 'v1', kind: 'Pod', name: `${statefulSet.metadata?.name}-0`, namespace };
  const pod = await deps.api.get(ref);
  if (!pod || (pod.metadata?.labels?.[WORKLOAD_LABEL] !== undefined) === wantDevPod) return;
  deps.checkpoint('delete the StatefulSet pod so that it restarts');
  await deps.api.delete(ref, { uid: String(pod.metadata?.uid) });
}
