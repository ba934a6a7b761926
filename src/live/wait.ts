// Waits for the dev pod: found by its workload label and made by its creator from the current
// template (dev-pod.ts: a stale pod with the label is not it), ready when the dev container and
// the sidecar are. Fails early with the reason from pod status or events; never waits forever.

import { DevError } from '../core/errors.ts';
import { SIDECAR_CONTAINER, WORKLOAD_LABEL } from '../core/marks.ts';
import type { KubeObject } from '../core/objects.ts';
import type { WatchHandle } from '../kube/api.ts';
import type { LiveDeps } from './deps.ts';
import { devPodMatcher } from './dev-pod.ts';
import type { PlanWaits } from './execute.ts';
import { podHealth } from './pod-health.ts';
import { waitUntilGone } from './pods.ts';

export interface WaitRequest {
  namespace: string;
  workloadLabel: string;
  devContainer: string;
  /** Name of the object that creates the pod (the workload or the generated object): its events are read. */
  podCreator: string;
  timeoutMs: number;
  /** Events older than this are not about this start. */
  since: Date;
  /** The workload as typed (`deployment/web`), for the way back in hints. */
  workload?: string;
  /**
   * The object that creates the dev pod, as it is after this start (the generated Job or
   * Deployment, the workload, or the dev Pod): only its pods of the current template count.
   */
  creator?: KubeObject;
}

/** What to run to leave the failed dev mode, so that a start with other flags can follow. */
function restoreHint(request: WaitRequest): string {
  return request.workload
    ? `The workload stays in dev mode: kubectl dev end ${request.workload} -n ${request.namespace} restores it, then run start again with the change.`
    : 'The workload stays in dev mode; run kubectl dev end to restore it.';
}

/** Polling interval when watching is not possible (a watch failed, e.g. no `watch pods` permission). */
const POLL_MS = 100;
/** Admission rejections (Pod Security, quotas) leave no pod, only events: looked for after 1 s, then every 2 s. */
const EVENTS_FIRST_MS = 1000;
const EVENTS_EVERY_MS = 2000;

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

/**
 * Resolves to the ready dev pod. Follows the pods with a watch (a change is seen when it
 * happens, not at the next poll: ~50 ms less on average than polling every 100 ms); when the
 * watch cannot run, it polls with LIST as before.
 */
export async function waitForDevPod(request: WaitRequest, deps: LiveDeps): Promise<KubeObject> {
  const start = deps.clock.now();
  const deadline = start + request.timeoutMs;
  const containers = [request.devContainer, SIDECAR_CONTAINER];
  const selector = { label: `${WORKLOAD_LABEL}=${request.workloadLabel}` };
  let lastReason = 'no dev pod yet';
  let nextEventsCheck = start + EVENTS_FIRST_MS;
  const pods = new Map<string, KubeObject>();
  let wake: (() => void) | undefined;
  /** Set by the watch; an event that comes while this loop awaits something else is not missed. */
  let changed = false;
  let watch: WatchHandle | undefined;
  let watchFailed = false;
  let watchesStarted = 0;
  const startWatch = (): WatchHandle => {
    watchesStarted++;
    pods.clear();
    const handle = deps.api.watch('v1', 'Pod', request.namespace, selector, ({ type, object }) => {
      const name = String(object.metadata?.name);
      if (type === 'DELETED') pods.delete(name);
      else pods.set(name, object);
      changed = true;
      wake?.();
    }, Math.max(1000, deadline - deps.clock.now()));
    void handle.ended.then((error) => {
      if (watch === handle) watch = undefined;
      // A watch that ended normally (server timeout) is started again, a few times; a failed one is not.
      if (error || watchesStarted >= 5) watchFailed = true;
      changed = true;
      wake?.();
    });
    return handle;
  };
  const matcher = request.creator ? devPodMatcher(request.creator, request.namespace, deps.api) : undefined;
  deps.progress.start('waiting for the dev pod to be ready');
  try {
    for (;;) {
      if (!watch && !watchFailed) watch = startWatch();
      if (!watch) {
        pods.clear();
        for (const pod of await deps.api.list('v1', 'Pod', request.namespace, selector)) pods.set(String(pod.metadata?.name), pod);
      }
      changed = false;
      const all = newest([...pods.values()]);
      const verdicts = matcher ? await Promise.all(all.map((pod) => matcher.accepts(pod))) : all.map(() => true);
      // Pods with the label that are not this start's (left over, of an older template) are passed over.
      const sorted = all.filter((_, i) => verdicts[i]);
      for (const pod of sorted) {
        const health = podHealth(pod, containers);
        if (health.state === 'ready') {
          deps.progress.succeed(`dev pod ${pod.metadata?.name} is ready`);
          return pod;
        }
        if (health.state === 'failed') {
          throw new DevError('POD_FAILED', `dev pod ${pod.metadata?.name} in namespace ${request.namespace}: ${health.reason}`, `${health.hint} ${restoreHint(request)}`);
        }
      }
      const first = sorted[0];
      if (first) {
        const health = podHealth(first, containers);
        if (health.state === 'waiting') lastReason = health.reason;
      } else if (all.length > 0) {
        lastReason = `no dev pod of this dev mode yet; passed over ${all.map((p) => p.metadata?.name).join(', ')}: left over or of an older template`;
      }
      const now = deps.clock.now();
      if (sorted.length === 0 && now >= nextEventsCheck) {
        nextEventsCheck = now + EVENTS_EVERY_MS;
        const failure = await creationFailure(request, deps);
        if (failure) {
          throw new DevError('POD_FAILED', `the dev pod for ${request.podCreator} could not be created: ${failure}`,
            'the namespace refuses the dev pod (Pod Security, quota, or a webhook): --keep-security-context keeps all of the container\'s securityContext (readOnlyRootFilesystem, runAsUser), or ask an admin. Run kubectl dev end to restore the workload.');
        }
      }
      if (deps.clock.now() >= deadline) {
        throw new DevError('TIMEOUT', `the dev pod for ${request.podCreator} was not ready within ${Math.round(request.timeoutMs / 1000)} s (${lastReason})`,
          'kubectl describe pod and kubectl get events show why; raise --timeout if the cluster is slow. The workload stays in dev mode; kubectl dev end restores it.');
      }
      if (changed) continue;
      if (watch) {
        // Until the next event, or the next events check / deadline (a cleared timer: nothing keeps the process alive).
        const ms = Math.max(1, Math.min(deadline, sorted.length === 0 ? nextEventsCheck : deadline) - deps.clock.now());
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, ms);
          wake = () => {
            clearTimeout(timer);
            wake = undefined;
            resolve();
          };
        });
      } else {
        await deps.clock.sleep(POLL_MS);
      }
    }
  } finally {
    watch?.stop();
  }
}

/** The waits of a plan on the live cluster. */
export function liveWaits(deps: LiveDeps): PlanWaits {
  return {
    devPod: (request) => waitForDevPod(request, deps),
    gone: (ref, uid, timeoutMs) => waitUntilGone(ref, uid, timeoutMs, deps),
  };
}
