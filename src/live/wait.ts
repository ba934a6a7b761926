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
import { podHealth, type ClaimFacts } from './pod-health.ts';
import { restartStalePod, waitUntilGone } from './pods.ts';

export interface WaitRequest {
  namespace: string;
  workloadLabel: string;
  devContainer: string;
  /** Name of the object that creates the pod (the workload or the generated object): its events are read. */
  podCreator: string;
  timeoutMs: number;
  /** Events older than this are not about this start. */
  since: Date;
  /** The workload's persistent claim, when the dev pod mounts one: read while it is not bound. */
  claimName?: string;
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
/** A claim that is not bound yet is read again this often (its binding changes no pod). */
const CLAIM_EVERY_MS = 1000;

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

/** The dev mode's labelled pods, kept by a watch (a few again after normal ends), else listed each round. */
class LabelledPods {
  private readonly pods = new Map<string, KubeObject>();
  private readonly selector: { label: string };
  private wake: (() => void) | undefined;
  /** Set by the watch; an event that comes while the wait awaits something else is not missed. */
  changed = false;
  private watch: WatchHandle | undefined;
  private watchFailed = false;
  private watchesStarted = 0;
  private readonly request: WaitRequest;
  private readonly deps: LiveDeps;
  private readonly deadline: number;

  constructor(request: WaitRequest, deps: LiveDeps, deadline: number) {
    this.request = request;
    this.deps = deps;
    this.deadline = deadline;
    this.selector = { label: `${WORKLOAD_LABEL}=${request.workloadLabel}` };
  }

  private startWatch(): WatchHandle {
    this.watchesStarted++;
    this.pods.clear();
    const handle = this.deps.api.watch('v1', 'Pod', this.request.namespace, this.selector, ({ type, object }) => {
      const name = String(object.metadata?.name);
      if (type === 'DELETED') this.pods.delete(name);
      else this.pods.set(name, object);
      this.changed = true;
      this.wake?.();
    }, Math.max(1000, this.deadline - this.deps.clock.now()));
    void handle.ended.then((error) => {
      if (this.watch === handle) this.watch = undefined;
      // A watch that ended normally (server timeout) is started again, a few times; a failed one is not.
      if (error || this.watchesStarted >= 5) this.watchFailed = true;
      this.changed = true;
      this.wake?.();
    });
    return handle;
  }

  /** The pods as they are now, newest first (watched, or listed when the watch cannot run). */
  async current(): Promise<KubeObject[]> {
    if (!this.watch && !this.watchFailed) this.watch = this.startWatch();
    if (!this.watch) {
      this.pods.clear();
      for (const pod of await this.deps.api.list('v1', 'Pod', this.request.namespace, this.selector)) this.pods.set(String(pod.metadata?.name), pod);
    }
    this.changed = false;
    return newest([...this.pods.values()]);
  }

  /** Until the next event or `until` when watching (a cleared timer: nothing keeps the process alive), else one poll interval. */
  async pause(until: number): Promise<void> {
    if (!this.watch) return this.deps.clock.sleep(POLL_MS);
    const ms = Math.max(1, Math.min(this.deadline, until) - this.deps.clock.now());
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }

