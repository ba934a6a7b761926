// Reads a dev pod's status the way a person would: ready, still coming, or failed (and why).

import type { KubeObject } from '../core/objects.ts';

export type PodHealth =
  | { state: 'ready' }
  | { state: 'waiting'; reason: string }
  | { state: 'failed'; reason: string; hint: string };

interface ContainerStatus {
  name?: string;
  ready?: boolean;
  state?: { waiting?: { reason?: string; message?: string }; terminated?: { reason?: string; exitCode?: number; message?: string } };
}

const FATAL_WAITING: Record<string, string> = {
  ImagePullBackOff: 'check the image name and tag (--image), and that the cluster can pull it (imagePullSecrets, registry access).',
  ErrImagePull: 'check the image name and tag (--image), and that the cluster can pull it (imagePullSecrets, registry access).',
  InvalidImageName: 'fix the image reference given with --image.',
  CrashLoopBackOff: 'the container keeps exiting: check its command (--command) and `kubectl logs --previous`.',
  CreateContainerConfigError: 'a ConfigMap, Secret or key the container needs is missing: kubectl describe pod shows which.',
  CreateContainerError: 'the runtime could not create the container: kubectl describe pod shows why.',
  RunContainerError: 'the runtime could not start the container: kubectl describe pod shows why.',
};

/** Classifies a pod for the containers that must be ready (the dev container and the sidecar). */
export function podHealth(pod: KubeObject, containers: readonly string[]): PodHealth {
  const status = (pod.status ?? {}) as { phase?: string; conditions?: { type?: string; status?: string; reason?: string; message?: string }[]; containerStatuses?: ContainerStatus[]; reason?: string; message?: string };
  if (pod.metadata?.deletionTimestamp) return { state: 'waiting', reason: 'being deleted' };
  if (status.phase === 'Succeeded') {
    return { state: 'failed', reason: 'the dev pod exited: its PID 1 ended', hint: 'the dev container must block (the default is tail -f /dev/null); check --command.' };
  }
  if (status.phase === 'Failed') {
    return { state: 'failed', reason: `pod failed: ${status.reason ?? ''} ${status.message ?? ''}`.trim(), hint: 'kubectl describe pod shows why; fix it and run start again.' };
  }
  const scheduled = status.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    return { state: 'failed', reason: `pod cannot be scheduled: ${scheduled.message ?? 'no node fits'}`, hint: 'free or add capacity, or relax the pod\'s nodeSelector, affinity or resource requests.' };
  }
  const statuses = status.containerStatuses ?? [];
  for (const name of containers) {
    const cs = statuses.find((s) => s.name === name);
    const waiting = cs?.state?.waiting?.reason;
    if (waiting && waiting in FATAL_WAITING) {
      return { state: 'failed', reason: `container ${name}: ${waiting}${cs?.state?.waiting?.message ? ` (${cs.state.waiting.message})` : ''}`, hint: FATAL_WAITING[waiting] as string };
    }
    const terminated = cs?.state?.terminated;
    if (terminated && terminated.reason !== 'Completed') {
      return { state: 'failed', reason: `container ${name} exited: ${terminated.reason ?? ''} (exit code ${terminated.exitCode ?? '?'})`, hint: 'check its command (--command) and kubectl logs.' };
    }
  }
  const ready = containers.every((name) => statuses.find((s) => s.name === name)?.ready === true);
  if (ready && status.phase === 'Running') return { state: 'ready' };
  const pending = containers.filter((name) => statuses.find((s) => s.name === name)?.ready !== true);
  return { state: 'waiting', reason: status.phase === 'Running' ? `waiting for ${pending.join(', ')} to be ready` : `pod is ${status.phase ?? 'being created'}` };
}
