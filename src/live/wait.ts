// Waits for the dev pod: found by its workload label, ready when the dev container and the
// sidecar are. Fails early with the reason from pod status or events; never waits forever.

import { DevError } from '../core/errors.ts';
import { SIDECAR_CONTAINER, WORKLOAD_LABEL } from '../core/marks.ts';
import type { KubeObject } from '../core/objects.ts';
import type { LiveDeps } from './deps.ts';
import { podHealth } from './pod-health.ts';

export interface WaitRequest {
  namespace: string;
  workloadLabel: string;
  devContainer: string;
  /** Name of the object that creates the pod (the workload or the generated object): its events are read. */
  podCreator: string;
  timeoutMs: number;
  /** Events older than this are not about this start. */
  since: Date;
}

const POLL_MS = 100;

/** Newest first, so that a replaced pod's successor wins. */
function newest(pods: KubeObject[]): KubeObject[] {
  return [...pods].sort((a, b) => String(b.metadata?.creationTimestamp ?? '').localeCompare(String(a.metadata?.creationTimestamp ?? '')));
}

async function creationFailure(request: WaitRequest, deps: LiveDeps): Promise<string | undefined> {
  const events = await deps.api.list('v1', 'Event', request.namespace, { field: 'type=Warning' });
  const relevant = events.filter((e) => {
    const involved = (e.involvedObject ?? {}) as { name?: string };
    const when = Date.parse(String(e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? 0));
    return e.reason === 'FailedCreate' && String(involved.name ?? '').startsWith(request.podCreator) && when >= request.since.getTime() - 1000;
  });
  const last = relevant.at(-1);
  return last ? String(last.message ?? 'pod creation failed') : undefined;
}

/** Resolves to the ready dev pod. */
export async function waitForDevPod(request: WaitRequest, deps: LiveDeps): Promise<KubeObject> {
  const deadline = deps.clock.now().getTime() + request.timeoutMs;
  const containers = [request.devContainer, SIDECAR_CONTAINER];
  let lastReason = 'no dev pod yet';
  let polls = 0;
  deps.progress.start('waiting for the dev pod to be ready');
  for (;;) {
    const pods = newest(await deps.api.list('v1', 'Pod', request.namespace, { label: `${WORKLOAD_LABEL}=${request.workloadLabel}` }));
    for (const pod of pods) {
      const health = podHealth(pod, containers);
      if (health.state === 'ready') {
        deps.progress.succeed(`dev pod ${pod.metadata?.name} is ready`);
        return pod;
      }
      if (health.state === 'failed') {
        throw new DevError('POD_FAILED', `dev pod ${pod.metadata?.name} in namespace ${request.namespace}: ${health.reason}`, `${health.hint} The workload stays in dev mode; run kubectl dev end to restore it.`);
      }
    }
    const first = pods[0];
    if (first) lastReason = podHealth(first, containers).state === 'waiting' ? (podHealth(first, containers) as { reason: string }).reason : lastReason;
    // Admission rejections (Pod Security, quotas) leave no pod, only events: look every ~2 s.
    if (pods.length === 0 && polls % 20 === 10) {
      const failure = await creationFailure(request, deps);
      if (failure) {
        throw new DevError('POD_FAILED', `the dev pod for ${request.podCreator} could not be created: ${failure}`,
          'the namespace refuses the dev pod (Pod Security, quota, or a webhook); --keep-security-context keeps the container\'s securityContext, or ask an admin. Run kubectl dev end to restore the workload.');
      }
    }
    if (deps.clock.now().getTime() >= deadline) {
      throw new DevError('TIMEOUT', `the dev pod for ${request.podCreator} was not ready within ${Math.round(request.timeoutMs / 1000)} s (${lastReason})`,
        'kubectl describe pod and kubectl get events show why; raise --timeout if the cluster is slow. The workload stays in dev mode; kubectl dev end restores it.');
    }
    polls++;
    await deps.clock.sleep(POLL_MS);
  }
}