  stop(): void {
    this.watch?.stop();
  }
}

/**
 * This start's pods (`mine`, newest first) judged: the ready one, or why none is ready yet
 * (undefined: no news); throws when one failed.
 */
function judgePods(request: WaitRequest, all: KubeObject[], mine: KubeObject[], claim: ClaimFacts | undefined): { ready?: KubeObject; reason?: string } {
  const containers = [request.devContainer, SIDECAR_CONTAINER];
  for (const pod of mine) {
    const health = podHealth(pod, containers, claim);
    if (health.state === 'ready') return { ready: pod };
    if (health.state === 'failed') {
      throw new DevError('POD_FAILED', `dev pod ${pod.metadata?.name} in namespace ${request.namespace}: ${health.reason}`, `${health.hint} ${restoreHint(request)}`);
    }
  }
  const first = mine[0];
  if (first) {
    const health = podHealth(first, containers, claim);
    return health.state === 'waiting' ? { reason: health.reason } : {};
  }
  if (all.length > 0) {
    return { reason: `no dev pod of this dev mode yet; passed over ${all.map((p) => p.metadata?.name).join(', ')}: left over or of an older template` };
  }
  return {};
}

/** Throws when the events say the dev pod could not be created (an admission rejection leaves no pod). */
async function checkCreation(request: WaitRequest, deps: LiveDeps): Promise<void> {
  const failure = await creationFailure(request, deps);
  if (failure) {
    const persisted = request.claimName !== undefined
      ? ' Persisted paths add an init container that runs as root (to open the directories on the claim): a namespace that enforces Pod Security "restricted" refuses it.'
      : '';
    throw new DevError('POD_FAILED', `the dev pod for ${request.podCreator} could not be created: ${failure}`,
      `the namespace refuses the dev pod (Pod Security, quota, or a webhook): --keep-security-context keeps all of the container's securityContext (readOnlyRootFilesystem, runAsUser), or ask an admin.${persisted} Run kubectl dev end to restore the workload.`);
  }
}

/** The claim as read now with its latest Warning event; undefined without a claim or once it is bound and stays so. */
async function readClaim(request: WaitRequest, deps: LiveDeps): Promise<ClaimFacts | undefined> {
  const name = request.claimName;
  if (name === undefined) return undefined;
  const claim = await deps.api.get({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', name, namespace: request.namespace });
  const facts: ClaimFacts = { name, namespace: request.namespace, ...(claim ? { phase: String((claim.status as { phase?: string } | undefined)?.phase ?? 'Pending') } : { phase: 'missing' }) };
  if (facts.phase === 'Bound') return facts;
  const events = await deps.api.list('v1', 'Event', request.namespace, { field: `involvedObject.kind=PersistentVolumeClaim,involvedObject.name=${name},type=Warning` });
  const time = (e: KubeObject) => String(e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? '');
  const last = [...events].sort((a, b) => time(a).localeCompare(time(b))).at(-1);
  if (last) facts.warning = { reason: String(last.reason ?? 'Warning'), message: String(last.message ?? '') };
  return facts;
}

/**
 * Resolves to the ready dev pod. Follows the pods with a watch (a change is seen when it
 * happens, not at the next poll: ~50 ms less on average than polling every 100 ms); when the
 * watch cannot run, it polls with LIST as before.
 */
export async function waitForDevPod(request: WaitRequest, deps: LiveDeps): Promise<KubeObject> {
  const start = deps.clock.now();
  const deadline = start + request.timeoutMs;
  let lastReason = 'no dev pod yet';
  let nextEventsCheck = start + EVENTS_FIRST_MS;
  const pods = new LabelledPods(request, deps, deadline);
  const matcher = request.creator ? devPodMatcher(request.creator, request.namespace, deps.api) : undefined;
  let claim: ClaimFacts | undefined;
  let nextClaimCheck = start;
  deps.progress.start('waiting for the dev pod to be ready');
  try {
    for (;;) {
      const all = await pods.current();
      const verdicts = matcher ? await Promise.all(all.map((pod) => matcher.accepts(pod))) : all.map(() => true);
      // Pods with the label that are not this start's (left over, of an older template) are passed over.
      const sorted = all.filter((_, i) => verdicts[i]);
      // Until it is bound, the claim is read again every second: its binding changes no pod.
      const claimPending = request.claimName !== undefined && claim?.phase !== 'Bound';
      if (claimPending && deps.clock.now() >= nextClaimCheck) {
        claim = await readClaim(request, deps);
        nextClaimCheck = deps.clock.now() + CLAIM_EVERY_MS;
      }
      const judged = judgePods(request, all, sorted, claim);
      if (judged.ready) {
        deps.progress.succeed(`dev pod ${judged.ready.metadata?.name} is ready`);
        return judged.ready;
      }
      if (judged.reason !== undefined) lastReason = judged.reason;
      const now = deps.clock.now();
      if (sorted.length === 0 && now >= nextEventsCheck) {
        nextEventsCheck = now + EVENTS_EVERY_MS;
        await checkCreation(request, deps);
      }
      if (deps.clock.now() >= deadline) {
        throw new DevError('TIMEOUT', `the dev pod for ${request.podCreator} was not ready within ${Math.round(request.timeoutMs / 1000)} s (${lastReason})`,
          'kubectl describe pod and kubectl get events show why; raise --timeout if the cluster is slow. The workload stays in dev mode; kubectl dev end restores it.');
      }
      if (pods.changed) continue;
      const wakeForClaim = request.claimName !== undefined && claim?.phase !== 'Bound' ? nextClaimCheck : deadline;
      await pods.pause(Math.min(sorted.length === 0 ? nextEventsCheck : deadline, wakeForClaim));
    }
  } finally {
    pods.stop();
  }
}

/** The waits of a plan on the live cluster. */
export function liveWaits(deps: LiveDeps): PlanWaits {
  return {
    devPod: (request) => waitForDevPod(request, deps),
    gone: (ref, uid, timeoutMs) => waitUntilGone(ref, uid, timeoutMs, deps),
    restartPod: (step, beforeDelete) => restartStalePod(step, deps, beforeDelete),
  };
}
