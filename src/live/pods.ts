// Waiting for a pod to be gone, and restarting an OnDelete StatefulSet's pod 0 on its current template.

import type { RestartPodStep } from './plan.ts';
import { DevError } from '../core/errors.ts';
import type { ObjectRef } from '../kube/api.ts';
import type { LiveDeps } from './deps.ts';

export async function waitUntilGone(ref: ObjectRef, uid: string, timeoutMs: number, deps: LiveDeps): Promise<void> {
  const deadline = deps.clock.now() + timeoutMs;
  for (;;) {
    const current = await deps.api.get(ref);
    if (!current || current.metadata?.uid !== uid) return;
    if (deps.clock.now() >= deadline) {
      throw new DevError('TIMEOUT', `${ref.kind}/${ref.name} was not deleted within ${Math.round(timeoutMs / 1000)} s`,
        'a finalizer or a long grace period holds it: kubectl describe shows which. Run the command again when it is gone.');
    }
    await deps.clock.sleep(200);
  }
}

/** The StatefulSet controller's label on a pod: the revision of the template it was made from. */
const REVISION_LABEL = 'controller-revision-hash';

/** restart-pod (plan.ts): pod 0 deleted unless it has the update revision the controller made from the current spec. */
export async function restartStalePod(step: RestartPodStep, deps: LiveDeps, beforeDelete: () => void): Promise<void> {
  const deadline = deps.clock.now() + step.timeoutMs;
  const podRef: ObjectRef = { apiVersion: 'v1', kind: 'Pod', name: step.pod, namespace: step.ref.namespace };
  for (;;) {
    const set = await deps.api.get(step.ref);
    if (!set) return;
    const status = (set.status ?? {}) as { observedGeneration?: number; updateRevision?: string };
    if (Number(status.observedGeneration ?? 0) >= Number(set.metadata?.generation ?? 0) && status.updateRevision) {
      const pod = await deps.api.get(podRef);
      // Gone: the controller makes it again, from the revision it has seen.
      if (!pod || pod.metadata?.labels?.[REVISION_LABEL] === status.updateRevision) return;
      if (!pod.metadata?.deletionTimestamp) {
        beforeDelete();
        try {
          await deps.api.delete(podRef, { uid: String(pod.metadata?.uid) });
          return;
        } catch (error) {
          // Replaced meanwhile (another uid): looked at again.
          if (!(error instanceof DevError && error.code === 'CONFLICT')) throw error;
        }
      }
    }
    if (deps.clock.now() >= deadline) {
      throw new DevError('TIMEOUT', `pod ${step.pod} of ${step.ref.kind}/${step.ref.name} did not take its new template within ${Math.round(step.timeoutMs / 1000)} s`,
        `kubectl get pod ${step.pod} -n ${step.ref.namespace} and kubectl get events show why; run the command again when it is running.`);
    }
    await deps.clock.sleep(200);
  }
}
